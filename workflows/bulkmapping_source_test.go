package workflows_test

import (
	"context"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/workflows"
)

// TestBulkMappingOfOneSource maps one uploaded source of a project that
// has two (and codes without a source row): only that source's codes get
// items, with their source column and count, and each row's context
// reaches the engine — two rows with the same description and different
// specimens map to different concepts.
func TestBulkMappingOfOneSource(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	ctx := context.Background()
	project := newProject(t, pool, "test-org", "per-source")
	store := mappingjobstore.New(pool)
	lab, err := store.CreateSource(ctx, mappingjob.Source{ProjectID: project, Name: "lab", Format: "csv", Kind: mappingjob.SourceUpload}, []mappingjob.SourceCode{
		{Code: "NA-B", Description: "Sodium", Count: 12, Column: "local_code", Specimen: "Blood"},
		{Code: "NA-S", Description: "Sodium", Count: 3, Column: "local_code", Specimen: "Serum"},
		{Code: "K", Description: "Potassium", Count: 1, Column: "local_code", Specimen: "Serum", Unit: "mmol/L", DomainHint: "Measurement"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateSource(ctx, mappingjob.Source{ProjectID: project, Name: "pharmacy", Format: "csv", Kind: mappingjob.SourceUpload},
		[]mappingjob.SourceCode{{Code: "P1", Description: "potassium chloride", Count: 9, Column: "ndc"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddSourceCodes(ctx, project, []mappingjob.SourceCode{{Source: "legacy", Code: "G", Description: "Glucose"}}); err != nil {
		t.Fatal(err)
	}
	queue := inProcessWorker(t, tc, newActivities(pool, indexedPath(t, pool)))
	id := workflows.BulkMappingSourceWorkflowID(project, lab.ID)
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: project, SourceID: lab.ID, ChunkSize: 2})
	var p workflows.Progress
	if err := run.Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.StatusCompleted || p.Total != 3 || p.Done != 3 {
		t.Errorf("progress %+v", p)
	}
	items := checkItems(t, pool, project, 3)
	byCode := map[string]mappingjob.Item{}
	for _, it := range items {
		byCode[it.Code] = it
		if it.Source != "lab" || it.SourceColumn != "local_code" || it.Error != "" {
			t.Errorf("item %+v", it)
		}
	}
	if byCode["NA-B"].SourceCount != 12 || byCode["NA-S"].SourceCount != 3 || byCode["K"].SourceCount != 1 {
		t.Errorf("source counts: %d %d %d", byCode["NA-B"].SourceCount, byCode["NA-S"].SourceCount, byCode["K"].SourceCount)
	}
	// LOINC 2947-0 (in Blood) and 2951-2 (in Serum or Plasma).
	if b, s := byCode["NA-B"].ConceptID, byCode["NA-S"].ConceptID; b != 3000285 || s != 3019550 {
		t.Errorf("sodium in blood → %d, in serum → %d; want 3000285 and 3019550 (the specimen must reach the engine)", b, s)
	}
	if k := byCode["K"].ConceptID; k != 3023103 {
		t.Errorf("potassium in serum → %d, want 3023103", k)
	}
}

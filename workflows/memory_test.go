package workflows_test

import (
	"context"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
)

// A bulk mapping chunk proposes the organization's reviewed decision for
// the same code and description (normalised) ahead of search, with its
// provenance; another organization's chunk does not see it.
func TestMapChunkRecallsTheOrganizationsReviewedDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := demoDB(t)
	store := mappingjobstore.New(pool)
	acts := newActivities(pool, indexedPath(t, pool)).BulkMapping()

	reviewed := newProject(t, pool, "org-a", "reviewed")
	if err := store.UpsertItems(ctx, reviewed, []mappingjob.Item{{Source: "S", Code: "LOC-1", Description: "Sugar disease",
		Method: mappingjob.MethodManual}}); err != nil {
		t.Fatal(err)
	}
	cur, err := store.Item(ctx, reviewed, "S", "LOC-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Decide(ctx, reviewed, mappingjob.Decision{Source: "S", Code: "LOC-1", Review: mappingjob.ReviewOverridden,
		ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", Actor: "reviewer", Revision: cur.Revision}); err != nil {
		t.Fatal(err)
	}

	mapCode := func(org, name string) mappingjob.Item {
		t.Helper()
		project := newProject(t, pool, org, name)
		if _, err := store.AddSourceCodes(ctx, project, []mappingjob.SourceCode{{Source: "LAB", Code: "loc-1", Description: " sugar  DISEASE"}}); err != nil {
			t.Fatal(err)
		}
		env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		var a *activities.BulkMapping
		if _, err := env.ExecuteActivity(a.MapChunk, activities.MapChunkInput{ProjectID: project, Limit: 10, TopK: 5, WorkflowID: "wf"}); err != nil {
			t.Fatal(err)
		}
		it, err := store.Item(ctx, project, "LAB", "loc-1")
		if err != nil {
			t.Fatal(err)
		}
		return it
	}

	it := mapCode("org-a", "new")
	if it.ConceptID != 201826 || it.Method != mappingjob.MethodAuto || it.Provenance["method"] != mappingjob.ProvenanceMemory ||
		it.Provenance["project"] != reviewed || it.Provenance["workflow_id"] != "wf" || len(it.Candidates) == 0 ||
		it.Candidates[0].ConceptID != 201826 || it.Candidates[0].ConceptClassID == "" {
		t.Fatalf("memory not proposed: %+v", it)
	}
	if other := mapCode("org-b", "other"); other.Provenance["method"] == mappingjob.ProvenanceMemory || other.ConceptID == 201826 && other.Confidence == 1 {
		t.Fatalf("organization B recalled A's decision: %+v", other)
	}
}

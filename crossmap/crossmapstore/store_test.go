package crossmapstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portiere/portiere/crossmap"
	"github.com/portiere/portiere/crossmap/crossmapstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func str(s string) *string { return &s }

// Runs round-trip every field, pushing them again adds no copies (a run
// without created_at included), a changed run is updated with a new
// revision, and a stale revision refuses the whole push.
func TestPushRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	tenants := tenancystore.New(pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "o", Slug: "org"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	s := crossmapstore.New(pool)
	runs := []crossmap.Run{
		{SourceStandard: "omop_cdm_v5.4", TargetStandard: "fhir_r4", SourceEntity: "person", TargetEntity: "Patient",
			RecordCount: 1200, Status: "completed", CrossmapFile: "omop_to_fhir_r4.yaml", RunCreatedAt: str("2026-12-01T10:00:00.123456")},
		{SourceStandard: "omop_cdm_v5.4", TargetStandard: "fhir_r4", SourceEntity: "person", Status: "failed"},
		{SourceStandard: "omop_cdm_v5.4", TargetStandard: "fhir_r4", SourceEntity: "person", Status: "completed", RunCreatedAt: str("2026-12-02T10:00:00Z")},
	}
	res, err := s.Push(ctx, p.ID, runs)
	if err != nil || res.Created != 3 || len(res.Runs) != 3 {
		t.Fatalf("first push: %+v %v", res, err)
	}
	got := res.Runs[0]
	if got.TargetEntity != "Patient" || got.RecordCount != 1200 || got.CrossmapFile != "omop_to_fhir_r4.yaml" ||
		*got.RunCreatedAt != "2026-12-01T10:00:00.123456" || got.Revision != 1 {
		t.Fatalf("stored run: %+v", got)
	}
	if res.Runs[1].RunCreatedAt != nil || res.Runs[1].TargetEntity != "" || res.Runs[1].Status != "failed" {
		t.Fatalf("stored run without created_at: %+v", res.Runs[1])
	}
	if res, err = s.Push(ctx, p.ID, runs); err != nil || res.Unchanged != 3 || res.Created != 0 {
		t.Fatalf("same push again: %+v %v", res, err)
	}
	all, err := s.Runs(ctx, p.ID)
	if err != nil || len(all) != 3 {
		t.Fatalf("runs after two pushes: %d %v", len(all), err)
	}

	changed := all[1] // revision 1
	changed.RecordCount, changed.Status = 7, "completed"
	if res, err = s.Push(ctx, p.ID, []crossmap.Run{changed}); err != nil || res.Updated != 1 || res.Runs[0].Revision != 2 || res.Runs[0].ID != all[1].ID {
		t.Fatalf("changed run: %+v %v", res, err)
	}
	changed.RecordCount = 8 // still revision 1: stale
	_, err = s.Push(ctx, p.ID, []crossmap.Run{{SourceStandard: "a", TargetStandard: "b", SourceEntity: "c", Status: "completed"}, changed})
	if !errors.Is(err, crossmap.ErrConflict) || !strings.Contains(err.Error(), "person omop_cdm_v5.4 → fhir_r4 (without created_at): revision 1, stored 2") {
		t.Fatalf("stale push: %v", err)
	}
	if all, _ = s.Runs(ctx, p.ID); len(all) != 3 || all[1].RecordCount != 7 {
		t.Fatalf("after the refused push: %+v", all)
	}
	if _, err := s.Push(ctx, p.ID, []crossmap.Run{{SourceStandard: "a", TargetStandard: "b", SourceEntity: "c", RecordCount: -1}}); !errors.Is(err, crossmap.ErrInvalid) {
		t.Fatalf("negative record count: %v", err)
	}
	if _, err := s.Push(ctx, "00000000-0000-0000-0000-000000000000", runs); !errors.Is(err, crossmap.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
	if _, err := s.Push(ctx, p.ID, nil); err != nil {
		t.Fatalf("empty push: %v", err)
	}
}

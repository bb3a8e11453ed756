package tenancystore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestProjectTargetModelTaskAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	org, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "o", Slug: "org"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "defaults"})
	if err != nil || p.TargetModel != tenancy.TargetOMOP54 || p.Task != tenancy.DefaultTask || p.SourceStandard != "" {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	q, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "fhir", TargetModel: tenancy.TargetFHIRR4, Task: "cross_map", SourceStandard: "icd10"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Project(ctx, q.ID); err != nil || got.TargetModel != tenancy.TargetFHIRR4 || got.Task != "cross_map" || got.SourceStandard != "icd10" {
		t.Errorf("read back: %+v %v", got, err)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "x", TargetModel: "omop_cdm_v6"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("unknown target model: %v", err)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "fhir"}); !errors.Is(err, tenancy.ErrConflict) || !strings.Contains(err.Error(), `"fhir"`) {
		t.Errorf("duplicate name: %v", err)
	}
	if err := s.DeleteProject(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{q.ID, "not-a-uuid"} {
		if err := s.DeleteProject(ctx, id); !errors.Is(err, tenancy.ErrNotFound) {
			t.Errorf("delete %s: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.Project(ctx, p.ID); err != nil {
		t.Errorf("the other project: %v", err)
	}
}

// Deleting a project must take everything it owns: every foreign key that
// references projects cascades. A new table referencing projects without
// "on delete cascade" (or set null, for rows that outlive the project on
// purpose) fails here.
func TestEveryReferenceToProjectsCascades(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	rows, err := pool.Query(context.Background(), `
		select conrelid::regclass::text, conname, confdeltype
		from pg_constraint
		where contype = 'f' and confrelid = 'projects'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, name, action string
		if err := rows.Scan(&table, &name, &action); err != nil {
			t.Fatal(err)
		}
		n++
		if action != "c" && action != "n" {
			t.Errorf("%s.%s references projects with on delete %q: deleting a project would fail or leave its rows", table, name, action)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 5 { // source_codes, concept_mapping_items, api_keys, review_events, sources
		t.Errorf("%d foreign keys reference projects, want at least 5", n)
	}
}

package mappingjobstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// BenchmarkMemoryRecall1000 recalls 1,000 codes (half of them reviewed)
// — a bulk mapping chunk or a full /concepts/map request — from an
// organization with 100,000 items over 4 projects (60,000 of them
// approved or overridden), beside another organization with as many. Run: go run ./internal/testenv --
// go test -run '^$' -bench MemoryRecall -benchtime 20x ./mappingjob/mappingjobstore/
func BenchmarkMemoryRecall1000(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.New(b)
	tenants := tenancystore.New(pool)
	for _, slug := range []string{"org-a", "org-b"} {
		org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: slug, Slug: slug})
		if err != nil {
			b.Fatal(err)
		}
		for p := 0; p < 4; p++ {
			project, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: fmt.Sprintf("p%d", p)})
			if err != nil {
				b.Fatal(err)
			}
			// 25,000 items per project, 4 of 5 decided (approved,
			// overridden, rejected, ...), codes shared across projects.
			if _, err := pool.Exec(ctx, `
				insert into concept_mapping_items (project_id, source, source_code, source_description, concept_id, method, review_status, decided_at)
				select $1, 'S', 'LOC-' || g, 'Local term number ' || g, 1000 + g % 5000, 'review',
				       (array['approved', 'overridden', 'rejected', 'pending', 'approved'])[1 + g % 5], now() - (g || ' seconds')::interval
				from generate_series(1, 25000) g`, project.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `analyze concept_mapping_items`); err != nil {
		b.Fatal(err)
	}
	orgA, err := tenants.OrganizationBySlug(ctx, "org-a")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]mappingjob.MemoryKey, 1000)
	for i := range keys {
		if i%2 == 0 {
			keys[i] = mappingjob.MemoryKey{Code: fmt.Sprintf("loc-%d", i*7+1), Description: fmt.Sprintf("LOCAL term number %d", i*7+1)}
		} else {
			keys[i] = mappingjob.MemoryKey{Code: fmt.Sprintf("NEW-%d", i), Description: "never reviewed"}
		}
	}
	s := mappingjobstore.New(pool)
	b.ResetTimer()
	hits := 0
	for n := 0; n < b.N; n++ {
		got, err := s.Recall(ctx, mappingjob.MemoryScope{OrganizationID: orgA.ID}, keys)
		if err != nil {
			b.Fatal(err)
		}
		hits = 0
		for _, r := range got {
			if r != nil {
				hits++
			}
		}
	}
	b.ReportMetric(float64(len(keys)*b.N)/b.Elapsed().Seconds(), "keys/s")
	b.ReportMetric(float64(hits), "hits")
}

package workflows_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// converterDecode decodes a continue-as-new error's single input.
func converterDecode(can *workflow.ContinueAsNewError, v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, v)
}

// indexedPath builds the search index of pool's vocabulary the way the
// index build does (searchindex.BuildAndSave) and returns its path: bulk
// mapping only opens an index, it never builds one.
func indexedPath(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	ctx := context.Background()
	c, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "faiss.index")
	if _, err := searchindex.BuildAndSave(ctx, c, emb, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// newProject creates a project called name in the organization with slug
// org (created on first use) and returns its id.
func newProject(tb testing.TB, pool *pgxpool.Pool, org, name string) string {
	tb.Helper()
	ctx := context.Background()
	tenants := tenancystore.New(pool)
	o, err := tenants.OrganizationBySlug(ctx, org)
	if errors.Is(err, tenancy.ErrNotFound) {
		o, err = tenants.CreateOrganization(ctx, tenancy.Organization{Name: org, Slug: org})
	}
	if err != nil {
		tb.Fatal(err)
	}
	p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: o.ID, Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	return p.ID
}

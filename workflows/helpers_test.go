package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// converterDecode decodes a continue-as-new error's single input.
func converterDecode(can *workflow.ContinueAsNewError, v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(can.Input, v)
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

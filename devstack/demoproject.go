package devstack

import (
	"bytes"
	"context"
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/sourcefile"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

const (
	demoOrganization = "demo"
	demoProject      = "Demo mapping project"
	demoSource       = "demo-hospital"
)

// seedDemoProject makes sure a demo project with the embedded demo source
// codes exists, so a bulk mapping can be tried with one curl, and returns
// its id.
func seedDemoProject(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (string, error) {
	tenants := tenancystore.New(pool)
	org, err := tenants.OrganizationBySlug(ctx, demoOrganization)
	if errors.Is(err, tenancy.ErrNotFound) {
		// Enterprise: no quota stops a demo or the SDK contract suite run
		// again and again on one stack, and no rate limit of its own
		// (RATE_LIMIT_PER_MINUTE applies).
		org, err = tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Demo organization", Slug: demoOrganization, Plan: billing.PlanEnterprise})
	}
	if err != nil {
		return "", err
	}
	p, err := tenants.ProjectByName(ctx, org.ID, demoProject)
	if err == nil {
		return p.ID, nil
	}
	if !errors.Is(err, tenancy.ErrNotFound) {
		return "", err
	}
	parsed, err := sourcefile.Parse(ctx, bytes.NewReader(portiere.DemoSourceCodes()), sourcefile.Options{})
	if err != nil {
		return "", err
	}
	p, err = tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: demoProject,
		Description: "Source codes of a made-up hospital, to try bulk mapping"})
	if err != nil {
		return "", err
	}
	id := p.ID
	// The demo codes are an uploaded source, as POST /projects/{id}/sources
	// would store them, so the source routes and per-source bulk mapping
	// have one to show.
	codes := make([]mappingjob.SourceCode, len(parsed.Codes))
	for i, c := range parsed.Codes {
		codes[i] = mappingjob.SourceCode{Code: c.Code, Description: c.Description, Count: c.Count, Column: parsed.Columns.Code}
	}
	if _, err := mappingjobstore.New(pool).CreateSource(ctx, mappingjob.Source{
		ProjectID: id, Name: demoSource, Format: "csv", Kind: mappingjob.SourceUpload, Header: parsed.Header,
		Columns:   mappingjob.SourceColumns{Code: parsed.Columns.Code, Description: parsed.Columns.Description},
		Delimiter: string(parsed.Delimiter), Rows: int64(parsed.Rows), DistinctCodes: int64(len(codes)), TotalCount: parsed.TotalCount,
	}, codes); err != nil {
		return "", err
	}
	log.Info("demo project created", "project_id", id, "source_codes", len(codes))
	return id, nil
}

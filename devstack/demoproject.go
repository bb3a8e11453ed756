package devstack

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere"
	"github.com/portiere/portiere/mapping"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
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
	const q = `
		select p.id from projects p join organizations o on o.id = p.organization_id
		where o.slug = $1 and p.name = $2`
	var id string
	err := pool.QueryRow(ctx, q, demoOrganization, demoProject).Scan(&id)
	if err == nil {
		return id, nil
	}
	if err != pgx.ErrNoRows {
		return "", err
	}
	terms, err := mapping.ReadSourceCSV(bytes.NewReader(portiere.DemoSourceCodes()))
	if err != nil {
		return "", err
	}
	store := mappingjobstore.New(pool)
	id, err = store.NewProject(ctx, demoOrganization, demoProject)
	if err != nil {
		return "", err
	}
	codes := make([]mappingjob.SourceCode, len(terms))
	for i, t := range terms {
		codes[i] = mappingjob.SourceCode{Source: demoSource, Code: t.Code, Description: t.Description}
	}
	if _, err := store.AddSourceCodes(ctx, id, codes); err != nil {
		return "", err
	}
	log.Info("demo project created", "project_id", id, "source_codes", len(codes))
	return id, nil
}

// Package crossmapstore is the PostgreSQL storage of crossmap: the
// cross_mapping_runs table.
package crossmapstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/crossmap"
	"github.com/portiere/portiere/platform/pgsync"
)

// Store implements crossmap.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ crossmap.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const runColumns = `id, source_standard, target_standard, source_entity, coalesce(target_entity, ''), record_count,
	status, coalesce(crossmap_file, ''), run_created_at, revision, created_at, updated_at`

func scanRun(row pgx.Row) (crossmap.Run, error) {
	var r crossmap.Run
	err := row.Scan(&r.ID, &r.SourceStandard, &r.TargetStandard, &r.SourceEntity, &r.TargetEntity, &r.RecordCount,
		&r.Status, &r.CrossmapFile, &r.RunCreatedAt, &r.Revision, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

func collectRun(row pgx.CollectableRow) (crossmap.Run, error) { return scanRun(row) }

// identity is what tells runs apart (the unique index of migration 0009).
type identity struct{ source, target, entity, created string }

func identityOf(r crossmap.Run) identity {
	id := identity{source: r.SourceStandard, target: r.TargetStandard, entity: r.SourceEntity}
	if r.RunCreatedAt != nil {
		id.created = *r.RunCreatedAt
	}
	return id
}

// lockProject serialises the pushes of one project's runs, so a revision
// read in the transaction is still the stored one when it writes.
const lockProject = `select pg_advisory_xact_lock(hashtextextended('cross_mapping_runs:' || $1, 0))`

// Push implements crossmap.Store.
func (s *Store) Push(ctx context.Context, project string, runs []crossmap.Run) (crossmap.PushResult, error) {
	runs, err := distinct(runs)
	if err != nil {
		return crossmap.PushResult{}, err
	}
	var res crossmap.PushResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockProject, project); err != nil {
			return err
		}
		stored, err := storedByIdentity(ctx, tx, project)
		if err != nil {
			return err
		}
		if err := checkRevisions(runs, stored); err != nil {
			return err
		}
		changed, err := upsert(ctx, tx, project, runs)
		if err != nil {
			return err
		}
		res = tally(runs, stored, changed)
		return nil
	})
	if err != nil {
		return crossmap.PushResult{}, translate(err)
	}
	return res, nil
}

// distinct validates runs and keeps the last of each identity, in the
// order of first appearance.
func distinct(runs []crossmap.Run) ([]crossmap.Run, error) {
	for i, r := range runs {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
	}
	return pgsync.Distinct(runs, identityOf), nil
}

// storedByIdentity reads the project's runs; a project has few (one per
// entity and execution), so reading them all is simpler than matching
// identities with a null-aware join.
func storedByIdentity(ctx context.Context, tx pgx.Tx, project string) (map[identity]crossmap.Run, error) {
	rows, err := tx.Query(ctx, `select `+runColumns+` from cross_mapping_runs where project_id = $1`, project)
	if err != nil {
		return nil, err
	}
	return pgsync.CollectByKey(rows, scanRun, identityOf)
}

func name(r crossmap.Run) string {
	created := "without created_at"
	if r.RunCreatedAt != nil {
		created = "created " + *r.RunCreatedAt
	}
	return fmt.Sprintf("%s %s → %s (%s)", r.SourceEntity, r.SourceStandard, r.TargetStandard, created)
}

// checkRevisions refuses the push when a run carries a revision that is
// not the stored one, naming up to five such runs.
func checkRevisions(runs []crossmap.Run, stored map[identity]crossmap.Run) error {
	stale := pgsync.StaleRevisions(runs, stored, identityOf, func(r crossmap.Run) int { return r.Revision })
	return pgsync.Conflict(crossmap.ErrConflict, stale, func(st pgsync.Stale[crossmap.Run]) string {
		if !st.Exists {
			return fmt.Sprintf("%s: revision %d, but it does not exist", name(st.Item), st.Revision)
		}
		return fmt.Sprintf("%s: revision %d, stored %d", name(st.Item), st.Revision, st.Stored)
	}, "; ")
}

// upsert writes runs in one statement and returns those it created or
// changed; a run identical to the stored one is not touched.
func upsert(ctx context.Context, tx pgx.Tx, project string, runs []crossmap.Run) ([]crossmap.Run, error) {
	q := `
		insert into cross_mapping_runs as r
			(project_id, source_standard, target_standard, source_entity, target_entity, record_count, status, crossmap_file, run_created_at)
		select $1, ss, ts, se, nullif(te, ''), rc, st, nullif(cf, ''), ca
		from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::text[])
			as t(ss, ts, se, te, rc, st, cf, ca)
		on conflict (project_id, source_standard, target_standard, source_entity, (coalesce(run_created_at, ''))) do update
		set target_entity = excluded.target_entity,
		    record_count = excluded.record_count,
		    status = excluded.status,
		    crossmap_file = excluded.crossmap_file,
		    run_created_at = excluded.run_created_at,
		    revision = r.revision + 1,
		    updated_at = now()
		where (r.target_entity, r.record_count, r.status, r.crossmap_file, r.run_created_at)
		      is distinct from
		      (excluded.target_entity, excluded.record_count, excluded.status, excluded.crossmap_file, excluded.run_created_at)
		returning ` + runColumns
	if len(runs) == 0 {
		return nil, nil
	}
	n := len(runs)
	ss, ts, se, te := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	rc := make([]int64, n)
	st, cf := make([]string, n), make([]string, n)
	ca := make([]*string, n)
	for i, r := range runs {
		ss[i], ts[i], se[i], te[i] = r.SourceStandard, r.TargetStandard, r.SourceEntity, r.TargetEntity
		rc[i], st[i], cf[i], ca[i] = r.RecordCount, r.Status, r.CrossmapFile, r.RunCreatedAt
	}
	rows, err := tx.Query(ctx, q, project, ss, ts, se, te, rc, st, cf, ca)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, collectRun)
}

func tally(runs []crossmap.Run, stored map[identity]crossmap.Run, changed []crossmap.Run) crossmap.PushResult {
	o := pgsync.Tally(runs, stored, changed, identityOf)
	return crossmap.PushResult{Created: o.Created, Updated: o.Updated, Unchanged: o.Unchanged, Runs: o.Items}
}

// Runs implements crossmap.Store.
func (s *Store) Runs(ctx context.Context, project string) ([]crossmap.Run, error) {
	rows, err := s.pool.Query(ctx, `select `+runColumns+` from cross_mapping_runs where project_id = $1 order by id`, project)
	if err != nil {
		return nil, translate(err)
	}
	runs, err := pgx.CollectRows(rows, collectRun)
	return runs, translate(err)
}

// translate maps PostgreSQL errors to crossmap's: an unknown project
// (foreign key) or a malformed project id is ErrNotFound; domain errors
// pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, crossmap.ErrNotFound) || errors.Is(err, crossmap.ErrConflict) || errors.Is(err, crossmap.ErrInvalid) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503", "22P02": // foreign_key_violation, invalid_text_representation (uuid)
			return fmt.Errorf("%w: project: %s", crossmap.ErrNotFound, pe.Message)
		}
	}
	return fmt.Errorf("crossmap: %w", err)
}

// Package schemamapstore is the PostgreSQL storage of schemamap's items:
// the schema_mapping_items table, with each change's audit row in
// review_events (item_kind 'schema') written in the same transaction.
package schemamapstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/platform/pgsync"
	"github.com/portiere/portiere/schemamap"
)

// Store implements schemamap.Store on a pool. It is safe for concurrent
// use.
type Store struct {
	pool *pgxpool.Pool
}

var _ schemamap.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const itemColumns = `id, source_table, source_column, coalesce(target_table, ''), coalesce(target_column, ''),
	confidence, status, candidates, coalesce(override_target_table, ''), coalesce(override_target_column, ''),
	revision, coalesce(decided_by, ''), decided_at, created_at, updated_at`

func scanItem(row pgx.Row) (schemamap.Item, error) {
	var it schemamap.Item
	var status string
	var cand []byte
	err := row.Scan(&it.ID, &it.SourceTable, &it.SourceColumn, &it.TargetTable, &it.TargetColumn,
		&it.Confidence, &status, &cand, &it.OverrideTargetTable, &it.OverrideTargetColumn,
		&it.Revision, &it.DecidedBy, &it.DecidedAt, &it.CreatedAt, &it.UpdatedAt)
	if err != nil {
		return it, err
	}
	it.Status = schemamap.Status(status)
	if err := json.Unmarshal(cand, &it.Candidates); err != nil {
		return it, fmt.Errorf("schemamap: candidates of item %d: %w", it.ID, err)
	}
	return it, nil
}

func collectItem(row pgx.CollectableRow) (schemamap.Item, error) { return scanItem(row) }

// lockProject serialises the pushes and decisions of one project's schema
// items, so a revision read in the transaction is still the stored one
// when the transaction writes.
const lockProject = `select pg_advisory_xact_lock(hashtextextended('schema_mapping_items:' || $1, 0))`

// Push implements schemamap.Store.
func (s *Store) Push(ctx context.Context, project, actor string, items []schemamap.Item) (schemamap.PushResult, error) {
	items, err := distinct(items)
	if err != nil {
		return schemamap.PushResult{}, err
	}
	var res schemamap.PushResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockProject, project); err != nil {
			return err
		}
		stored, err := storedByKey(ctx, tx, project, items)
		if err != nil {
			return err
		}
		if err := checkRevisions(items, stored); err != nil {
			return err
		}
		changed, err := upsert(ctx, tx, project, actor, items)
		if err != nil {
			return err
		}
		if err := auditPush(ctx, tx, project, actor, changed, stored); err != nil {
			return err
		}
		res = tally(items, stored, changed)
		return nil
	})
	if err != nil {
		return schemamap.PushResult{}, translate(err)
	}
	return res, nil
}

type key struct{ table, column string }

func keyOf(it schemamap.Item) key { return key{it.SourceTable, it.SourceColumn} }

// distinct validates items and keeps the last of each key, in the order
// of first appearance.
func distinct(items []schemamap.Item) ([]schemamap.Item, error) {
	valid := make([]schemamap.Item, len(items))
	for i, it := range items {
		if it.Candidates == nil {
			it.Candidates = []json.RawMessage{}
		}
		if err := it.Validate(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		valid[i] = it
	}
	return pgsync.Distinct(valid, keyOf), nil
}

// storedByKey reads (and, under the project lock, pins) the stored items
// with the keys of items.
func storedByKey(ctx context.Context, tx pgx.Tx, project string, items []schemamap.Item) (map[key]schemamap.Item, error) {
	q := `select ` + itemColumns + ` from schema_mapping_items
		where project_id = $1 and (source_table, source_column) in (select * from unnest($2::text[], $3::text[]))`
	tables, columns := make([]string, len(items)), make([]string, len(items))
	for i, it := range items {
		tables[i], columns[i] = it.SourceTable, it.SourceColumn
	}
	rows, err := tx.Query(ctx, q, project, tables, columns)
	if err != nil {
		return nil, err
	}
	return pgsync.CollectByKey(rows, scanItem, keyOf)
}

// checkRevisions refuses the push when an item carries a revision that is
// not the stored one, naming up to five such items.
func checkRevisions(items []schemamap.Item, stored map[key]schemamap.Item) error {
	stale := pgsync.StaleRevisions(items, stored, keyOf, func(it schemamap.Item) int { return it.Revision })
	return pgsync.Conflict(schemamap.ErrConflict, stale, func(st pgsync.Stale[schemamap.Item]) string {
		if !st.Exists {
			return fmt.Sprintf("%s (revision %d, but it does not exist)", name(st.Item), st.Revision)
		}
		return fmt.Sprintf("%s (revision %d, stored %d)", name(st.Item), st.Revision, st.Stored)
	}, ", ")
}

// name is how errors name an item: table.column, or the column alone.
func name(it schemamap.Item) string {
	if it.SourceTable == "" {
		return strconv.Quote(it.SourceColumn)
	}
	return strconv.Quote(it.SourceTable + "." + it.SourceColumn)
}

// upsert writes items in one statement and returns those it created or
// changed; an item identical to the stored one is not touched. A status
// change records who made it when the new status is a decision.
func upsert(ctx context.Context, tx pgx.Tx, project, actor string, items []schemamap.Item) ([]schemamap.Item, error) {
	q := `
		insert into schema_mapping_items as m
			(project_id, source_table, source_column, target_table, target_column, confidence, status, candidates,
			 override_target_table, override_target_column, decided_by, decided_at)
		select $1, st, sc, nullif(tt, ''), nullif(tc, ''), conf, stat, cand::jsonb, nullif(ot, ''), nullif(oc, ''),
		       case when stat in ('approved', 'rejected', 'overridden') then $2 end,
		       case when stat in ('approved', 'rejected', 'overridden') then now() end
		from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::text[], $10::text[], $11::text[])
			as t(st, sc, tt, tc, conf, stat, cand, ot, oc)
		on conflict (project_id, source_table, source_column) do update
		set target_table = excluded.target_table,
		    target_column = excluded.target_column,
		    confidence = excluded.confidence,
		    status = excluded.status,
		    candidates = excluded.candidates,
		    override_target_table = excluded.override_target_table,
		    override_target_column = excluded.override_target_column,
		    decided_by = case when m.status = excluded.status then m.decided_by else excluded.decided_by end,
		    decided_at = case when m.status = excluded.status then m.decided_at else excluded.decided_at end,
		    revision = m.revision + 1,
		    updated_at = now()
		where (m.target_table, m.target_column, m.confidence, m.status, m.candidates, m.override_target_table, m.override_target_column)
		      is distinct from
		      (excluded.target_table, excluded.target_column, excluded.confidence, excluded.status, excluded.candidates,
		       excluded.override_target_table, excluded.override_target_column)
		returning ` + itemColumns
	if len(items) == 0 {
		return nil, nil
	}
	n := len(items)
	st, sc, tt, tc := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	conf := make([]float64, n)
	stat, cand, ot, oc := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, it := range items {
		st[i], sc[i], tt[i], tc[i] = it.SourceTable, it.SourceColumn, it.TargetTable, it.TargetColumn
		conf[i], stat[i], ot[i], oc[i] = it.Confidence, string(it.Status), it.OverrideTargetTable, it.OverrideTargetColumn
		b, err := json.Marshal(it.Candidates)
		if err != nil {
			return nil, fmt.Errorf("schemamap: candidates of %s: %w", name(it), err)
		}
		cand[i] = string(b)
	}
	rows, err := tx.Query(ctx, q, project, actor, st, sc, tt, tc, conf, stat, cand, ot, oc)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, collectItem)
}

// snapshot is an item as review_events' before and after record it: the
// SDK's fields (candidates aside, which a reviewer does not change) and
// the revision.
type snapshot struct {
	SourceTable          string  `json:"source_table"`
	SourceColumn         string  `json:"source_column"`
	TargetTable          *string `json:"target_table"`
	TargetColumn         *string `json:"target_column"`
	Confidence           float64 `json:"confidence"`
	Status               string  `json:"status"`
	OverrideTargetTable  *string `json:"override_target_table"`
	OverrideTargetColumn *string `json:"override_target_column"`
	Revision             int     `json:"revision"`
}

func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func snapshotOf(it schemamap.Item) []byte {
	b, _ := json.Marshal(snapshot{
		SourceTable: it.SourceTable, SourceColumn: it.SourceColumn,
		TargetTable: null(it.TargetTable), TargetColumn: null(it.TargetColumn),
		Confidence: it.Confidence, Status: string(it.Status),
		OverrideTargetTable: null(it.OverrideTargetTable), OverrideTargetColumn: null(it.OverrideTargetColumn),
		Revision: it.Revision,
	})
	return b
}

// auditPush writes one "sync" review_events row per created or changed
// item; before is null for a created one.
func auditPush(ctx context.Context, tx pgx.Tx, project, actor string, changed []schemamap.Item, stored map[key]schemamap.Item) error {
	const q = `
		insert into review_events (project_id, item_kind, item_id, actor, action, before, after)
		select $1, 'schema', id, $2, 'sync', b::jsonb, a::jsonb
		from unnest($3::int8[], $4::text[], $5::text[]) as t(id, b, a)`
	if len(changed) == 0 {
		return nil
	}
	ids := make([]int64, len(changed))
	before := make([]*string, len(changed))
	after := make([]string, len(changed))
	for i, it := range changed {
		ids[i], after[i] = it.ID, string(snapshotOf(it))
		if old, ok := stored[keyOf(it)]; ok {
			b := string(snapshotOf(old))
			before[i] = &b
		}
	}
	_, err := tx.Exec(ctx, q, project, actor, ids, before, after)
	return err
}

func tally(items []schemamap.Item, stored map[key]schemamap.Item, changed []schemamap.Item) schemamap.PushResult {
	o := pgsync.Tally(items, stored, changed, keyOf)
	return schemamap.PushResult{Created: o.Created, Updated: o.Updated, Unchanged: o.Unchanged, Items: o.Items}
}

// Items implements schemamap.Store.
func (s *Store) Items(ctx context.Context, project string) ([]schemamap.Item, error) {
	q := `select ` + itemColumns + ` from schema_mapping_items where project_id = $1 order by id`
	rows, err := s.pool.Query(ctx, q, project)
	if err != nil {
		return nil, translate(err)
	}
	items, err := pgx.CollectRows(rows, collectItem)
	return items, translate(err)
}

// Item implements schemamap.Store.
func (s *Store) Item(ctx context.Context, project string, id int64) (schemamap.Item, error) {
	return item(ctx, s.pool, project, id, "")
}

func item(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, project string, id int64, lock string) (schemamap.Item, error) {
	q := `select ` + itemColumns + ` from schema_mapping_items where project_id = $1 and id = $2 ` + lock
	it, err := scanItem(db.QueryRow(ctx, q, project, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, &schemamap.NotFoundError{Project: project, ID: strconv.FormatInt(id, 10)}
	}
	return it, translate(err)
}

// Decide implements schemamap.Store. Approving needs a target (the
// override or the suggestion); rejecting keeps the suggestion, as the SDK
// does; overriding sets the override target and keeps the suggestion.
func (s *Store) Decide(ctx context.Context, project string, d schemamap.Decision) (schemamap.Item, error) {
	var out schemamap.Item
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockProject, project); err != nil {
			return err
		}
		cur, err := item(ctx, tx, project, d.ID, "for update")
		if err != nil {
			return err
		}
		if d.Revision != 0 && d.Revision != cur.Revision {
			return fmt.Errorf("%w: schema mapping %d is at revision %d, not %d", schemamap.ErrConflict, d.ID, cur.Revision, d.Revision)
		}
		ot, oc := cur.OverrideTargetTable, cur.OverrideTargetColumn
		var action string
		switch d.Status {
		case schemamap.StatusApproved:
			if t, c := cur.EffectiveTarget(); t == "" || c == "" {
				return fmt.Errorf("%w: schema mapping %d has no target to approve; override it with a target_table and target_column", schemamap.ErrInvalid, d.ID)
			}
			action = "approve"
		case schemamap.StatusRejected:
			action = "reject"
		case schemamap.StatusOverridden:
			if d.TargetTable == "" || d.TargetColumn == "" {
				return fmt.Errorf("%w: an override needs a target_table and a target_column", schemamap.ErrInvalid)
			}
			ot, oc, action = d.TargetTable, d.TargetColumn, "override"
		default:
			return fmt.Errorf("%w: decision %q (want approved, rejected or overridden)", schemamap.ErrInvalid, d.Status)
		}
		q := `
			update schema_mapping_items
			set status = $3, override_target_table = nullif($4, ''), override_target_column = nullif($5, ''),
			    decided_by = $6, decided_at = now(), revision = revision + 1, updated_at = now()
			where project_id = $1 and id = $2
			returning ` + itemColumns
		if out, err = scanItem(tx.QueryRow(ctx, q, project, d.ID, string(d.Status), ot, oc, d.Actor)); err != nil {
			return err
		}
		const audit = `
			insert into review_events (project_id, item_kind, item_id, actor, action, before, after, comment)
			values ($1, 'schema', $2, $3, $4, $5, $6, $7)`
		_, err = tx.Exec(ctx, audit, project, d.ID, d.Actor, action, snapshotOf(cur), snapshotOf(out), d.Comment)
		return err
	})
	if err != nil {
		return schemamap.Item{}, translate(err)
	}
	return out, nil
}

// translate maps PostgreSQL errors to schemamap's: an unknown project
// (foreign key) or a malformed project id is ErrNotFound; domain errors
// pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, schemamap.ErrNotFound) || errors.Is(err, schemamap.ErrConflict) || errors.Is(err, schemamap.ErrInvalid) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503", "22P02": // foreign_key_violation, invalid_text_representation (uuid)
			return fmt.Errorf("%w: project: %s", schemamap.ErrNotFound, pe.Message)
		}
	}
	return fmt.Errorf("schemamap: %w", err)
}

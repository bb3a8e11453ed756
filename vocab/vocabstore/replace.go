package vocabstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
)

const (
	// stagingSchema holds the tables being loaded. They carry the live
	// tables' names, and their indexes and constraints the live ones'
	// names, so the swap is a schema move and every name stays stable.
	stagingSchema = "vocab_staging"
	// oldSchema receives the replaced tables inside the swap transaction,
	// just before they are dropped.
	oldSchema = "vocab_old"
	// importLock is the advisory-lock key imports agree on ("vocabimp").
	importLock int64 = 0x766f636162696d70
)

// run is the state of one Replace.
type run struct {
	conn     *pgx.Conn
	rel      *athena.Release
	progress vocab.Progress
	live     string // schema of the live tables, normally public
	id       int64  // vocabulary_imports row
	report   vocab.Report
}

// Replace implements vocab.Store.
//
// Steps: take the import lock; record the import as running; create the
// staging tables like the live ones (no indexes); COPY every file in
// (streaming, constant memory); build the live tables' primary keys and
// indexes on them (a duplicate key is reported with its file lines);
// ANALYZE; then in one transaction compute the diff, move the live tables
// to a scratch schema and the staging tables into their place, drop the
// old ones and settle the import record. Until that commit nothing the
// application reads has changed.
//
// Privileges granted on the live tables are not carried over to the new
// ones: Portiere connects as the tables' owner.
func (s *Store) Replace(ctx context.Context, rel *athena.Release, src vocab.Source, p vocab.Progress) (rep vocab.Report, err error) {
	if p == nil {
		p = vocab.ProgressFunc(func(vocab.Update) {})
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return vocab.Report{}, fmt.Errorf("vocabstore: %w", err)
	}
	defer pc.Release()
	conn := pc.Conn()

	var locked bool
	if err := conn.QueryRow(ctx, `select pg_try_advisory_lock($1)`, importLock).Scan(&locked); err != nil {
		return vocab.Report{}, fmt.Errorf("vocabstore: %w", err)
	}
	if !locked {
		return vocab.Report{}, vocab.ErrImportRunning
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		conn.Exec(cctx, `select pg_advisory_unlock($1)`, importLock)
		conn.Exec(cctx, `reset maintenance_work_mem`)
	}()

	r := &run{conn: conn, rel: rel, progress: p, report: vocab.Report{Source: src}}
	if err := r.begin(ctx); err != nil {
		return vocab.Report{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		// After a successful swap the staging schema is gone already.
		conn.Exec(cctx, `drop schema if exists `+stagingSchema+` cascade`)
		if err != nil {
			conn.Exec(cctx, `update vocabulary_imports set status = 'failed', finished_at = now(), error = $2 where id = $1`, r.id, err.Error())
		}
	}()

	if err := r.stage(ctx); err != nil {
		return vocab.Report{}, err
	}
	if err := r.copyAll(ctx); err != nil {
		return vocab.Report{}, err
	}
	if err := r.index(ctx); err != nil {
		return vocab.Report{}, err
	}
	if err := r.swap(ctx); err != nil {
		return vocab.Report{}, err
	}
	return r.report, nil
}

// begin finds the live schema, settles imports a crash left running (we
// hold the lock, so none is), reads what the previous import loaded, and
// records this one.
func (r *run) begin(ctx context.Context) error {
	const schemaQ = `select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = 'concept'::regclass`
	if err := r.conn.QueryRow(ctx, schemaQ).Scan(&r.live); err != nil {
		return fmt.Errorf("vocabstore: find the concept table (has the schema been migrated?): %w", err)
	}
	if _, err := r.conn.Exec(ctx, `update vocabulary_imports set status = 'failed', finished_at = now(), error = 'interrupted' where status = 'running'`); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}

	const prevQ = `select fingerprint, row_counts from vocabulary_imports where status = 'succeeded' order by id desc limit 1`
	var prevCounts map[string]int64
	err := r.conn.QueryRow(ctx, prevQ).Scan(&r.report.PreviousFingerprint, &prevCounts)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("vocabstore: %w", err)
	}
	for _, sp := range specs() {
		tc := vocab.TableCount{Table: sp.table, Previous: -1}
		if n, ok := prevCounts[string(sp.table)]; ok {
			tc.Previous = n
		}
		tc.File, _ = r.rel.File(sp.table)
		r.report.Tables = append(r.report.Tables, tc)
	}

	const ins = `insert into vocabulary_imports (source, fingerprint) values ($1, $2) returning id, started_at`
	if err := r.conn.QueryRow(ctx, ins, r.report.Source.Path, r.report.Source.Fingerprint).Scan(&r.id, &r.report.StartedAt); err != nil {
		return fmt.Errorf("vocabstore: record import: %w", err)
	}
	r.report.ImportID = r.id
	return nil
}

func (r *run) liveTable(t athena.Table) string {
	return pgx.Identifier{r.live, string(t)}.Sanitize()
}

func stagingTable(t athena.Table) string {
	return pgx.Identifier{stagingSchema, string(t)}.Sanitize()
}

// stage creates empty staging tables shaped like the live ones: same
// columns, types, defaults and checks, no indexes yet (loading first and
// indexing after is several times faster).
func (r *run) stage(ctx context.Context) error {
	// A leftover from an import killed before its cleanup ran.
	if _, err := r.conn.Exec(ctx, `drop schema if exists `+stagingSchema+` cascade`); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	if _, err := r.conn.Exec(ctx, `create schema `+stagingSchema); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	for _, sp := range specs() {
		q := fmt.Sprintf(`create table %s (like %s including all excluding indexes)`, stagingTable(sp.table), r.liveTable(sp.table))
		if _, err := r.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("vocabstore: create staging table %s: %w", sp.table, err)
		}
	}
	// Index builds sort whole tables; more memory means fewer passes.
	if _, err := r.conn.Exec(ctx, `set maintenance_work_mem = '256MB'`); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	return nil
}

// copyAll streams every file into its staging table.
func (r *run) copyAll(ctx context.Context) error {
	limits, err := r.columnLimits(ctx)
	if err != nil {
		return err
	}
	for i, sp := range specs() {
		src, err := sp.open(r.rel)
		if err != nil {
			return err
		}
		maxChars := make([]int, len(sp.columns))
		for j, c := range sp.columns {
			maxChars[j] = limits[string(sp.table)+"."+c]
		}
		cs := newCopySource(sp, src, maxChars, r.progress)
		n, err := r.conn.CopyFrom(ctx, pgx.Identifier{stagingSchema, string(sp.table)}, sp.columns, cs)
		src.Close()
		// A reader error aborts the COPY, and PostgreSQL answers with its
		// own "COPY from stdin failed"; the reader's error is the one that
		// names the file and line.
		if serr := cs.Err(); serr != nil {
			return serr
		}
		if err != nil {
			return fmt.Errorf("vocabstore: load %s into %s: %w", src.File(), sp.table, err)
		}
		cs.report(true)
		r.report.Tables[i].Rows = n
		if sp.table == athena.TableConcept && n == 0 {
			return vocab.ErrEmptyRelease
		}
	}
	return nil
}

// columnLimits returns the character limits of the varchar columns of the
// live tables, keyed "table.column".
func (r *run) columnLimits(ctx context.Context) (map[string]int, error) {
	var tables []string
	for _, sp := range specs() {
		tables = append(tables, string(sp.table))
	}
	const q = `
select table_name, column_name, character_maximum_length
from information_schema.columns
where table_schema = $1 and table_name = any($2) and character_maximum_length is not null`
	rows, err := r.conn.Query(ctx, q, r.live, tables)
	if err != nil {
		return nil, fmt.Errorf("vocabstore: %w", err)
	}
	out := map[string]int{}
	for rows.Next() {
		var t, c string
		var n int
		if err := rows.Scan(&t, &c, &n); err != nil {
			return nil, fmt.Errorf("vocabstore: %w", err)
		}
		out[t+"."+c] = n
	}
	return out, rows.Err()
}

// liveIndex is an index of a live table, to be rebuilt on the staging
// table under the same name.
type liveIndex struct {
	name       string
	def        string // pg_get_indexdef
	unique     bool
	constraint string // pg_get_constraintdef, for primary keys and unique constraints
}

// index builds on each staging table the primary key and indexes its live
// table has, read from the catalog so a later migration's index is carried
// over without code changes. Building a primary key is also the duplicate
// check.
func (r *run) index(ctx context.Context) error {
	for _, sp := range specs() {
		start := time.Now()
		r.progress.Update(vocab.Update{Stage: vocab.StageIndex, Table: string(sp.table)})
		idxs, err := r.liveIndexes(ctx, sp.table)
		if err != nil {
			return err
		}
		for _, ix := range idxs {
			var q string
			if ix.constraint != "" {
				q = fmt.Sprintf(`alter table %s add constraint %s %s`, stagingTable(sp.table), pgx.Identifier{ix.name}.Sanitize(), ix.constraint)
			} else {
				i := strings.Index(ix.def, " USING ")
				if i < 0 {
					return fmt.Errorf("vocabstore: cannot rebuild index %s: unexpected definition %q", ix.name, ix.def)
				}
				unique := ""
				if ix.unique {
					unique = "unique "
				}
				q = fmt.Sprintf(`create %sindex %s on %s%s`, unique, pgx.Identifier{ix.name}.Sanitize(), stagingTable(sp.table), ix.def[i:])
			}
			if _, err := r.conn.Exec(ctx, q); err != nil {
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
					return r.duplicate(ctx, sp, ix.name)
				}
				return fmt.Errorf("vocabstore: build %s on %s: %w", ix.name, sp.table, err)
			}
		}
		// Fresh tables have no statistics; the diff and the first queries
		// after the swap need them.
		if _, err := r.conn.Exec(ctx, `analyze `+stagingTable(sp.table)); err != nil {
			return fmt.Errorf("vocabstore: analyze %s: %w", sp.table, err)
		}
		r.progress.Update(vocab.Update{Stage: vocab.StageIndex, Table: string(sp.table), Done: true, Elapsed: time.Since(start)})
	}
	return nil
}

func (r *run) liveIndexes(ctx context.Context, t athena.Table) ([]liveIndex, error) {
	// Constraints first: the primary key doubles as the duplicate check
	// and should fail before slower secondary indexes are built.
	const q = `
select i.relname, pg_get_indexdef(i.oid), x.indisunique, coalesce(pg_get_constraintdef(con.oid), '')
from pg_index x
join pg_class i on i.oid = x.indexrelid
left join pg_constraint con on con.conindid = x.indexrelid and con.conrelid = x.indrelid
where x.indrelid = $1::text::regclass
order by con.oid is null, i.relname`
	rows, err := r.conn.Query(ctx, q, r.liveTable(t))
	if err != nil {
		return nil, fmt.Errorf("vocabstore: read indexes of %s: %w", t, err)
	}
	defer rows.Close()
	var out []liveIndex
	for rows.Next() {
		var ix liveIndex
		if err := rows.Scan(&ix.name, &ix.def, &ix.unique, &ix.constraint); err != nil {
			return nil, fmt.Errorf("vocabstore: %w", err)
		}
		out = append(out, ix)
	}
	return out, rows.Err()
}

// duplicate explains a unique-key violation: it finds one duplicated key
// in the staging table, then the two lines of the file that carry it.
func (r *run) duplicate(ctx context.Context, sp spec, index string) error {
	const colsQ = `
select a.attname
from pg_index x
cross join lateral unnest(x.indkey) with ordinality k(attnum, ord)
join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
where x.indexrelid = $1::text::regclass
order by k.ord`
	rows, err := r.conn.Query(ctx, colsQ, pgx.Identifier{r.live, index}.Sanitize())
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	list := strings.Join(quoted, ", ")
	q := fmt.Sprintf(`select %s from %s group by %s having count(*) > 1 order by %s limit 1`, list, stagingTable(sp.table), list, list)
	rows, err = r.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil || len(keys) == 0 {
		return fmt.Errorf("vocabstore: %s: duplicate key in %s (%v)", sp.table, strings.Join(cols, ", "), err)
	}
	key := make([]string, len(cols))
	for i, v := range keys[0] {
		key[i] = fmt.Sprint(v)
	}
	what := fmt.Sprintf("duplicate %s %s", strings.Join(cols, ", "), strings.Join(key, ", "))

	// Scan the file for the lines: only on this error path, so the load
	// itself needs no line-number column.
	pos := make([]int, len(cols))
	for i, c := range cols {
		pos[i] = -1
		for j, sc := range sp.columns {
			if sc == c {
				pos[i] = j
			}
		}
	}
	src, err := sp.open(r.rel)
	if err != nil {
		return err
	}
	defer src.Close()
	vals := make([]any, len(sp.columns))
	var lines []int
	for len(lines) < 2 && src.Next() {
		src.values(vals)
		match := true
		for i, p := range pos {
			if p < 0 || fmt.Sprint(vals[p]) != key[i] {
				match = false
				break
			}
		}
		if match {
			lines = append(lines, src.Line())
		}
	}
	if len(lines) < 2 {
		return fmt.Errorf("vocabstore: %s: %s", src.File(), what)
	}
	return &athena.ParseError{File: src.File(), Line: lines[1], Column: strings.Join(cols, ", "),
		Msg: fmt.Sprintf("%s (first on line %d)", what, lines[0])}
}

// swap compares staging with live and replaces live, all in one
// transaction, and settles the import record in it too.
func (r *run) swap(ctx context.Context) error {
	tx, err := r.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	start := time.Now()
	r.progress.Update(vocab.Update{Stage: vocab.StageDiff})
	if err := r.diff(ctx, tx); err != nil {
		return err
	}
	r.progress.Update(vocab.Update{Stage: vocab.StageDiff, Done: true, Elapsed: time.Since(start)})

	start = time.Now()
	r.progress.Update(vocab.Update{Stage: vocab.StageSwap})
	stmts := []string{`create schema ` + oldSchema}
	for _, sp := range specs() {
		stmts = append(stmts,
			fmt.Sprintf(`alter table %s set schema %s`, r.liveTable(sp.table), oldSchema),
			fmt.Sprintf(`alter table %s set schema %s`, stagingTable(sp.table), pgx.Identifier{r.live}.Sanitize()))
	}
	// No CASCADE: a view or foreign key on a vocabulary table would follow
	// the old table and be dropped with it. Failing the import says so
	// instead.
	for _, sp := range specs() {
		stmts = append(stmts, fmt.Sprintf(`drop table %s`, pgx.Identifier{oldSchema, string(sp.table)}.Sanitize()))
	}
	stmts = append(stmts, `drop schema `+oldSchema, `drop schema `+stagingSchema)
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("vocabstore: swap (%s): %w", q, err)
		}
	}

	counts := map[string]int64{}
	for _, t := range r.report.Tables {
		counts[string(t.Table)] = t.Rows
	}
	rep, err := json.Marshal(toJSON(r.report))
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	const done = `
update vocabulary_imports
set status = 'succeeded', finished_at = clock_timestamp(), row_counts = $2, report = $3
where id = $1
returning finished_at`
	if err := tx.QueryRow(ctx, done, r.id, counts, rep).Scan(&r.report.FinishedAt); err != nil {
		return fmt.Errorf("vocabstore: record import: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("vocabstore: commit swap: %w", err)
	}
	r.progress.Update(vocab.Update{Stage: vocab.StageSwap, Done: true, Elapsed: time.Since(start)})
	return nil
}

// diff compares the staging concepts (n) with the live ones (o).
func (r *run) diff(ctx context.Context, tx pgx.Tx) error {
	o, n := r.liveTable(athena.TableConcept), stagingTable(athena.TableConcept)
	// A valid standard concept is what a mapping may point to.
	const wasTarget = `o.standard_concept = 'S' and o.invalid_reason is null`
	const notTarget = `(n.concept_id is null or n.invalid_reason is not null or n.standard_concept is distinct from 'S')`
	q := fmt.Sprintf(`
select
	count(*) filter (where o.concept_id is null),
	count(*) filter (where n.concept_id is null),
	count(*) filter (where (o.concept_name, o.domain_id, o.vocabulary_id, o.concept_class_id, o.standard_concept,
	                        o.concept_code, o.valid_start_date, o.valid_end_date, o.invalid_reason)
	                       is distinct from
	                       (n.concept_name, n.domain_id, n.vocabulary_id, n.concept_class_id, n.standard_concept,
	                        n.concept_code, n.valid_start_date, n.valid_end_date, n.invalid_reason)
	                   and o.concept_id is not null and n.concept_id is not null),
	count(*) filter (where o.concept_name <> n.concept_name),
	count(*) filter (where o.domain_id <> n.domain_id),
	count(*) filter (where o.concept_class_id <> n.concept_class_id),
	count(*) filter (where o.standard_concept is distinct from n.standard_concept and o.concept_id is not null and n.concept_id is not null),
	count(*) filter (where (o.invalid_reason, o.valid_start_date, o.valid_end_date) is distinct from (n.invalid_reason, n.valid_start_date, n.valid_end_date)
	                   and o.concept_id is not null and n.concept_id is not null),
	count(*) filter (where (o.vocabulary_id, o.concept_code) <> (n.vocabulary_id, n.concept_code)),
	count(*) filter (where %s and %s),
	count(o.concept_id) = 0
from %s o full join %s n on n.concept_id = o.concept_id`, wasTarget, notTarget, o, n)
	d := &r.report.Diff
	err := tx.QueryRow(ctx, q).Scan(&d.Added, &d.Removed, &d.Changed,
		&d.Changes.Name, &d.Changes.Domain, &d.Changes.Class, &d.Changes.Standard, &d.Changes.Validity, &d.Changes.Code,
		&d.TargetsInvalidated, &d.FirstImport)
	if err != nil {
		return fmt.Errorf("vocabstore: diff: %w", err)
	}
	if d.TargetsInvalidated == 0 {
		return nil
	}
	// Which of them mappings point to: those mappings need review.
	q = fmt.Sprintf(`
select count(distinct m.concept_id), count(*)
from concept_mapping_items m
join %s o on o.concept_id = m.concept_id
left join %s n on n.concept_id = o.concept_id
where %s and %s`, o, n, wasTarget, notTarget)
	if err := tx.QueryRow(ctx, q).Scan(&d.MappedTargetsInvalidated, &d.MappingsAffected); err != nil {
		return fmt.Errorf("vocabstore: diff: mapped targets: %w", err)
	}
	// Mapped targets are listed first: they are the ones to act on.
	q = fmt.Sprintf(`
select o.concept_id,
       case when n.concept_id is null then 'removed' when n.invalid_reason is not null then 'invalid' else 'non-standard' end,
       (select count(*) from concept_mapping_items m where m.concept_id = o.concept_id) as mapped
from %s o left join %s n on n.concept_id = o.concept_id
where %s and %s
order by mapped desc, o.concept_id
limit %d`, o, n, wasTarget, notTarget, vocab.MaxListedTargets)
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("vocabstore: diff: %w", err)
	}
	d.InvalidatedTargets, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (vocab.InvalidatedTarget, error) {
		var t vocab.InvalidatedTarget
		err := row.Scan(&t.ConceptID, &t.Reason, &t.MappedItems)
		return t, err
	})
	if err != nil {
		return fmt.Errorf("vocabstore: diff: %w", err)
	}
	return nil
}

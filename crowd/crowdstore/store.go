// Package crowdstore is the PostgreSQL storage of package crowd: the
// tables crowd_tasks, crowd_votes, crowd_task_views, crowd_ledger,
// crowd_balances, crowd_payouts and crowd_settings (migration 0015). The
// database enforces one vote per mapper per task (a unique key), one
// reward and one bonus per vote, an append-only ledger (a trigger) and
// balances that never go negative (a check on the running total updated
// in the transaction that appends each entry).
package crowdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/crowd"
)

// Store implements crowd.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ crowd.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// translate maps no row and malformed ids to crowd.ErrNotFound, the
// balance check to ErrInsufficientBalance and the one-vote key to
// ErrAlreadyVoted; domain errors pass through.
func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{crowd.ErrNotFound, crowd.ErrInvalid, crowd.ErrAlreadyVoted, crowd.ErrClosed, crowd.ErrForbidden, crowd.ErrInsufficientBalance} {
		if errors.Is(err, e) {
			return err
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", crowd.ErrNotFound, what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505" && pe.ConstraintName == "crowd_votes_task_id_mapper_id_key":
			return fmt.Errorf("%w (%s)", crowd.ErrAlreadyVoted, what)
		case pe.Code == "23514" && pe.ConstraintName == "crowd_balances_cents_check":
			return fmt.Errorf("%w: %s", crowd.ErrInsufficientBalance, what)
		case pe.Code == "22P02", pe.Code == "23503":
			return fmt.Errorf("%w: %s", crowd.ErrNotFound, what)
		}
	}
	return fmt.Errorf("crowdstore: %s: %w", what, err)
}

const taskColumns = `id, coalesce(organization_id::text, ''), coalesce(project_id::text, ''), coalesce(item_id, 0),
	source, source_code, source_description, source_column, context, candidates, confidence, vocabularies, domains,
	calibration, known_concept_id, state, resolution_concept_id, agreement, votes, submitted_by, created_at, resolved_at,
	written_back_at, written_back_note`

func scanTask(row pgx.Row) (crowd.Task, error) {
	var t crowd.Task
	var ctxJSON, cand []byte
	var known, resolution *int32
	var state string
	err := row.Scan(&t.ID, &t.OrganizationID, &t.ProjectID, &t.ItemID, &t.Source, &t.Code, &t.Description, &t.SourceColumn,
		&ctxJSON, &cand, &t.Confidence, &t.Vocabularies, &t.Domains, &t.Calibration, &known, &state, &resolution,
		&t.Agreement, &t.Votes, &t.SubmittedBy, &t.CreatedAt, &t.ResolvedAt, &t.WrittenBack, &t.WriteBackNote)
	if err != nil {
		return t, err
	}
	t.State = crowd.State(state)
	if known != nil {
		t.Known = &crowd.Answer{ConceptID: *known}
	}
	if resolution != nil {
		t.Resolution = &crowd.Answer{ConceptID: *resolution}
	}
	if err := json.Unmarshal(ctxJSON, &t.Context); err != nil {
		return t, fmt.Errorf("crowdstore: context of task %d: %w", t.ID, err)
	}
	if err := json.Unmarshal(cand, &t.Candidates); err != nil {
		return t, fmt.Errorf("crowdstore: candidates of task %d: %w", t.ID, err)
	}
	return t, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullUUID(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateTasks implements crowd.Store.
func (s *Store) CreateTasks(ctx context.Context, tasks []crowd.Task) ([]crowd.Task, error) {
	const ins = `
		insert into crowd_tasks (organization_id, project_id, item_id, source, source_code, source_description, source_column,
			context, candidates, confidence, vocabularies, domains, calibration, known_concept_id, submitted_by)
		values ($1::uuid, $2::uuid, nullif($3, 0), $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13, $14, $15)
		on conflict (item_id) where item_id is not null do nothing
		returning ` + taskColumns
	out := make([]crowd.Task, 0, len(tasks))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, t := range tasks {
			if t.Calibration != (t.Known != nil) || t.Calibration != (t.ProjectID == "") {
				return fmt.Errorf("%w: a calibration task has a known answer and no project; a project task neither", crowd.ErrInvalid)
			}
			if t.Code == "" {
				return fmt.Errorf("%w: a task needs its source code", crowd.ErrInvalid)
			}
			c := t.Context
			if c == nil {
				c = map[string]string{}
			}
			ctxJSON, err := json.Marshal(c)
			if err != nil {
				return err
			}
			cand := t.Candidates
			if cand == nil {
				cand = nil
			}
			candJSON, err := json.Marshal(cand)
			if err != nil {
				return err
			}
			if string(candJSON) == "null" {
				candJSON = []byte("[]")
			}
			var known *int32
			if t.Known != nil {
				known = &t.Known.ConceptID
			}
			got, err := scanTask(tx.QueryRow(ctx, ins, nullUUID(t.OrganizationID), nullUUID(t.ProjectID), t.ItemID, t.Source, t.Code,
				t.Description, t.SourceColumn, string(ctxJSON), string(candJSON), t.Confidence, nonNil(t.Vocabularies),
				nonNil(t.Domains), t.Calibration, known, t.SubmittedBy))
			if errors.Is(err, pgx.ErrNoRows) { // sent before: keep its task
				got, err = scanTask(tx.QueryRow(ctx, `select `+taskColumns+` from crowd_tasks where item_id = $1`, t.ItemID))
			}
			if err != nil {
				return err
			}
			out = append(out, got)
		}
		return nil
	})
	if err != nil {
		return nil, translate("create tasks", err)
	}
	return out, nil
}

// Task implements crowd.Store.
func (s *Store) Task(ctx context.Context, id int64) (crowd.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `select `+taskColumns+` from crowd_tasks where id = $1`, id))
	if err != nil {
		return t, translate(fmt.Sprintf("task %d", id), err)
	}
	return t, nil
}

// collectTasks scans a query's task rows.
func collectTasks(rows pgx.Rows, err error) ([]crowd.Task, error) {
	if err != nil {
		return nil, translate("tasks", err)
	}
	defer rows.Close()
	var out []crowd.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, translate("tasks", err)
		}
		out = append(out, t)
	}
	return out, translate("tasks", rows.Err())
}

// Feed implements crowd.Store: escalated tasks first for experts, then
// open ones, each oldest first (waiting longest), with the calibration
// tasks spread among them. Each state is one index walk on (state,
// calibration, id) that stops at the limit.
func (s *Store) Feed(ctx context.Context, q crowd.FeedQuery) ([]crowd.Task, error) {
	const sel = `select ` + taskColumns + ` from crowd_tasks t
		where t.state = $2 and t.calibration = $3
		  and not exists (select 1 from crowd_votes v where v.task_id = t.id and v.mapper_id = $1)
		  and ((cardinality($4::text[]) = 0 and cardinality($5::text[]) = 0) or t.vocabularies && $4 or t.domains && $5)
		order by t.id
		limit $6`
	states := []string{string(crowd.StateOpen)}
	if q.Expert {
		states = []string{string(crowd.StateEscalated), string(crowd.StateOpen)}
	}
	pick := func(calibration bool, limit int) ([]crowd.Task, error) {
		var out []crowd.Task
		for _, st := range states {
			if len(out) >= limit {
				break
			}
			ts, err := collectTasks(s.pool.Query(ctx, sel, q.MapperID, st, calibration, nonNil(q.Vocabularies), nonNil(q.Domains), limit-len(out)))
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		return out, nil
	}
	cal, err := pick(true, q.Calibration)
	if err != nil {
		return nil, err
	}
	regular, err := pick(false, q.Limit-len(cal))
	if err != nil {
		return nil, err
	}
	// One calibration task after every len(regular)/len(cal) regular
	// ones, so they cannot be told apart by position.
	out := make([]crowd.Task, 0, len(cal)+len(regular))
	every := len(regular) + 1
	if len(cal) > 0 {
		every = len(regular)/len(cal) + 1
	}
	for i, t := range regular {
		out = append(out, t)
		if (i+1)%every == 0 && len(cal) > 0 {
			out, cal = append(out, cal[0]), cal[1:]
		}
	}
	return append(out, cal...), nil
}

// Opened implements crowd.Store.
func (s *Store) Opened(ctx context.Context, mapperID string, task int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `insert into crowd_task_views (mapper_id, task_id, opened_at) values ($1, $2, $3)
		on conflict (mapper_id, task_id) do nothing`, mapperID, task, at)
	return translate(fmt.Sprintf("task %d", task), err)
}

const voteColumns = `id, task_id, mapper_id, action, concept_id, concept_name, vocabulary_id, domain_id, weight, expert,
	elapsed_ms, correct, created_at`

func scanVote(row pgx.Row) (crowd.Vote, error) {
	var v crowd.Vote
	var action string
	var ms int64
	err := row.Scan(&v.ID, &v.TaskID, &v.MapperID, &action, &v.ConceptID, &v.ConceptName, &v.VocabularyID, &v.DomainID,
		&v.Weight, &v.Expert, &ms, &v.Correct, &v.At)
	v.Action, v.Elapsed = crowd.Action(action), time.Duration(ms)*time.Millisecond
	return v, err
}

// collectVotes scans a query's vote rows.
func collectVotes(rows pgx.Rows, err error) ([]crowd.Vote, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []crowd.Vote
	for rows.Next() {
		v, err := scanVote(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Cast implements crowd.Store.
func (s *Store) Cast(ctx context.Context, v crowd.Vote, settle func(crowd.Task, []crowd.Vote) (crowd.Settlement, error)) (crowd.Vote, crowd.Task, error) {
	var saved crowd.Vote
	var task crowd.Task
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanTask(tx.QueryRow(ctx, `select `+taskColumns+` from crowd_tasks where id = $1 for update`, v.TaskID))
		if err != nil {
			return err
		}
		votes, err := collectVotes(tx.Query(ctx, `select `+voteColumns+` from crowd_votes where task_id = $1 order by id`, v.TaskID))
		if err != nil {
			return err
		}
		for _, x := range votes {
			if x.MapperID == v.MapperID {
				return fmt.Errorf("%w: mapper %s on task %d", crowd.ErrAlreadyVoted, v.MapperID, v.TaskID)
			}
		}
		var opened time.Time
		err = tx.QueryRow(ctx, `select opened_at from crowd_task_views where mapper_id = $1 and task_id = $2`, v.MapperID, v.TaskID).Scan(&opened)
		if err == nil && v.At.After(opened) {
			v.Elapsed = v.At.Sub(opened)
		} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		st, err := settle(cur, append(votes, v))
		if err != nil {
			return err
		}
		nv := st.Vote
		nv.Elapsed = v.Elapsed
		saved, err = scanVote(tx.QueryRow(ctx, `
			insert into crowd_votes (task_id, mapper_id, action, concept_id, concept_name, vocabulary_id, domain_id, weight, expert, elapsed_ms, created_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			returning `+voteColumns,
			nv.TaskID, nv.MapperID, string(nv.Action), nv.ConceptID, nv.ConceptName, nv.VocabularyID, nv.DomainID, nv.Weight,
			nv.Expert, nv.Elapsed.Milliseconds(), nv.At))
		if err != nil {
			return err
		}
		var resolution *int32
		if st.Resolution != nil {
			resolution = &st.Resolution.ConceptID
		}
		task, err = scanTask(tx.QueryRow(ctx, `
			update crowd_tasks set state = $2, resolution_concept_id = $3, agreement = $4, votes = votes + 1,
				resolved_at = case when $2::text = 'resolved' then $5::timestamptz else null end
			where id = $1 returning `+taskColumns, cur.ID, string(st.State), resolution, st.Agreement, nv.At))
		if err != nil {
			return err
		}
		for m, ok := range st.Grades {
			if _, err := tx.Exec(ctx, `update crowd_votes set correct = $3 where task_id = $1 and mapper_id = $2`, cur.ID, m, ok); err != nil {
				return err
			}
		}
		if err := appendEntries(ctx, tx, st.Entries); err != nil {
			return err
		}
		if saved.Correct == nil {
			if ok, graded := st.Grades[saved.MapperID]; graded {
				saved.Correct = &ok
			}
		}
		return nil
	})
	if err != nil {
		return crowd.Vote{}, crowd.Task{}, translate(fmt.Sprintf("vote on task %d", v.TaskID), err)
	}
	return saved, task, nil
}

// appendEntries appends entries in (mapper, currency) order, the order
// every transaction locks balance rows in, so two transactions never wait
// on each other's rows in a cycle.
func appendEntries(ctx context.Context, tx pgx.Tx, entries []crowd.Entry) error {
	sorted := append([]crowd.Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].MapperID != sorted[j].MapperID {
			return sorted[i].MapperID < sorted[j].MapperID
		}
		return sorted[i].Currency < sorted[j].Currency
	})
	for _, e := range sorted {
		if err := appendEntry(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// appendEntry checks e against the running balance (locked) and writes
// both, in the caller's transaction.
func appendEntry(ctx context.Context, tx pgx.Tx, e crowd.Entry) error {
	var balance int64
	err := tx.QueryRow(ctx, `select cents from crowd_balances where mapper_id = $1 and currency = $2 for update`, e.MapperID, e.Currency).Scan(&balance)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := crowd.CheckEntry(balance, e); err != nil {
		return err
	}
	var task *int64
	if e.TaskID != 0 {
		task = &e.TaskID
	}
	var payout *string
	if e.PayoutID != "" {
		payout = &e.PayoutID
	}
	if _, err := tx.Exec(ctx, `insert into crowd_ledger (mapper_id, currency, kind, cents, task_id, payout_id) values ($1, $2, $3, $4, $5, $6)`,
		e.MapperID, e.Currency, string(e.Kind), e.Cents, task, payout); err != nil {
		return err
	}
	if exists {
		_, err = tx.Exec(ctx, `update crowd_balances set cents = cents + $3 where mapper_id = $1 and currency = $2`, e.MapperID, e.Currency, e.Cents)
		return err
	}
	// A first entry is a credit (CheckEntry refuses a debit of 0); a
	// concurrent first credit adds to the row the other inserted.
	_, err = tx.Exec(ctx, `insert into crowd_balances (mapper_id, currency, cents) values ($1, $2, $3)
		on conflict (mapper_id, currency) do update set cents = crowd_balances.cents + excluded.cents`, e.MapperID, e.Currency, e.Cents)
	return err
}

// TaskVotes implements crowd.Store.
func (s *Store) TaskVotes(ctx context.Context, task int64) ([]crowd.Vote, error) {
	out, err := collectVotes(s.pool.Query(ctx, `select `+voteColumns+` from crowd_votes where task_id = $1 order by id`, task))
	return out, translate(fmt.Sprintf("votes of task %d", task), err)
}

// Votes implements crowd.Store.
func (s *Store) Votes(ctx context.Context, mapperID string, limit int) ([]crowd.Vote, error) {
	out, err := collectVotes(s.pool.Query(ctx, `select `+voteColumns+` from crowd_votes where mapper_id = $1 order by id desc limit $2`, mapperID, limit))
	return out, translate("votes of "+mapperID, err)
}

// Graded implements crowd.Store.
func (s *Store) Graded(ctx context.Context, mapperID string) (map[string][]crowd.Observation, error) {
	rows, err := s.pool.Query(ctx, `
		select v.mapper_id, v.correct, t.calibration, v.created_at
		from crowd_votes v join crowd_tasks t on t.id = v.task_id
		where v.correct is not null and ($1 = '' or v.mapper_id = $1)
		order by v.id`, mapperID)
	if err != nil {
		return nil, translate("graded votes", err)
	}
	defer rows.Close()
	out := map[string][]crowd.Observation{}
	for rows.Next() {
		var m string
		var o crowd.Observation
		if err := rows.Scan(&m, &o.Correct, &o.Calibration, &o.At); err != nil {
			return nil, translate("graded votes", err)
		}
		out[m] = append(out[m], o)
	}
	return out, translate("graded votes", rows.Err())
}

// Ledger implements crowd.Store.
func (s *Store) Ledger(ctx context.Context, mapperID string, limit int) ([]crowd.Entry, error) {
	rows, err := s.pool.Query(ctx, `
		select id, mapper_id, currency, kind, cents, coalesce(task_id, 0), coalesce(payout_id, ''), created_at
		from crowd_ledger where mapper_id = $1 order by id desc limit $2`, mapperID, limit)
	if err != nil {
		return nil, translate("ledger", err)
	}
	defer rows.Close()
	var out []crowd.Entry
	for rows.Next() {
		var e crowd.Entry
		var kind string
		if err := rows.Scan(&e.ID, &e.MapperID, &e.Currency, &kind, &e.Cents, &e.TaskID, &e.PayoutID, &e.At); err != nil {
			return nil, translate("ledger", err)
		}
		e.Kind = crowd.EntryKind(kind)
		out = append(out, e)
	}
	return out, translate("ledger", rows.Err())
}

// Balances implements crowd.Store.
func (s *Store) Balances(ctx context.Context, mapperID string) ([]crowd.Money, error) {
	rows, err := s.pool.Query(ctx, `select currency, cents from crowd_balances where mapper_id = $1 order by currency`, mapperID)
	if err != nil {
		return nil, translate("balances", err)
	}
	defer rows.Close()
	var out []crowd.Money
	for rows.Next() {
		var m crowd.Money
		if err := rows.Scan(&m.Currency, &m.Cents); err != nil {
			return nil, translate("balances", err)
		}
		out = append(out, m)
	}
	return out, translate("balances", rows.Err())
}

// AllBalances implements crowd.Store.
func (s *Store) AllBalances(ctx context.Context) ([]crowd.MapperBalance, error) {
	rows, err := s.pool.Query(ctx, `select mapper_id, currency, cents from crowd_balances where cents > 0 order by mapper_id, currency`)
	if err != nil {
		return nil, translate("balances", err)
	}
	defer rows.Close()
	var out []crowd.MapperBalance
	for rows.Next() {
		var b crowd.MapperBalance
		if err := rows.Scan(&b.MapperID, &b.Currency, &b.Cents); err != nil {
			return nil, translate("balances", err)
		}
		out = append(out, b)
	}
	return out, translate("balances", rows.Err())
}

// Earned implements crowd.Store.
func (s *Store) Earned(ctx context.Context) (map[string][]crowd.Money, error) {
	rows, err := s.pool.Query(ctx, `
		select mapper_id, currency, sum(cents)::bigint from crowd_ledger
		where kind in ('vote_reward', 'consensus_bonus') group by mapper_id, currency order by mapper_id, currency`)
	if err != nil {
		return nil, translate("earnings", err)
	}
	defer rows.Close()
	out := map[string][]crowd.Money{}
	for rows.Next() {
		var m string
		var e crowd.Money
		if err := rows.Scan(&m, &e.Currency, &e.Cents); err != nil {
			return nil, translate("earnings", err)
		}
		out[m] = append(out[m], e)
	}
	return out, translate("earnings", rows.Err())
}

// ItemStatuses implements crowd.Store.
func (s *Store) ItemStatuses(ctx context.Context, project string, ids []int64) ([]crowd.ItemStatus, error) {
	if ids == nil {
		ids = []int64{}
	}
	rows, err := s.pool.Query(ctx, `
		select item_id, id, state, votes, agreement, resolution_concept_id, resolved_at, written_back_at is not null
		from crowd_tasks where project_id = $1 and (cardinality($2::bigint[]) = 0 or item_id = any($2)) order by item_id`, project, ids)
	if err != nil {
		return nil, translate("crowd status", err)
	}
	defer rows.Close()
	out := []crowd.ItemStatus{}
	for rows.Next() {
		var st crowd.ItemStatus
		var state string
		var res *int32
		if err := rows.Scan(&st.ItemID, &st.TaskID, &state, &st.Votes, &st.Agreement, &res, &st.ResolvedAt, &st.WrittenBack); err != nil {
			return nil, translate("crowd status", err)
		}
		st.State = crowd.State(state)
		if res != nil {
			st.Resolution = &crowd.Answer{ConceptID: *res}
		}
		out = append(out, st)
	}
	return out, translate("crowd status", rows.Err())
}

// UnwrittenResolutions implements crowd.Store.
func (s *Store) UnwrittenResolutions(ctx context.Context, limit int) ([]crowd.Task, error) {
	return collectTasks(s.pool.Query(ctx, `select `+taskColumns+` from crowd_tasks
		where state = 'resolved' and written_back_at is null and project_id is not null order by resolved_at limit $1`, limit))
}

// MarkWrittenBack implements crowd.Store.
func (s *Store) MarkWrittenBack(ctx context.Context, id int64, note string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `update crowd_tasks set written_back_at = $2, written_back_note = $3 where id = $1 and written_back_at is null`, id, at, note)
	return translate(fmt.Sprintf("task %d", id), err)
}

// ShowEarnings implements crowd.Store.
func (s *Store) ShowEarnings(ctx context.Context) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `select mapper_id from crowd_settings where show_earnings`)
	if err != nil {
		return nil, translate("settings", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, translate("settings", err)
		}
		out[m] = true
	}
	return out, translate("settings", rows.Err())
}

// SetShowEarnings implements crowd.Store.
func (s *Store) SetShowEarnings(ctx context.Context, mapperID string, show bool) error {
	_, err := s.pool.Exec(ctx, `insert into crowd_settings (mapper_id, show_earnings) values ($1, $2)
		on conflict (mapper_id) do update set show_earnings = excluded.show_earnings`, mapperID, show)
	return translate("mapper "+mapperID, err)
}

// Append implements crowd.Store.
func (s *Store) Append(ctx context.Context, entries []crowd.Entry) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return appendEntries(ctx, tx, entries) })
	return translate("ledger", err)
}

// VoteCounts implements crowd.Store.
func (s *Store) VoteCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `select mapper_id, count(*) from crowd_votes group by mapper_id`)
	if err != nil {
		return nil, translate("vote counts", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var m string
		var n int
		if err := rows.Scan(&m, &n); err != nil {
			return nil, translate("vote counts", err)
		}
		out[m] = n
	}
	return out, translate("vote counts", rows.Err())
}

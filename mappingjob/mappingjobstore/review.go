package mappingjobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/mappingjob"
)

// ItemByID returns project's item id, or an error wrapping
// mappingjob.ErrNotFound.
func (s *Store) ItemByID(ctx context.Context, project string, id int64) (mappingjob.Item, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 and id = $2`
	return scanItem(s.pool.QueryRow(ctx, q, project, id))
}

// Decide records d on project's item and its review_events row in one
// transaction, and returns the item as it now stands: decided (revision +1,
// DecidedBy and DecidedAt set), awaiting a second reviewer, or flagged
// (mappingjob.Apply). Errors: mappingjob.ErrNotFound for an unknown item,
// ErrConflict when d.Revision is set and not the item's (or the item is
// flagged), ErrSameReviewer, ErrInvalid when d does not fit the item.
func (s *Store) Decide(ctx context.Context, project string, d mappingjob.Decision) (mappingjob.Item, error) {
	var out mappingjob.Item
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 and `
		var row pgx.Row
		if d.ItemID != 0 {
			row = tx.QueryRow(ctx, q+`id = $2 for update`, project, d.ItemID)
		} else {
			row = tx.QueryRow(ctx, q+`source = $2 and source_code = $3 for update`, project, d.Source, d.Code)
		}
		cur, err := scanItem(row)
		if err != nil {
			return err
		}
		if d.Revision != 0 && cur.Revision != d.Revision {
			return fmt.Errorf("%w: item %d is at revision %d, not %d", mappingjob.ErrConflict, cur.ID, cur.Revision, d.Revision)
		}
		out, err = decide(ctx, tx, project, cur, d)
		return err
	})
	if err != nil {
		return mappingjob.Item{}, translateTx(err)
	}
	return out, nil
}

// updateItem writes a decided item; decideItem is it returning the item.
const updateItem = `
	update concept_mapping_items
	set review_status = $3, concept_id = nullif($4, 0), method = $5,
	    target_concept_name = nullif($6, ''), target_vocabulary_id = nullif($7, ''), target_domain_id = nullif($8, ''),
	    decided_by = case when $9 then nullif($10, '')::uuid else decided_by end,
	    decided_at = case when $9 then now() else decided_at end,
	    first_decision = $11::jsonb, second_decision = $12::jsonb, flagged = $13,
	    revision = revision + 1, updated_at = now()
	where project_id = $1 and id = $2`

// change is one decision ready to write: the arguments of updateItem and
// of insertEvent.
type change struct {
	item, event []any
}

// plan applies d to cur (locked by the caller's transaction) and prepares
// the item's update and its audit row; the after snapshot is the item at
// its next revision.
func plan(project string, cur mappingjob.Item, d mappingjob.Decision) (change, error) {
	next, action, err := mappingjob.Apply(cur, d, time.Now())
	if err != nil {
		return change{}, err
	}
	first, err := voteJSON(next.FirstDecision)
	if err != nil {
		return change{}, err
	}
	second, err := voteJSON(next.SecondDecision)
	if err != nil {
		return change{}, err
	}
	next.Revision = cur.Revision + 1
	after := mappingjob.SnapshotOf(next)
	after.Adjudication = d.Adjudication && cur.Flagged
	before, err := json.Marshal(mappingjob.SnapshotOf(cur))
	if err != nil {
		return change{}, fmt.Errorf("mappingjob: %w", err)
	}
	afterJSON, err := json.Marshal(after)
	if err != nil {
		return change{}, fmt.Errorf("mappingjob: %w", err)
	}
	return change{
		item: []any{project, cur.ID, string(next.Review), next.ConceptID, string(next.Method), next.TargetName, next.TargetVocabulary,
			next.TargetDomain, next.State() == mappingjob.StateFinal, next.DecidedBy, first, second, next.Flagged},
		event: []any{project, mappingjob.KindConcept, cur.ID, d.Actor, string(action), string(before), string(afterJSON), d.Comment},
	}, nil
}

// decide applies d to cur (locked by the caller's transaction), writes the
// item and its audit row, and returns the item as written.
func decide(ctx context.Context, tx pgx.Tx, project string, cur mappingjob.Item, d mappingjob.Decision) (mappingjob.Item, error) {
	ch, err := plan(project, cur, d)
	if err != nil {
		return mappingjob.Item{}, err
	}
	it, err := scanItem(tx.QueryRow(ctx, updateItem+` returning `+itemColumns, ch.item...))
	if err != nil {
		return mappingjob.Item{}, err
	}
	if _, err := tx.Exec(ctx, insertEvent, ch.event...); err != nil {
		return mappingjob.Item{}, err
	}
	return it, nil
}

func voteJSON(v *mappingjob.Vote) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mappingjob: %w", err)
	}
	s := string(b)
	return &s, nil
}

const insertEvent = `
	insert into review_events (project_id, item_kind, item_id, actor, action, before, after, comment)
	values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)`

// ApproveWhere approves, in one transaction, every open item of project
// that f selects (pending, not awaiting a second reviewer, not flagged,
// with a concept to approve), each as d would (mappingjob.Apply, so the
// second-reviewer rule holds) and each with its audit row. It returns how
// many it approved; d.ItemID, Source, Code and Revision are ignored.
func (s *Store) ApproveWhere(ctx context.Context, project string, f mappingjob.Filter, d mappingjob.Decision) (int, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items
		where project_id = $1 and review_status = 'pending' and first_decision is null and not flagged
		  and (concept_id is not null or jsonb_array_length(candidates) > 0)
		  and ($2 = '' or source = $2)
		  and ($3 = '' or coalesce(inference_method, method) = $3)
		  and ($4::float8 is null or confidence >= $4)
		  and ($5::float8 is null or confidence <= $5)
		  and ($6 = '' or coalesce(target_domain_id, candidates -> 0 ->> 'domain_id') = $6)
		  and ($7 = '' or lower(coalesce(target_vocabulary_id, candidates -> 0 ->> 'vocabulary_id')) = lower($7))
		  and ($8 = '' or source_code ilike $8 or source_description ilike $8)
		order by id
		for update`
	d.Review, d.ItemID, d.Revision = mappingjob.ReviewApproved, 0, 0
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		text := ""
		if f.Text != "" {
			text = likePattern(f.Text)
		}
		rows, err := tx.Query(ctx, q, project, f.Source, string(f.Method), f.MinConfidence, f.MaxConfidence, f.Domain, f.Vocabulary, text)
		if err != nil {
			return err
		}
		items, err := collectItems(rows)
		if err != nil {
			return err
		}
		// One round trip for all the updates and audit rows.
		b := &pgx.Batch{}
		for _, it := range items {
			ch, err := plan(project, it, d)
			if err != nil {
				return err
			}
			b.Queue(updateItem, ch.item...)
			b.Queue(insertEvent, ch.event...)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		n = len(items)
		return nil
	})
	if err != nil {
		return 0, translateTx(err)
	}
	return n, nil
}

// Comment adds comment by actor to the audit trail of project's item id,
// which must exist (else mappingjob.ErrNotFound).
func (s *Store) Comment(ctx context.Context, project string, id int64, actor, comment string) (mappingjob.Event, error) {
	const q = `
		insert into review_events (project_id, item_kind, item_id, actor, action, comment)
		select project_id, 'concept', id, $3, 'comment', $4 from concept_mapping_items where project_id = $1 and id = $2
		returning ` + eventColumns
	e, err := scanEvent(s.pool.QueryRow(ctx, q, project, id, actor, comment))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("%w: mapping item %d", mappingjob.ErrNotFound, id)
	}
	return e, translate(err)
}

const eventColumns = `id, item_kind, item_id, actor, action, before, after, comment, created_at`

func scanEvent(row pgx.Row) (mappingjob.Event, error) {
	var e mappingjob.Event
	var before, after []byte
	err := row.Scan(&e.ID, &e.ItemKind, &e.ItemID, &e.Actor, &e.Action, &before, &after, &e.Comment, &e.At)
	e.Before, e.After = before, after
	return e, err
}

func (s *Store) events(ctx context.Context, q string, args ...any) ([]mappingjob.Event, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []mappingjob.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// History returns the audit trail of project's item id of kind
// (mappingjob.KindConcept or KindSchema), oldest first; empty when the
// item has none.
func (s *Store) History(ctx context.Context, project, kind string, id int64) ([]mappingjob.Event, error) {
	q := `select ` + eventColumns + ` from review_events where project_id = $1 and item_kind = $2 and item_id = $3 order by id`
	return s.events(ctx, q, project, kind, id)
}

// Decisions returns project's concept decision events (approve, reject,
// override), oldest first: what the agreement report rates.
func (s *Store) Decisions(ctx context.Context, project string) ([]mappingjob.Event, error) {
	q := `select ` + eventColumns + ` from review_events
		where project_id = $1 and item_kind = 'concept' and action in ('approve', 'reject', 'override') order by id`
	return s.events(ctx, q, project)
}

// Queue returns project's items in review state st (awaiting a second
// reviewer or flagged) with an id above after, in id order, at most limit
// of them (0: all).
func (s *Store) Queue(ctx context.Context, project string, st mappingjob.ReviewState, after int64, limit int) ([]mappingjob.Item, error) {
	var cond string
	switch st {
	case mappingjob.StateFlagged:
		cond = `flagged`
	case mappingjob.StateAwaitingSecond:
		cond = `first_decision is not null and not flagged`
	default:
		return nil, fmt.Errorf("%w: review queue %q (want %s or %s)", mappingjob.ErrInvalid, st, mappingjob.StateAwaitingSecond, mappingjob.StateFlagged)
	}
	q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 and id > $2 and (` + cond + `) order by id
		limit nullif($3, 0)`
	rows, err := s.pool.Query(ctx, q, project, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	items, err := collectItems(rows)
	return items, translate(err)
}

// Accepted calls fn with each approved or overridden item of project that
// has a target, ordered by source, target vocabulary and code (so a FHIR
// ConceptMap gets one group per pair of systems), with the target's concept
// code read from the vocabulary and the deciding user's email; fn's error
// stops the walk and is returned.
func (s *Store) Accepted(ctx context.Context, project string, fn func(mappingjob.Accepted) error) error {
	const q = `
		select i.source, i.source_code, i.source_description, i.source_count, i.concept_id,
		       coalesce(c.concept_name, i.target_concept_name, ''), coalesce(c.vocabulary_id, i.target_vocabulary_id, ''),
		       coalesce(c.domain_id, i.target_domain_id, ''), coalesce(c.concept_code, ''),
		       i.review_status, coalesce(i.inference_method, i.method), i.confidence, coalesce(u.email, ''), i.decided_at
		from concept_mapping_items i
		left join concept c on c.concept_id = i.concept_id
		left join users u on u.id = i.decided_by
		where i.project_id = $1 and i.review_status in ('approved', 'overridden') and i.concept_id is not null
		order by i.source, 7, i.source_code`
	rows, err := s.pool.Query(ctx, q, project)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a mappingjob.Accepted
		var review, method string
		if err := rows.Scan(&a.Source, &a.Code, &a.Description, &a.SourceCount, &a.ConceptID, &a.TargetName, &a.TargetVocabulary,
			&a.TargetDomain, &a.ConceptCode, &review, &method, &a.Confidence, &a.Reviewer, &a.DecidedAt); err != nil {
			return translate(err)
		}
		a.Review, a.InferenceMethod = mappingjob.ReviewStatus(review), mappingjob.Method(method)
		if err := fn(a); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// translateTx keeps the domain errors a transaction body returns and
// translates the database's.
func translateTx(err error) error {
	for _, e := range []error{mappingjob.ErrNotFound, mappingjob.ErrConflict, mappingjob.ErrInvalid, mappingjob.ErrSameReviewer} {
		if errors.Is(err, e) {
			return err
		}
	}
	return translate(err)
}

// ResolveByCrowd records the crowd's consensus r on project's item and its
// review_events row (actor "crowd") in one transaction
// (mappingjob.ApplyCrowd): method crowd, the crowd's provenance, revision
// + 1. Errors: mappingjob.ErrNotFound for an unknown item, ErrConflict
// when a reviewer decided it first.
func (s *Store) ResolveByCrowd(ctx context.Context, project string, r mappingjob.CrowdResolution) (mappingjob.Item, error) {
	var out mappingjob.Item
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 and id = $2 for update`
		cur, err := scanItem(tx.QueryRow(ctx, q, project, r.ItemID))
		if err != nil {
			return err
		}
		next, action, err := mappingjob.ApplyCrowd(cur, r, time.Now())
		if err != nil {
			return err
		}
		prov, err := json.Marshal(next.Provenance)
		if err != nil {
			return fmt.Errorf("mappingjob: %w", err)
		}
		const update = `
			update concept_mapping_items
			set review_status = $3, concept_id = nullif($4, 0), method = $5,
			    target_concept_name = nullif($6, ''), target_vocabulary_id = nullif($7, ''), target_domain_id = nullif($8, ''),
			    decided_by = null, decided_at = now(), provenance = $9::jsonb, review_unset = false,
			    revision = revision + 1, updated_at = now()
			where project_id = $1 and id = $2
			returning ` + itemColumns
		out, err = scanItem(tx.QueryRow(ctx, update, project, cur.ID, string(next.Review), next.ConceptID, string(next.Method),
			next.TargetName, next.TargetVocabulary, next.TargetDomain, string(prov)))
		if err != nil {
			return err
		}
		before, err := json.Marshal(mappingjob.SnapshotOf(cur))
		if err != nil {
			return fmt.Errorf("mappingjob: %w", err)
		}
		after, err := json.Marshal(mappingjob.SnapshotOf(out))
		if err != nil {
			return fmt.Errorf("mappingjob: %w", err)
		}
		_, err = tx.Exec(ctx, insertEvent, project, mappingjob.KindConcept, cur.ID, mappingjob.CrowdActor, string(action), string(before), string(after), "")
		return err
	})
	if err != nil {
		return mappingjob.Item{}, translateTx(err)
	}
	return out, nil
}

// OpenItems lists project's undecided items (open under the review rule)
// whose confidence lies in [min, max], by id: the review band an
// organization sends to the crowd.
func (s *Store) OpenItems(ctx context.Context, project string, min, max float64) ([]mappingjob.Item, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items
		where project_id = $1 and review_status = 'pending' and first_decision is null and not flagged
		  and confidence >= $2 and confidence <= $3
		order by id`
	rows, err := s.pool.Query(ctx, q, project, min, max)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []mappingjob.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, translate(rows.Err())
}

// Package mappingjobstore is the PostgreSQL storage of mappingjob: the
// source_codes and concept_mapping_items tables.
package mappingjobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/mappingjob"
)

// Store implements mappingjob.Store on a pool. It is safe for concurrent
// use.
type Store struct {
	pool *pgxpool.Pool
}

var _ mappingjob.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// addBatch bounds the rows of one insert statement.
const addBatch = 5000

// AddSourceCodes adds codes to project in batches; a code already there
// gets the new description and filters. A project that does not exist gives
// mappingjob.ErrNotFound.
func (s *Store) AddSourceCodes(ctx context.Context, project string, codes []mappingjob.SourceCode) (int, error) {
	const q = `
		insert into source_codes (project_id, source, source_code, source_description, vocabulary_ids, domain_ids)
		select $1, s, c, d, coalesce(string_to_array(nullif(v, ''), ','), '{}'), coalesce(string_to_array(nullif(dm, ''), ','), '{}')
		from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) as t(s, c, d, v, dm)
		on conflict (project_id, source, source_code) do update
		set source_description = excluded.source_description,
		    vocabulary_ids = excluded.vocabulary_ids,
		    domain_ids = excluded.domain_ids,
		    updated_at = now()`
	n := 0
	for start := 0; start < len(codes); start += addBatch {
		batch := codes[start:min(start+addBatch, len(codes))]
		src := make([]string, len(batch))
		code := make([]string, len(batch))
		desc := make([]string, len(batch))
		vocs := make([]string, len(batch))
		doms := make([]string, len(batch))
		for i, c := range batch {
			if c.Code == "" {
				return n, fmt.Errorf("mappingjob: source code %d of %d is empty", start+i+1, len(codes))
			}
			src[i], code[i], desc[i] = c.Source, c.Code, c.Description
			vocs[i], doms[i] = joinList(c.Vocabularies), joinList(c.Domains)
		}
		tag, err := s.pool.Exec(ctx, q, project, src, code, desc, vocs, doms)
		if err != nil {
			return n, translate(err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

func joinList(l []string) string {
	out := ""
	for i, v := range l {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// CountSourceCodes counts project's codes, only those of source (an id)
// when it is not empty.
func (s *Store) CountSourceCodes(ctx context.Context, project, source string) (int64, error) {
	const q = `select count(*) from source_codes where project_id = $1 and ($2 = '' or source_id = nullif($2, '')::uuid)`
	var n int64
	err := s.pool.QueryRow(ctx, q, project, source).Scan(&n)
	return n, translate(err)
}

// SourceCodes returns up to limit of project's codes with ID > after, in ID
// order; only those of source (an id) when it is not empty.
func (s *Store) SourceCodes(ctx context.Context, project, source string, after int64, limit int) ([]mappingjob.SourceCode, error) {
	const q = `
		select id, coalesce(source_id::text, ''), source, source_code, source_description, vocabulary_ids, domain_ids,
		       source_count, source_column, specimen, unit, domain_hint, category
		from source_codes
		where project_id = $1 and ($2 = '' or source_id = nullif($2, '')::uuid) and id > $3
		order by id
		limit $4`
	rows, err := s.pool.Query(ctx, q, project, source, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []mappingjob.SourceCode
	for rows.Next() {
		var c mappingjob.SourceCode
		if err := rows.Scan(&c.ID, &c.SourceID, &c.Source, &c.Code, &c.Description, &c.Vocabularies, &c.Domains,
			&c.Count, &c.Column, &c.Specimen, &c.Unit, &c.DomainHint, &c.Category); err != nil {
			return nil, translate(err)
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// UpsertItems writes items for project in one statement, as pending
// proposals: an item with the source and code of a pending one replaces it
// and increments its revision; one a reviewer has decided, or one awaiting
// a second reviewer or flagged, is left as is.
// The target's name, vocabulary and domain are the rank-1 candidate's, and
// inference_method is the method proposed.
func (s *Store) UpsertItems(ctx context.Context, project string, items []mappingjob.Item) error {
	const q = `
		insert into concept_mapping_items
			(project_id, source, source_code, source_description, source_column, source_count, concept_id,
			 target_concept_name, target_vocabulary_id, target_domain_id, candidates, confidence, method, inference_method, error, provenance)
		select $1, s, c, d, col, cnt, nullif(cid, 0), nullif(tn, ''), nullif(tv, ''), nullif(td, ''), cand::jsonb, conf, st, st, nullif(e, ''), prov::jsonb
		from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int[], $8::text[], $9::text[], $10::text[],
		            $11::text[], $12::float8[], $13::text[], $14::text[], $15::text[])
			as t(s, c, d, col, cnt, cid, tn, tv, td, cand, conf, st, e, prov)
		on conflict (project_id, source, source_code) do update
		set source_description = excluded.source_description,
		    source_column = excluded.source_column,
		    source_count = excluded.source_count,
		    concept_id = excluded.concept_id,
		    target_concept_name = excluded.target_concept_name,
		    target_vocabulary_id = excluded.target_vocabulary_id,
		    target_domain_id = excluded.target_domain_id,
		    candidates = excluded.candidates,
		    confidence = excluded.confidence,
		    method = excluded.method,
		    inference_method = excluded.inference_method,
		    error = excluded.error,
		    provenance = excluded.provenance,
		    review_unset = false, -- an engine proposal is pending, not the SDK's "no decision"
		    revision = concept_mapping_items.revision + 1,
		    updated_at = now()
		where concept_mapping_items.review_status = 'pending'
		  and concept_mapping_items.first_decision is null and not concept_mapping_items.flagged`
	if len(items) == 0 {
		return nil
	}
	n := len(items)
	src, code, desc, col := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cnt := make([]int64, n)
	cid, conf := make([]int32, n), make([]float64, n)
	tn, tv, td := make([]string, n), make([]string, n), make([]string, n)
	cand, st, errs, prov := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, it := range items {
		src[i], code[i], desc[i], col[i], cnt[i] = it.Source, it.Code, it.Description, it.SourceColumn, it.SourceCount
		cid[i], conf[i], st[i], errs[i] = it.ConceptID, it.Confidence, string(it.Method), it.Error
		tn[i], tv[i], td[i] = it.TargetName, it.TargetVocabulary, it.TargetDomain
		if tn[i] == "" {
			for _, c := range it.Candidates {
				if c.ConceptID == it.ConceptID && it.ConceptID != 0 {
					tn[i], tv[i], td[i] = c.ConceptName, c.VocabularyID, c.DomainID
					break
				}
			}
		}
		cands := it.Candidates
		if cands == nil {
			cands = []mappingjob.Candidate{}
		}
		b, err := json.Marshal(cands)
		if err != nil {
			return fmt.Errorf("mappingjob: %w", err)
		}
		cand[i] = string(b)
		p := it.Provenance
		if p == nil {
			p = mappingjob.Provenance{}
		}
		b, err = json.Marshal(p)
		if err != nil {
			return fmt.Errorf("mappingjob: %w", err)
		}
		prov[i] = string(b)
	}
	_, err := s.pool.Exec(ctx, q, project, src, code, desc, col, cnt, cid, tn, tv, td, cand, conf, st, errs, prov)
	return translate(err)
}

// CountItems tallies project's items by method.
func (s *Store) CountItems(ctx context.Context, project string) (mappingjob.Counts, error) {
	const q = `
		select count(*),
		       count(*) filter (where method = 'auto'),
		       count(*) filter (where method = 'review'),
		       count(*) filter (where method = 'manual'),
		       count(*) filter (where error is not null)
		from concept_mapping_items where project_id = $1`
	var c mappingjob.Counts
	err := s.pool.QueryRow(ctx, q, project).Scan(&c.Total, &c.Auto, &c.Review, &c.Manual, &c.Failed)
	return c, translate(err)
}

const itemColumns = `id, source, source_code, source_description, source_column, source_count, coalesce(concept_id, 0),
	coalesce(target_concept_name, ''), coalesce(target_vocabulary_id, ''), coalesce(target_domain_id, ''),
	candidates, confidence, method, coalesce(inference_method, ''),
	coalesce(error, ''), provenance, case when review_unset and review_status = 'pending' then '' else review_status end,
	coalesce(decided_by::text, ''), decided_at, revision,
	first_decision, second_decision, flagged`

// collectItems scans every row of rows (itemColumns) and closes them.
func collectItems(rows pgx.Rows) ([]mappingjob.Item, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (mappingjob.Item, error) { return scanItem(row) })
}

func scanItem(row pgx.Row) (mappingjob.Item, error) {
	var it mappingjob.Item
	var cand, prov []byte
	var method, inferred, review string
	var first, second []byte
	if err := row.Scan(&it.ID, &it.Source, &it.Code, &it.Description, &it.SourceColumn, &it.SourceCount, &it.ConceptID,
		&it.TargetName, &it.TargetVocabulary, &it.TargetDomain, &cand, &it.Confidence, &method, &inferred, &it.Error, &prov,
		&review, &it.DecidedBy, &it.DecidedAt, &it.Revision, &first, &second, &it.Flagged); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return it, fmt.Errorf("%w: mapping item", mappingjob.ErrNotFound)
		}
		return it, translate(err)
	}
	it.Method, it.InferenceMethod, it.Review = mappingjob.Method(method), mappingjob.Method(inferred), mappingjob.ReviewStatus(review)
	if err := json.Unmarshal(cand, &it.Candidates); err != nil {
		return it, fmt.Errorf("mappingjob: candidates of %s: %w", it.Code, err)
	}
	if err := json.Unmarshal(prov, &it.Provenance); err != nil {
		return it, fmt.Errorf("mappingjob: provenance of %s: %w", it.Code, err)
	}
	for _, v := range []struct {
		raw []byte
		to  **mappingjob.Vote
	}{{first, &it.FirstDecision}, {second, &it.SecondDecision}} {
		if len(v.raw) == 0 {
			continue
		}
		*v.to = new(mappingjob.Vote)
		if err := json.Unmarshal(v.raw, *v.to); err != nil {
			return it, fmt.Errorf("mappingjob: review votes of %s: %w", it.Code, err)
		}
	}
	return it, nil
}

// Items returns project's items ordered by source and code (for tests and
// exports).
func (s *Store) Items(ctx context.Context, project string) ([]mappingjob.Item, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 order by source, source_code`
	rows, err := s.pool.Query(ctx, q, project)
	if err != nil {
		return nil, translate(err)
	}
	items, err := collectItems(rows)
	return items, translate(err)
}

// Item returns project's item for source and code.
func (s *Store) Item(ctx context.Context, project, source, code string) (mappingjob.Item, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items where project_id = $1 and source = $2 and source_code = $3`
	return scanItem(s.pool.QueryRow(ctx, q, project, source, code))
}

// translate maps PostgreSQL errors to mappingjob's: an unknown project
// (foreign key) or a malformed project id is ErrNotFound.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503", "22P02": // foreign_key_violation, invalid_text_representation (uuid)
			return fmt.Errorf("%w: project: %s", mappingjob.ErrNotFound, pe.Message)
		case "23505": // unique_violation: a concurrent writer created the item first
			return fmt.Errorf("%w: %w", mappingjob.ErrConflict, pe) // pe kept: callers name the constraint (sourceError)
		}
	}
	return fmt.Errorf("mappingjob: %w", err)
}

package mappingjobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/mappingjob"
)

var (
	_ mappingjob.ItemLister = (*Store)(nil)
	_ mappingjob.Syncer     = (*Store)(nil)
)

// Recall reads the memory of reviewed decisions: for each key, the most
// recently decided approved or overridden item of the scope's organization
// (across its projects) with the same normalised code and description
// (mapping_memory_key, migration 0011, whose index serves the lookup). The
// concept's class and standard flag come from the vocabulary, or from the
// item's candidates when the vocabulary no longer has it.
func (s *Store) Recall(ctx context.Context, scope mappingjob.MemoryScope, keys []mappingjob.MemoryKey) ([]*mappingjob.Recollection, error) {
	// One index probe per key (lateral, newest decision first), so the
	// cost follows the keys asked for, not the organization's size.
	const q = `
		with org as (
			select coalesce(nullif($1, '')::uuid, (select organization_id from projects where id = nullif($2, '')::uuid)) as id
		)
		select k.i, m.id, p.id::text, p.name, m.concept_id,
		       coalesce(c.concept_name, m.target_concept_name, ''), coalesce(c.vocabulary_id, m.target_vocabulary_id, ''),
		       coalesce(c.domain_id, m.target_domain_id, ''), coalesce(c.concept_class_id, ''), coalesce(c.standard_concept, ''),
		       c.concept_id is not null, m.candidates, m.review_status, coalesce(m.decided_by::text, ''), coalesce(u.email, ''), m.decided_at
		from unnest($3::text[], $4::text[]) with ordinality as k(code, descr, i)
		cross join org
		cross join lateral (
			select m.*
			from concept_mapping_items m
			join projects mp on mp.id = m.project_id
			where mapping_memory_key(m.source_code) = mapping_memory_key(k.code)
			  and mapping_memory_key(m.source_description) = mapping_memory_key(k.descr)
			  and m.review_status in ('approved', 'overridden') and m.concept_id is not null
			  and mp.organization_id = org.id
			order by m.decided_at desc nulls last, m.id desc
			limit 1
		) m
		join projects p on p.id = m.project_id
		left join concept c on c.concept_id = m.concept_id
		left join users u on u.id = m.decided_by`
	out := make([]*mappingjob.Recollection, len(keys))
	if len(keys) == 0 || (scope.OrganizationID == "" && scope.ProjectID == "") {
		return out, nil
	}
	codes, descs := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		codes[i], descs[i] = k.Code, k.Description
	}
	rows, err := s.pool.Query(ctx, q, scope.OrganizationID, scope.ProjectID, codes, descs)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var inVocabulary bool
		var cands []byte
		var review string
		r := &mappingjob.Recollection{}
		c := &r.Candidate
		if err := rows.Scan(&i, &r.ItemID, &r.ProjectID, &r.ProjectName, &c.ConceptID, &c.ConceptName, &c.VocabularyID, &c.DomainID,
			&c.ConceptClassID, &c.StandardConcept, &inVocabulary, &cands, &review, &r.DecidedBy, &r.Reviewer, &r.DecidedAt); err != nil {
			return nil, translate(err)
		}
		r.Review = mappingjob.ReviewStatus(review)
		if r.Reviewer == "" {
			r.Reviewer = r.DecidedBy
		}
		if !inVocabulary {
			var kept []mappingjob.Candidate
			if json.Unmarshal(cands, &kept) == nil {
				for _, k := range kept {
					if k.ConceptID == c.ConceptID {
						c.ConceptClassID, c.StandardConcept = k.ConceptClassID, k.StandardConcept
						break
					}
				}
			}
		}
		out[i-1] = r
	}
	return out, translate(rows.Err())
}

// likePattern is q as an ILIKE pattern matching it anywhere, its wildcard
// characters taken literally.
func likePattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
}

// ListItems returns up to limit of project's items matching f with
// ID > after, in ID order; concept_mapping_items_project_id_idx (migration
// 0011) serves the keyset.
func (s *Store) ListItems(ctx context.Context, project string, f mappingjob.ItemFilter, after int64, limit int) ([]mappingjob.Item, error) {
	q := `select ` + itemColumns + ` from concept_mapping_items
		where project_id = $1 and id > $2
		  and ($3::text[] is null or review_status = any($3))
		  and ($4::text[] is null or method = any($4))
		  and ($5::float8 is null or confidence >= $5)
		  and ($6::float8 is null or confidence <= $6)
		  and ($7 = '' or lower(target_domain_id) = lower($7))
		  and ($8 = '' or source_code ilike $8 or source_description ilike $8)
		  and ($10 = '' or lower(target_vocabulary_id) = lower($10))
		order by id
		limit $9`
	var reviews, methods []string
	for _, r := range f.Reviews {
		if r == mappingjob.ReviewUnset {
			r = mappingjob.ReviewPending
		}
		reviews = append(reviews, string(r))
	}
	for _, m := range f.Methods {
		methods = append(methods, string(m))
	}
	text := ""
	if f.Text != "" {
		text = likePattern(f.Text)
	}
	rows, err := s.pool.Query(ctx, q, project, after, reviews, methods, f.MinConfidence, f.MaxConfidence, f.Domain, text, limit, f.Vocabulary)
	if err != nil {
		return nil, translate(err)
	}
	items, err := collectItems(rows)
	return items, translate(err)
}

// sdkFields is an item as the SDK's ConceptMappingItem has it: the fields
// a push writes, compared to tell an unchanged item, and the before and
// after of its review_events row.
type sdkFields struct {
	SourceCode         string                 `json:"source_code"`
	SourceDescription  *string                `json:"source_description"`
	SourceColumn       *string                `json:"source_column"`
	SourceCount        int64                  `json:"source_count"`
	TargetConceptID    *int32                 `json:"target_concept_id"`
	TargetConceptName  *string                `json:"target_concept_name"`
	TargetVocabularyID *string                `json:"target_vocabulary_id"`
	TargetDomainID     *string                `json:"target_domain_id"`
	Confidence         float64                `json:"confidence"`
	Method             string                 `json:"method"`
	InferenceMethod    *string                `json:"inference_method"`
	ReviewDecision     *string                `json:"review_decision"`
	Candidates         []mappingjob.Candidate `json:"candidates"`
	Provenance         mappingjob.Provenance  `json:"provenance"`
	Revision           int                    `json:"revision,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func sdkFieldsOf(it mappingjob.Item, revision int) sdkFields {
	f := sdkFields{
		SourceCode: it.Code, SourceDescription: optional(it.Description), SourceColumn: optional(it.SourceColumn),
		SourceCount: it.SourceCount, TargetConceptName: optional(it.TargetName), TargetVocabularyID: optional(it.TargetVocabulary),
		TargetDomainID: optional(it.TargetDomain), Confidence: it.Confidence, Method: string(it.Method),
		InferenceMethod: optional(string(it.InferenceMethod)), ReviewDecision: optional(string(it.Review)),
		Candidates: it.Candidates, Provenance: it.Provenance, Revision: revision,
	}
	if it.ConceptID != 0 {
		id := it.ConceptID
		f.TargetConceptID = &id
	}
	if f.Candidates == nil {
		f.Candidates = []mappingjob.Candidate{}
	}
	if f.Provenance == nil {
		f.Provenance = mappingjob.Provenance{}
	}
	return f
}

// sameForSDK reports whether a and b carry the same SDK fields, compared
// as JSON values (so stored JSONB and a pushed body compare equal).
func sameForSDK(a, b mappingjob.Item) bool {
	canon := func(it mappingjob.Item) any {
		raw, _ := json.Marshal(sdkFieldsOf(it, 0))
		var v any
		_ = json.Unmarshal(raw, &v)
		return v
	}
	return reflect.DeepEqual(canon(a), canon(b))
}

func identity(column, code string) string { return column + "\x00" + code }

// SyncItems applies an SDK push in one transaction (see mappingjob.Syncer).
// The items it may change are locked first, every revision is checked
// before anything is written, and the writes go in one pipelined batch,
// each with its review_events row.
func (s *Store) SyncItems(ctx context.Context, project string, by mappingjob.SyncActor, items []mappingjob.Item) (mappingjob.SyncResult, error) {
	var res mappingjob.SyncResult
	if len(items) == 0 {
		return res, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, translate(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a committed tx makes this a no-op

	cols, codes := make([]string, len(items)), make([]string, len(items))
	for i, it := range items {
		cols[i], codes[i] = it.SourceColumn, it.Code
	}
	lock := `select ` + itemColumns + ` from concept_mapping_items
		where project_id = $1 and (source_column, source_code) in (select * from unnest($2::text[], $3::text[]))
		order by id
		for update`
	rows, err := tx.Query(ctx, lock, project, cols, codes)
	if err != nil {
		return res, translate(err)
	}
	stored := map[string]mappingjob.Item{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			rows.Close()
			return res, err
		}
		// Several sources may share a column and code: the oldest item
		// is the one the SDK's identity names.
		if _, ok := stored[identity(it.SourceColumn, it.Code)]; !ok {
			stored[identity(it.SourceColumn, it.Code)] = it
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, translate(err)
	}
	for i, it := range items {
		cur, ok := stored[identity(it.SourceColumn, it.Code)]
		if ok && it.Revision != 0 && it.Revision != cur.Revision {
			return res, fmt.Errorf("%w: items[%d] (source_column %q, source_code %q) has revision %d on the server, not %d: pull it again",
				mappingjob.ErrConflict, i, it.SourceColumn, it.Code, cur.Revision, it.Revision)
		}
	}

	const insert = `
		with ins as (
			insert into concept_mapping_items
				(project_id, source, source_code, source_description, source_column, source_count, concept_id,
				 target_concept_name, target_vocabulary_id, target_domain_id, candidates, confidence, method, inference_method,
				 provenance, review_status, review_unset, decided_by, decided_at)
			values ($1, $2, $3, $4, $5, $6, nullif($7, 0), nullif($8, ''), nullif($9, ''), nullif($10, ''), $11::jsonb, $12, $13,
			        nullif($14, ''), $15::jsonb, coalesce(nullif($16, ''), 'pending'), $16 = '', nullif($17, '')::uuid, $18)
			returning id)
		insert into review_events (project_id, item_kind, item_id, actor, action, before, after)
		select $1, 'concept', id, $19, 'sync', null, $20::jsonb from ins`
	const update = `
		with upd as (
			update concept_mapping_items
			set source_description = $3, source_count = $4, concept_id = nullif($5, 0), target_concept_name = nullif($6, ''),
			    target_vocabulary_id = nullif($7, ''), target_domain_id = nullif($8, ''), candidates = $9::jsonb, confidence = $10,
			    method = $11, inference_method = nullif($12, ''), provenance = $13::jsonb,
			    review_status = coalesce(nullif($14, ''), 'pending'), review_unset = $14 = '',
			    decided_by = nullif($15, '')::uuid, decided_at = $16, revision = revision + 1, updated_at = now()
			where project_id = $1 and id = $2
			returning id)
		insert into review_events (project_id, item_kind, item_id, actor, action, before, after)
		select $1, 'concept', id, $17, 'sync', $18::jsonb, $19::jsonb from upd`
	now := time.Now().UTC()
	batch := &pgx.Batch{}
	seen := map[string]int{}
	for i, it := range items {
		key := identity(it.SourceColumn, it.Code)
		if j, dup := seen[key]; dup {
			return res, fmt.Errorf("%w: items[%d] repeats the source_column and source_code of items[%d]", mappingjob.ErrInvalid, i, j)
		}
		seen[key] = i
		cands, err := json.Marshal(nonNilCandidates(it.Candidates))
		if err != nil {
			return res, fmt.Errorf("mappingjob: items[%d] candidates: %w", i, err)
		}
		prov, err := json.Marshal(nonNilProvenance(it.Provenance))
		if err != nil {
			return res, fmt.Errorf("mappingjob: items[%d] provenance: %w", i, err)
		}
		cur, ok := stored[key]
		if !ok {
			decidedBy, decidedAt := decisionOf(it.Review, by, now)
			after, _ := json.Marshal(sdkFieldsOf(it, 1))
			batch.Queue(insert, project, mappingjob.SyncSource(it.SourceColumn), it.Code, it.Description, it.SourceColumn, it.SourceCount,
				it.ConceptID, it.TargetName, it.TargetVocabulary, it.TargetDomain, string(cands), it.Confidence, string(it.Method),
				string(it.InferenceMethod), string(prov), string(it.Review), decidedBy, decidedAt, by.Actor, string(after))
			res.Created++
			continue
		}
		if sameForSDK(cur, it) {
			res.Unchanged++
			continue
		}
		decidedBy, decidedAt := cur.DecidedBy, cur.DecidedAt
		if it.Review != cur.Review {
			decidedBy, decidedAt = decisionOf(it.Review, by, now)
		}
		before, _ := json.Marshal(sdkFieldsOf(cur, cur.Revision))
		after, _ := json.Marshal(sdkFieldsOf(it, cur.Revision+1))
		batch.Queue(update, project, cur.ID, it.Description, it.SourceCount, it.ConceptID, it.TargetName, it.TargetVocabulary,
			it.TargetDomain, string(cands), it.Confidence, string(it.Method), string(it.InferenceMethod), string(prov),
			string(it.Review), decidedBy, decidedAt, by.Actor, string(before), string(after))
		res.Updated++
	}
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return mappingjob.SyncResult{}, translate(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return mappingjob.SyncResult{}, translate(err)
	}
	return res, nil
}

// decisionOf is who decided and when for an item a push gives decision
// review: the pusher, now, for a decision; nobody for pending or unset.
func decisionOf(review mappingjob.ReviewStatus, by mappingjob.SyncActor, now time.Time) (string, *time.Time) {
	switch review {
	case mappingjob.ReviewApproved, mappingjob.ReviewOverridden, mappingjob.ReviewRejected:
		return by.UserID, &now
	}
	return "", nil
}

func nonNilCandidates(c []mappingjob.Candidate) []mappingjob.Candidate {
	if c == nil {
		return []mappingjob.Candidate{}
	}
	return c
}

func nonNilProvenance(p mappingjob.Provenance) mappingjob.Provenance {
	if p == nil {
		return mappingjob.Provenance{}
	}
	return p
}

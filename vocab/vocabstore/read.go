package vocabstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/vocab"
)

var _ vocab.Reader = (*Store)(nil)

// readLock takes, in one statement and in the order an import's swap
// takes them, the locks every read of the vocabulary needs. Holding them
// from the start of the transaction gives a consistent view (the swap
// waits for the read to end) and rules out a deadlock with the swap, which
// a read locking the tables one query at a time in another order could
// run into.
const readLock = `lock table relationship, concept, concept_synonym, concept_relationship in access share mode`

// read runs fn in a read-only repeatable-read transaction holding readLock.
func (s *Store) read(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, readLock); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("vocabstore: %w", err)
	}
	return nil
}

// Concept implements vocab.Reader.
func (s *Store) Concept(ctx context.Context, id int32) (vocab.ConceptDetail, error) {
	var d vocab.ConceptDetail
	err := s.read(ctx, func(tx pgx.Tx) error {
		if err := conceptRow(ctx, tx, id, &d.Concept); err != nil {
			return err
		}
		var err error
		if d.Synonyms, err = synonyms(ctx, tx, id); err != nil {
			return err
		}
		d.Relationships, d.RelationshipsTotal, err = relations(ctx, tx, id, vocab.MaxRelationships)
		return err
	})
	if err != nil {
		return vocab.ConceptDetail{}, err
	}
	return d, nil
}

func conceptRow(ctx context.Context, tx pgx.Tx, id int32, c *vocab.Concept) error {
	const q = `
select concept_id, concept_name, domain_id, vocabulary_id, concept_class_id,
	coalesce(standard_concept, ''), concept_code, valid_start_date, valid_end_date,
	coalesce(invalid_reason, '')
from concept
where concept_id = $1`
	err := tx.QueryRow(ctx, q, id).Scan(&c.ID, &c.Name, &c.DomainID, &c.VocabularyID, &c.ClassID,
		&c.StandardConcept, &c.Code, &c.ValidStart, &c.ValidEnd, &c.InvalidReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return vocab.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("vocabstore: concept %d: %w", id, err)
	}
	return nil
}

func synonyms(ctx context.Context, tx pgx.Tx, id int32) ([]vocab.Synonym, error) {
	const q = `
select concept_synonym_name, language_concept_id
from concept_synonym
where concept_id = $1
order by language_concept_id, concept_synonym_name`
	rows, err := tx.Query(ctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("vocabstore: synonyms of %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (vocab.Synonym, error) {
		var s vocab.Synonym
		err := r.Scan(&s.Name, &s.LanguageConceptID)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("vocabstore: synonyms of %d: %w", id, err)
	}
	return out, nil
}

// relations returns the first limit relationships of concept id in the
// order vocab.ConceptDetail documents, and how many there are in all.
//
// Incoming rows are read through the relationship table's
// reverse_relationship_id. When the release also lists the reverse row
// (this concept → other, labelled with that reverse id), the incoming one
// would say the same thing twice and is left out; so is the incoming side
// of a row relating the concept to itself, already listed as outgoing.
func relations(ctx context.Context, tx pgx.Tx, id int32, limit int) ([]vocab.Relation, int, error) {
	const q = `
with rel as (
	select 0 as side, r.relationship_id, false as reversed, r.concept_id_2 as other_id,
		r.valid_start_date, r.valid_end_date, r.invalid_reason
	from concept_relationship r
	where r.concept_id_1 = $1
	union all
	select 1, coalesce(nullif(t.reverse_relationship_id, ''), r.relationship_id),
		coalesce(t.reverse_relationship_id, '') <> '', r.concept_id_1,
		r.valid_start_date, r.valid_end_date, r.invalid_reason
	from concept_relationship r
	left join relationship t on t.relationship_id = r.relationship_id
	where r.concept_id_2 = $1 and r.concept_id_1 <> $1
		and not exists (
			select 1
			from concept_relationship o
			where o.concept_id_1 = $1 and o.concept_id_2 = r.concept_id_1
				and o.relationship_id = t.reverse_relationship_id)
)
select rel.side, rel.relationship_id, rel.reversed, rel.other_id,
	rel.valid_start_date, rel.valid_end_date, coalesce(rel.invalid_reason, ''),
	c.concept_id is not null, coalesce(c.concept_name, ''), coalesce(c.domain_id, ''),
	coalesce(c.vocabulary_id, ''), coalesce(c.concept_class_id, ''),
	coalesce(c.standard_concept, ''), coalesce(c.invalid_reason, ''),
	count(*) over ()
from rel
left join concept c on c.concept_id = rel.other_id
order by rel.side, rel.invalid_reason is not null, rel.relationship_id, rel.other_id
limit $2`
	rows, err := tx.Query(ctx, q, id, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("vocabstore: relationships of %d: %w", id, err)
	}
	var total int64
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (vocab.Relation, error) {
		var (
			rel  vocab.Relation
			side int32
			o    = &rel.Other
		)
		err := r.Scan(&side, &rel.RelationshipID, &rel.Reversed, &o.ID,
			&rel.ValidStart, &rel.ValidEnd, &rel.InvalidReason,
			&rel.OtherKnown, &o.Name, &o.DomainID, &o.VocabularyID, &o.ClassID, &o.StandardConcept, &o.InvalidReason,
			&total)
		rel.Direction = vocab.Outgoing
		if side == 1 {
			rel.Direction = vocab.Incoming
		}
		return rel, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("vocabstore: relationships of %d: %w", id, err)
	}
	return out, int(total), nil
}

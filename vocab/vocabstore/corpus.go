package vocabstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/search"
)

// LoadCorpus implements vocab.Reader. It streams the concept,
// concept_synonym and valid "Maps to" and drug-structure
// (search.DrugRelationships) relationship rows of one snapshot of the live
// vocabulary into a search.CorpusBuilder, holding no more than the
// builder keeps. An import that wants to swap in a new release waits for
// it to finish.
//
// The rows come in no particular order: search.CorpusBuilder.Build orders
// everything itself, which is what makes the corpus equal to the one
// athena.Release.LoadCorpus reads from the release's files.
func (s *Store) LoadCorpus(ctx context.Context) (*search.Corpus, error) {
	b := search.NewCorpusBuilder()
	err := s.read(ctx, func(tx pgx.Tx) error {
		if err := loadConcepts(ctx, tx, b); err != nil {
			return err
		}
		if err := loadSynonyms(ctx, tx, b); err != nil {
			return err
		}
		return loadRelationships(ctx, tx, b)
	})
	if err != nil {
		return nil, err
	}
	return b.Build(), nil
}

func loadConcepts(ctx context.Context, tx pgx.Tx, b *search.CorpusBuilder) error {
	const q = `
select concept_id, concept_name, domain_id, vocabulary_id, concept_class_id,
	coalesce(standard_concept, ''), concept_code, coalesce(invalid_reason, '')
from concept`
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: concepts: %w", err)
	}
	var c search.Concept
	_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.Name, &c.Domain, &c.Vocabulary, &c.Class, &c.Standard, &c.Code, &c.InvalidReason},
		func() error { return b.AddConcept(c) })
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: concepts: %w", err)
	}
	return nil
}

func loadSynonyms(ctx context.Context, tx pgx.Tx, b *search.CorpusBuilder) error {
	const q = `select concept_id, concept_synonym_name from concept_synonym`
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: synonyms: %w", err)
	}
	var (
		id   int32
		name string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { b.AddSynonym(id, name); return nil })
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: synonyms: %w", err)
	}
	return nil
}

// loadRelationships reads only the rows search.CorpusBuilder.AddRelationship
// keeps: valid "Maps to" and drug-structure rows between two different
// concepts.
func loadRelationships(ctx context.Context, tx pgx.Tx, b *search.CorpusBuilder) error {
	const q = `
select concept_id_1, concept_id_2, relationship_id
from concept_relationship
where relationship_id = any($1) and invalid_reason is null and concept_id_1 <> concept_id_2`
	rows, err := tx.Query(ctx, q, append([]string{"Maps to"}, search.DrugRelationships...))
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: relationships: %w", err)
	}
	var (
		id1, id2 int32
		rel      string
	)
	_, err = pgx.ForEachRow(rows, []any{&id1, &id2, &rel}, func() error {
		b.AddRelationship(id1, id2, rel, "")
		return nil
	})
	if err != nil {
		return fmt.Errorf("vocabstore: load corpus: relationships: %w", err)
	}
	return nil
}

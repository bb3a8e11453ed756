package athena

import (
	"fmt"

	"github.com/portiere/portiere/search"
)

// LoadCorpus reads what search needs from the release — concepts, their
// synonyms, "Maps to" and RxNorm's drug relationships — into a
// search.Corpus.
func (r *Release) LoadCorpus() (*search.Corpus, error) {
	b := search.NewCorpusBuilder()
	err := r.Concepts(func(c Concept) error {
		return b.AddConcept(search.Concept{
			ID: c.ID, Name: c.Name, Domain: c.DomainID, Vocabulary: c.VocabularyID, Class: c.ClassID,
			Standard: c.StandardConcept, Code: c.Code, InvalidReason: c.InvalidReason,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("athena: load corpus: %w", err)
	}
	if err := r.Synonyms(func(s Synonym) error { b.AddSynonym(s.ConceptID, s.Name); return nil }); err != nil {
		return nil, fmt.Errorf("athena: load corpus: %w", err)
	}
	err = r.Relationships(func(rel Relationship) error {
		b.AddRelationship(rel.ConceptID1, rel.ConceptID2, rel.RelationshipID, rel.InvalidReason)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("athena: load corpus: %w", err)
	}
	return b.Build(), nil
}

package vocab

import (
	"context"
	"time"

	"github.com/portiere/portiere/search"
)

// MaxRelationships caps ConceptDetail.Relationships. Hierarchy roots have
// tens of thousands of "Subsumes" rows; a page showing a concept needs the
// first few hundred, and RelationshipsTotal says how many there are.
const MaxRelationships = 500

// Reader reads the live vocabulary. Implementations are safe for
// concurrent use.
type Reader interface {
	// Concept returns concept id with its synonyms and relationships, or
	// ErrNotFound when the concept table has no such concept.
	Concept(ctx context.Context, id int32) (ConceptDetail, error)
	// LoadCorpus reads what search needs (concepts, synonyms, valid "Maps
	// to" relationships) into a search.Corpus. For the same release it
	// gives the same corpus, Fingerprint included, as
	// athena.Release.LoadCorpus on the release's files.
	LoadCorpus(ctx context.Context) (*search.Corpus, error)
}

// Concept is one row of the concept table.
type Concept struct {
	ID              int32
	Name            string
	DomainID        string
	VocabularyID    string
	ClassID         string
	StandardConcept string // "S", "C", or "" for a non-standard concept (NULL)
	Code            string
	ValidStart      time.Time
	ValidEnd        time.Time
	InvalidReason   string // "D", "U", or "" while the concept is valid (NULL)
}

// Synonym is one concept_synonym row of a concept.
type Synonym struct {
	Name              string
	LanguageConceptID int32
}

// Direction says which end of a concept_relationship row a concept is.
type Direction string

// The two ends of a relationship.
const (
	// Outgoing rows have the concept as concept_id_1.
	Outgoing Direction = "outgoing"
	// Incoming rows have the concept as concept_id_2.
	Incoming Direction = "incoming"
)

// Relation is one concept_relationship row seen from one of its concepts.
type Relation struct {
	// RelationshipID is how the row reads from this concept: the row's
	// relationship_id for an outgoing row; for an incoming row the
	// relationship's reverse_relationship_id when the relationship table
	// has one (Reversed is then set), else the row's own relationship_id.
	RelationshipID string
	Direction      Direction
	// Reversed means RelationshipID is the reverse of the row's
	// relationship_id, so it reads "this concept RelationshipID Other"
	// like an outgoing row. An incoming row that is not Reversed reads
	// "Other RelationshipID this concept".
	Reversed bool
	// Other is the concept at the other end. A release that is a subset
	// may name concepts its concept table lacks: Other then carries only
	// the ID and OtherKnown is false.
	Other         RelatedConcept
	OtherKnown    bool
	ValidStart    time.Time
	ValidEnd      time.Time
	InvalidReason string // "" while the row is valid (NULL)
}

// RelatedConcept is the part of a concept a relationship list shows.
type RelatedConcept struct {
	ID              int32
	Name            string
	DomainID        string
	VocabularyID    string
	ClassID         string
	StandardConcept string // "S", "C" or ""
	InvalidReason   string // "" while valid
}

// ConceptDetail is a concept with its synonyms and relationships.
type ConceptDetail struct {
	Concept
	// Synonyms are ordered by language_concept_id, then name.
	Synonyms []Synonym
	// Relationships lists the concept's relationships in both directions,
	// at most MaxRelationships of them: outgoing rows first, valid rows
	// before invalid ones, then by RelationshipID and the other concept's
	// id. An incoming row whose reverse the release also lists as an
	// outgoing row (Athena ships both directions) is left out, as is the
	// incoming side of a row relating the concept to itself.
	Relationships []Relation
	// RelationshipsTotal counts the relationships before the cap.
	RelationshipsTotal int
}

// RelationshipsTruncated reports whether Relationships holds fewer rows
// than the concept has.
func (d ConceptDetail) RelationshipsTruncated() bool {
	return d.RelationshipsTotal > len(d.Relationships)
}

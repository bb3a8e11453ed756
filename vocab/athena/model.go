package athena

import (
	"strings"
	"time"
)

// Concept is one row of CONCEPT.csv.
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

// Synonym is one row of CONCEPT_SYNONYM.csv.
type Synonym struct {
	ConceptID         int32
	Name              string
	LanguageConceptID int32
}

// Relationship is one row of CONCEPT_RELATIONSHIP.csv.
type Relationship struct {
	ConceptID1     int32
	ConceptID2     int32
	RelationshipID string
	ValidStart     time.Time
	ValidEnd       time.Time
	InvalidReason  string // "" while valid (NULL)
}

// Ancestor is one row of CONCEPT_ANCESTOR.csv.
type Ancestor struct {
	AncestorID   int32
	DescendantID int32
	MinLevels    int32
	MaxLevels    int32
}

// Vocabulary is one row of VOCABULARY.csv.
type Vocabulary struct {
	ID        string
	Name      string
	Reference string // "" when absent (NULL)
	Version   string // "" when absent (NULL)
	ConceptID int32
}

// Domain is one row of DOMAIN.csv.
type Domain struct {
	ID        string
	Name      string
	ConceptID int32
}

// ConceptClass is one row of CONCEPT_CLASS.csv.
type ConceptClass struct {
	ID        string
	Name      string
	ConceptID int32
}

// RelationshipType is one row of RELATIONSHIP.csv: the definition of a
// relationship_id used in CONCEPT_RELATIONSHIP.csv.
type RelationshipType struct {
	ID              string
	Name            string
	IsHierarchical  string // "0" or "1"
	DefinesAncestry string // "0" or "1"
	ReverseID       string
	ConceptID       int32
}

// Table names one file of a release by its OMOP CDM table name.
type Table string

// The tables of a release.
const (
	TableConcept             Table = "concept"
	TableConceptSynonym      Table = "concept_synonym"
	TableConceptRelationship Table = "concept_relationship"
	TableConceptAncestor     Table = "concept_ancestor"
	TableVocabulary          Table = "vocabulary"
	TableDomain              Table = "domain"
	TableConceptClass        Table = "concept_class"
	TableRelationship        Table = "relationship"
)

// Tables returns every table of a release, small reference tables first.
func Tables() []Table {
	return []Table{
		TableVocabulary, TableDomain, TableConceptClass, TableRelationship,
		TableConcept, TableConceptSynonym, TableConceptRelationship, TableConceptAncestor,
	}
}

// FileName is the file's name as Athena writes it, e.g. "CONCEPT.csv".
func (t Table) FileName() string { return strings.ToUpper(string(t)) + ".csv" }

package elastic

import (
	"iter"
	"strconv"

	"github.com/portiere/portiere/search"
)

// Document is one indexed text: a concept's name or one of its synonyms,
// with the concept's fields copied in. Its JSON form is the index's
// _source (see the package documentation); ID is the _id.
type Document struct {
	ID              string   `json:"-"`
	ConceptID       int32    `json:"concept_id"`
	Text            string   `json:"text"`
	Field           string   `json:"field"` // "name" or "synonym"
	ConceptName     string   `json:"concept_name"`
	ConceptCode     string   `json:"concept_code,omitempty"`
	VocabularyID    string   `json:"vocabulary_id"`
	DomainID        string   `json:"domain_id"`
	ConceptClassID  string   `json:"concept_class_id"`
	StandardConcept string   `json:"standard_concept,omitempty"`
	InvalidReason   string   `json:"invalid_reason,omitempty"` // absent, not "", so "missing" means valid
	MapsTo          []Target `json:"maps_to,omitempty"`
}

// Target is a valid standard concept that a document's concept maps to.
type Target struct {
	ConceptID      int32  `json:"concept_id"`
	VocabularyID   string `json:"vocabulary_id"`
	DomainID       string `json:"domain_id"`
	ConceptClassID string `json:"concept_class_id"`
}

// DocumentID is the _id of text n of concept id: n = 0 for the name, i+1
// for Synonyms[i].
func DocumentID(conceptID int32, n int) string {
	return strconv.FormatInt(int64(conceptID), 10) + "-" + strconv.Itoa(n)
}

// ConceptDocuments returns the documents of concept con of corpus c: its
// name, then its synonyms.
func ConceptDocuments(c *search.Corpus, con *search.Concept) []Document {
	var targets []Target
	for _, t := range c.MapsTo(con.ID) {
		// Only standard targets can stand in for a non-standard hit;
		// Corpus already keeps only valid ones.
		if t.Standard != "S" || !t.Valid() {
			continue
		}
		targets = append(targets, Target{ConceptID: t.ID, VocabularyID: t.Vocabulary, DomainID: t.Domain, ConceptClassID: t.Class})
	}
	docs := make([]Document, 0, 1+len(con.Synonyms))
	add := func(n int, text, field string) {
		docs = append(docs, Document{
			ID: DocumentID(con.ID, n), ConceptID: con.ID, Text: text, Field: field,
			ConceptName: con.Name, ConceptCode: con.Code,
			VocabularyID: con.Vocabulary, DomainID: con.Domain, ConceptClassID: con.Class,
			StandardConcept: con.Standard, InvalidReason: con.InvalidReason,
			MapsTo: targets,
		})
	}
	add(0, con.Name, "name")
	for i, s := range con.Synonyms {
		add(i+1, s, "synonym")
	}
	return docs
}

// DocumentsFor yields the documents of every concept of c in chunks of
// about size documents (a concept's documents are never split, so a chunk
// may exceed size by one concept's synonyms), numbered from 0. Chunks and
// their numbers depend only on the corpus, so a retried population step
// can skip the chunks it heartbeated as done. A size below 1 means 1000.
func DocumentsFor(c *search.Corpus, size int) iter.Seq2[int, []Document] {
	if size < 1 {
		size = 1000
	}
	return func(yield func(int, []Document) bool) {
		chunk := 0
		docs := make([]Document, 0, size)
		for i := range c.Concepts {
			docs = append(docs, ConceptDocuments(c, &c.Concepts[i])...)
			if len(docs) >= size {
				if !yield(chunk, docs) {
					return
				}
				chunk++
				docs = make([]Document, 0, size) // the caller may keep the last chunk
			}
		}
		if len(docs) > 0 {
			yield(chunk, docs)
		}
	}
}

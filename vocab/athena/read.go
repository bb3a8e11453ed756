package athena

// Each table has a cursor (XxxRows) and a callback form (Xxx). The callback
// forms stop at the first error from fn and return it unchanged; otherwise
// they return the cursor's error (a *ParseError for bad input).

// ConceptRows opens CONCEPT.csv.
func (r *Release) ConceptRows() (*Rows[Concept], error) {
	return openRows(r, TableConcept, conceptColumns, parseConcept)
}

// Concepts calls fn for every row of CONCEPT.csv, in file order.
func (r *Release) Concepts(fn func(Concept) error) error { return each(r.ConceptRows, fn) }

// SynonymRows opens CONCEPT_SYNONYM.csv.
func (r *Release) SynonymRows() (*Rows[Synonym], error) {
	return openRows(r, TableConceptSynonym, synonymColumns, parseSynonym)
}

// Synonyms calls fn for every row of CONCEPT_SYNONYM.csv.
func (r *Release) Synonyms(fn func(Synonym) error) error { return each(r.SynonymRows, fn) }

// RelationshipRows opens CONCEPT_RELATIONSHIP.csv.
func (r *Release) RelationshipRows() (*Rows[Relationship], error) {
	return openRows(r, TableConceptRelationship, relationshipColumns, parseRelationship)
}

// Relationships calls fn for every row of CONCEPT_RELATIONSHIP.csv.
func (r *Release) Relationships(fn func(Relationship) error) error {
	return each(r.RelationshipRows, fn)
}

// AncestorRows opens CONCEPT_ANCESTOR.csv.
func (r *Release) AncestorRows() (*Rows[Ancestor], error) {
	return openRows(r, TableConceptAncestor, ancestorColumns, parseAncestor)
}

// Ancestors calls fn for every row of CONCEPT_ANCESTOR.csv.
func (r *Release) Ancestors(fn func(Ancestor) error) error { return each(r.AncestorRows, fn) }

// VocabularyRows opens VOCABULARY.csv.
func (r *Release) VocabularyRows() (*Rows[Vocabulary], error) {
	return openRows(r, TableVocabulary, vocabularyColumns, parseVocabulary)
}

// Vocabularies calls fn for every row of VOCABULARY.csv.
func (r *Release) Vocabularies(fn func(Vocabulary) error) error { return each(r.VocabularyRows, fn) }

// DomainRows opens DOMAIN.csv.
func (r *Release) DomainRows() (*Rows[Domain], error) {
	return openRows(r, TableDomain, domainColumns, parseDomain)
}

// Domains calls fn for every row of DOMAIN.csv.
func (r *Release) Domains(fn func(Domain) error) error { return each(r.DomainRows, fn) }

// ConceptClassRows opens CONCEPT_CLASS.csv.
func (r *Release) ConceptClassRows() (*Rows[ConceptClass], error) {
	return openRows(r, TableConceptClass, conceptClassColumns, parseConceptClass)
}

// ConceptClasses calls fn for every row of CONCEPT_CLASS.csv.
func (r *Release) ConceptClasses(fn func(ConceptClass) error) error {
	return each(r.ConceptClassRows, fn)
}

// RelationshipTypeRows opens RELATIONSHIP.csv.
func (r *Release) RelationshipTypeRows() (*Rows[RelationshipType], error) {
	return openRows(r, TableRelationship, relationshipTypeColumns, parseRelationshipType)
}

// RelationshipTypes calls fn for every row of RELATIONSHIP.csv.
func (r *Release) RelationshipTypes(fn func(RelationshipType) error) error {
	return each(r.RelationshipTypeRows, fn)
}

func each[T any](open func() (*Rows[T], error), fn func(T) error) error {
	rows, err := open()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Row()); err != nil {
			return err
		}
	}
	return rows.Err()
}

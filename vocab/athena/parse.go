package athena

import (
	"fmt"
	"strconv"
	"time"
)

// record is the current line of a file with the table's columns mapped to
// field positions. Field accessors record the first problem instead of
// returning an error, so a row is parsed in one expression and checked
// once.
type record struct {
	fields []string
	cols   []column
	idx    []int // cols[i] is fields[idx[i]], or absent when -1
	failed bool
	errCol int
	errMsg string
}

func (r *record) fail(c int, format string, args ...any) {
	if !r.failed {
		r.failed, r.errCol, r.errMsg = true, c, fmt.Sprintf(format, args...)
	}
}

// str returns column c; an absent optional column reads as "".
func (r *record) str(c int) string {
	if i := r.idx[c]; i >= 0 {
		return r.fields[i]
	}
	return ""
}

// text returns column c, which must not be empty.
func (r *record) text(c int) string {
	s := r.str(c)
	if s == "" {
		r.fail(c, "is empty")
	}
	return s
}

// id parses column c as a 32-bit integer, the type of every OMOP id.
func (r *record) id(c int) int32 {
	s := r.str(c)
	if s == "" {
		r.fail(c, "is empty, want an integer")
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			r.fail(c, "%q is out of range for a 32-bit integer", s)
		} else {
			r.fail(c, "%q is not an integer", s)
		}
	}
	return int32(n)
}

// date parses column c as YYYYMMDD or YYYY-MM-DD. A time of day after the
// ISO date (" 00:00:00", "T00:00:00"), as some database exports write, is
// ignored.
func (r *record) date(c int) time.Time {
	s := r.str(c)
	t, ok := parseDate(s)
	if !ok {
		r.fail(c, "%q is not a date (want YYYYMMDD or YYYY-MM-DD)", s)
	}
	return t
}

func parseDate(s string) (time.Time, bool) {
	var y, m, d int
	var ok bool
	switch {
	case len(s) == 8:
		y, ok = digits(s[0:4])
		if ok {
			m, ok = digits(s[4:6])
		}
		if ok {
			d, ok = digits(s[6:8])
		}
	case len(s) >= 10 && s[4] == '-' && s[7] == '-' && (len(s) == 10 || s[10] == ' ' || s[10] == 'T'):
		y, ok = digits(s[0:4])
		if ok {
			m, ok = digits(s[5:7])
		}
		if ok {
			d, ok = digits(s[8:10])
		}
	}
	if !ok || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// The column lists below are in the order the matching parse function
// reads them: column i of the list is r.xxx(i) there.

var conceptColumns = []column{
	{name: "concept_id"}, {name: "concept_name"}, {name: "domain_id"}, {name: "vocabulary_id"},
	{name: "concept_class_id"}, {name: "standard_concept", optional: true}, {name: "concept_code"},
	{name: "valid_start_date"}, {name: "valid_end_date"}, {name: "invalid_reason", optional: true},
}

func parseConcept(r *record) Concept {
	return Concept{
		ID: r.id(0), Name: r.text(1), DomainID: r.str(2), VocabularyID: r.str(3), ClassID: r.str(4),
		StandardConcept: r.str(5), Code: r.str(6), ValidStart: r.date(7), ValidEnd: r.date(8), InvalidReason: r.str(9),
	}
}

var synonymColumns = []column{{name: "concept_id"}, {name: "concept_synonym_name"}, {name: "language_concept_id"}}

func parseSynonym(r *record) Synonym {
	// An empty synonym is useless but harmless; only concept_name must be
	// non-empty, since a concept without a name cannot be matched at all.
	return Synonym{ConceptID: r.id(0), Name: r.str(1), LanguageConceptID: r.id(2)}
}

var relationshipColumns = []column{
	{name: "concept_id_1"}, {name: "concept_id_2"}, {name: "relationship_id"},
	{name: "valid_start_date"}, {name: "valid_end_date"}, {name: "invalid_reason", optional: true},
}

func parseRelationship(r *record) Relationship {
	return Relationship{
		ConceptID1: r.id(0), ConceptID2: r.id(1), RelationshipID: r.text(2),
		ValidStart: r.date(3), ValidEnd: r.date(4), InvalidReason: r.str(5),
	}
}

var ancestorColumns = []column{
	{name: "ancestor_concept_id"}, {name: "descendant_concept_id"},
	{name: "min_levels_of_separation"}, {name: "max_levels_of_separation"},
}

func parseAncestor(r *record) Ancestor {
	return Ancestor{AncestorID: r.id(0), DescendantID: r.id(1), MinLevels: r.id(2), MaxLevels: r.id(3)}
}

var vocabularyColumns = []column{
	{name: "vocabulary_id"}, {name: "vocabulary_name"}, {name: "vocabulary_reference", optional: true},
	{name: "vocabulary_version", optional: true}, {name: "vocabulary_concept_id"},
}

func parseVocabulary(r *record) Vocabulary {
	return Vocabulary{ID: r.text(0), Name: r.str(1), Reference: r.str(2), Version: r.str(3), ConceptID: r.id(4)}
}

var domainColumns = []column{{name: "domain_id"}, {name: "domain_name"}, {name: "domain_concept_id"}}

func parseDomain(r *record) Domain {
	return Domain{ID: r.text(0), Name: r.str(1), ConceptID: r.id(2)}
}

var conceptClassColumns = []column{{name: "concept_class_id"}, {name: "concept_class_name"}, {name: "concept_class_concept_id"}}

func parseConceptClass(r *record) ConceptClass {
	return ConceptClass{ID: r.text(0), Name: r.str(1), ConceptID: r.id(2)}
}

var relationshipTypeColumns = []column{
	{name: "relationship_id"}, {name: "relationship_name"}, {name: "is_hierarchical"},
	{name: "defines_ancestry"}, {name: "reverse_relationship_id"}, {name: "relationship_concept_id"},
}

func parseRelationshipType(r *record) RelationshipType {
	return RelationshipType{
		ID: r.text(0), Name: r.str(1), IsHierarchical: r.str(2), DefinesAncestry: r.str(3),
		ReverseID: r.str(4), ConceptID: r.id(5),
	}
}

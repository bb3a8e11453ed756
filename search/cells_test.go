package search

import (
	"slices"
	"strconv"
	"testing"
)

func cellCorpus(t *testing.T) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "Essential hypertension", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "59621000"},
		{ID: 2, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"},
		{ID: 3, Name: "Urea nitrogen [Mass/volume] in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "6299-2"},
		{ID: 4, Name: "Urea nitrogen [Mass/volume] in Urine", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "3095-7"},
		{ID: 5, Name: "Urea", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "11002"},
		{ID: 6, Name: "Exploration of peripheral nerve", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "1"},
		{ID: 7, Name: "Exploration of median nerve", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "2"},
		{ID: 8, Name: "amoxicillin 500 MG Oral Capsule", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "308191"},
		{ID: 9, Name: "milligram per deciliter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "mg/dL"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	for i := int32(0); i < 200; i++ {
		b.AddConcept(Concept{ID: 1000 + i, Name: "Unrelated finding " + strconv.Itoa(int(i)), Domain: "Observation", Vocabulary: "SNOMED", Class: "Observable Entity", Standard: "S", Code: strconv.Itoa(int(1000 + i))})
	}
	return b.Build()
}

// TestSplitCell: a cell is split only where its parts stand alone.
func TestSplitCell(t *testing.T) {
	e := NewEngine(cellCorpus(t), Options{})
	for text, want := range map[string]struct {
		terms []string
		ctx   Context
	}{
		"Urea - blood":                                    {[]string{"Urea"}, Context{Specimen: "blood"}},
		`Urea \ Chemistry \ mg/dL`:                        {[]string{"Urea"}, Context{Category: "Chemistry", Unit: "mg/dL"}},
		"Essential hypertension; Type 2 diabetes":         {[]string{"Essential hypertension", "Type 2 diabetes"}, Context{}},
		"Essential hypertension / chronic kidney disease": {[]string{"Essential hypertension", "chronic kidney disease"}, Context{}},
		"Exploration of peripheral nerve; median":         {}, // a qualifier, not a term
		"amoxicillin; 500mg; oral":                        {}, // a drug package's fields
		"Methemoglobin/Hemoglobin.total":                  {}, // a bare "/" is part of names
		"HbA1c - diabetic control":                        {},
	} {
		terms, ctx, ok := e.splitCell(text, Context{})
		if ok != (want.terms != nil) || !slices.Equal(terms, want.terms) || ctx != want.ctx {
			t.Errorf("splitCell(%q) = %q %+v %v, want %q %+v", text, terms, ctx, ok, want.terms, want.ctx)
		}
	}
}

// TestSearchParts: two problems in one cell return both, never auto; a
// name with its specimen is searched as a lab test on that specimen.
func TestSearchParts(t *testing.T) {
	e := NewEngine(cellCorpus(t), Options{})
	res, _ := top(t, e, Query{Text: "Essential hypertension; Type 2 diabetes mellitus"})
	got := map[int32]bool{}
	for _, c := range res.Candidates[:2] {
		got[c.Concept.ID] = true
	}
	if !got[1] || !got[2] || len(res.Parts) != 2 || res.Route == RouteAuto {
		t.Errorf("two diagnoses: top two %v, parts %q, route %s", res.Candidates[:2], res.Parts, res.Route)
	}
	if res, id := top(t, e, Query{Text: "Urea - urine"}); id != 4 || res.Kind != TermLab {
		t.Errorf("Urea - urine: top %d kind %q, want the urine test", id, res.Kind)
	}
}

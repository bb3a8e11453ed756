package search

import "testing"

func drugCorpus(t *testing.T) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "adapalene", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "1"},
		{ID: 2, Name: "adapalene 0.001 MG/MG Topical Gel", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "2"},
		{ID: 3, Name: "adapalene Topical Gel", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug Form", Standard: "S", Code: "3"},
		{ID: 4, Name: "dorzolamide", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "4"},
		{ID: 5, Name: "dorzolamide 20 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "5"},
		{ID: 6, Name: "dorzolamide 10 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "6"},
		{ID: 7, Name: "imiquimod 0.05 MG/MG Topical Cream", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "7"},
		{ID: 8, Name: "imiquimod", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "8"},
		{ID: 9, Name: "percent", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "%"},
		{ID: 10, Name: "CD4 cells/100 cells in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "8123-2"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// TestDrugGranularity: the term's strength and dose form choose the
// RxNorm class — ingredient alone, + form, + strength and form.
func TestDrugGranularity(t *testing.T) {
	e := NewEngine(drugCorpus(t), Options{})
	for text, want := range map[string]int32{
		"adapalene":                       1,
		"adapalene topical gel":           3,
		"adapalene; 1mg; Cutaneous route": 2, // a strength RxNorm writes otherwise: still a clinical drug
		"adapalene 0.1% gel":              2,
	} {
		if _, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %d, want %d", text, got, want)
		}
	}
}

// TestPercentStrengths: a percentage meets RxNorm's weight per volume
// (2% = 20 MG/ML) and weight per weight (5% = 0.05 MG/MG).
func TestPercentStrengths(t *testing.T) {
	e := NewEngine(drugCorpus(t), Options{})
	for text, want := range map[string]int32{
		"dorzolamide 2% eye drops":       5,
		"dorzolamide; 1%; Ocular":        6,
		"imiquimod; 5%; Cutaneous route": 7,
	} {
		res, got := top(t, e, Query{Text: text})
		if got != want || res.Kind != TermDrug {
			t.Errorf("%q: top %d kind %q, want %d, a drug", text, got, res.Kind, want)
		}
	}
	if got := e.Classify("dorzolamide; 2%; Ocular"); got != TermDrug {
		t.Errorf("Classify(dorzolamide; 2%%; Ocular) = %q, want a drug", got)
	}
	if got := e.Classify("CD4 %"); got == TermDrug {
		t.Error(`"CD4 %" read as a drug: its number belongs to a word`)
	}
}

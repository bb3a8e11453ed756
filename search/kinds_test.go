package search

import (
	"context"
	"slices"
	"testing"
)

func kindsCorpus(t *testing.T) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "Sodium [Moles/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2951-2"},
		{ID: 2, Name: "Sodium [Mass/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2950-4"},
		{ID: 3, Name: "Sodium [Moles/volume] in Urine", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2955-3"},
		{ID: 4, Name: "Sodium [Moles/volume] in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2947-0"},
		{ID: 5, Name: "sodium chloride", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "9863"},
		{ID: 6, Name: "Ethanol [Presence] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "5640-8"},
		{ID: 7, Name: "millimole per liter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "mmol/L"},
		{ID: 8, Name: "micromole per liter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "umol/L"},
		{ID: 9, Name: "tramadol 150 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "1"},
		{ID: 10, Name: "aminophylline Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug Form", Standard: "S", Code: "2"},
		{ID: 11, Name: "Amlodipine 5 MG / Perindopril 10 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "3"},
		{ID: 12, Name: "Amlodipine 10 MG / Perindopril 5 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "4"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

func TestClassifyKinds(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	for text, want := range map[string]TermKind{
		"Sodium SerPl Qn":          TermLab,
		"Neutrophils %":            TermLab,
		"Ampicillin MIC":           TermLab,
		"Xalatan 0.005% Opht Soln": TermDrug,
		"metformin 500 mg tab":     TermDrug,
		"mcmol/L":                  TermUnit,
		"Excision of gallbladder":  TermProcedure,
		"acute appendicitis":       TermDiagnosis,
		"Seckel":                   TermUnknown,
	} {
		if got := e.Classify(text); got != want {
			t.Errorf("Classify(%q) = %q, want %q", text, got, want)
		}
	}
}

func top(t *testing.T, e *Engine, q Query) (Result, int32) {
	t.Helper()
	q.Filter.StandardOnly = true
	res, err := e.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) == 0 {
		t.Fatalf("%q: no candidates", q.Text)
	}
	return res, res.Candidates[0].Concept.ID
}

func TestLabNameReadOnLOINCAxes(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	cases := []struct {
		q    Query
		want int32
	}{
		{Query{Text: "Sodium SerPl Qn"}, 1},                                                // specimen spelled as LOINC's system, not the drug
		{Query{Text: "Sodium Ur"}, 3},                                                      // another specimen
		{Query{Text: "Sodium Bld"}, 4},                                                     // blood, not serum
		{Query{Text: "Sodium", Context: Context{Specimen: "Urine"}}, 3},                    // specimen from the row's context
		{Query{Text: "Sodium", Context: Context{Category: "Chemistry", Unit: "mg/dL"}}, 2}, // mass from the unit
		{Query{Text: "Sodium", Context: Context{Category: "Medication"}}, 5},               // a drug by category
	}
	for _, c := range cases {
		if _, got := top(t, e, c.q); got != c.want {
			t.Errorf("%+v: top concept %d, want %d", c.q, got, c.want)
		}
	}
	// An analyte the vocabulary lacks must not be answered by the specimen.
	res, err := e.Search(context.Background(), Query{Text: "Zzyzx SerPl Qn", Filter: Filter{StandardOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) > 0 && res.Route == RouteAuto {
		t.Errorf("specimen-only match routed auto: %+v", res.Candidates[0].Concept)
	}
	// Text and category disagree: never auto.
	res, _ = top(t, e, Query{Text: "Sodium SerPl Qn", Context: Context{Category: "Medication"}})
	if !res.Conflict || res.Route == RouteAuto {
		t.Errorf("conflict %v route %s, want a conflict routed to review", res.Conflict, res.Route)
	}
}

func TestDrugIngredientsAndUnits(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	if _, got := top(t, e, Query{Text: "aminophylline;150mg;Oral;tablet"}); got != 10 {
		t.Errorf("aminophylline 150 mg: top %d, want the aminophylline form (another ingredient must not win on strength)", got)
	}
	if _, got := top(t, e, Query{Text: "perindopril and amlodipine; 5mg+10mg; Oral"}); got != 12 {
		t.Errorf("perindopril 5 + amlodipine 10: top %d, want 12", got)
	}
	res, got := top(t, e, Query{Text: "mcmol/L"})
	if got != 8 || res.Kind != TermUnit || res.Route != RouteAuto {
		t.Errorf("mcmol/L: top %d kind %q route %s, want 8, unit, auto", got, res.Kind, res.Route)
	}
	// Unknown kind: never auto, however good the match.
	res, _ = top(t, e, Query{Text: "sodium chloride"})
	if res.Kind == TermUnknown && res.Route == RouteAuto {
		t.Errorf("unknown kind routed auto")
	}
}

func TestMultiPartCell(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	text, ctx := e.splitParts("Sodium | Urine | Chemistry | mmol/L", Context{})
	if text != "Sodium" || ctx.Specimen != "Urine" || ctx.Category != "Chemistry" || ctx.Unit != "mmol/L" {
		t.Fatalf("split = %q %+v", text, ctx)
	}
	if _, got := top(t, e, Query{Text: "Sodium | Urine | Chemistry"}); got != 3 {
		t.Errorf("Sodium | Urine: top %d, want the urine test 3", got)
	}
	// A unit string alone stays the term.
	if _, got := top(t, e, Query{Text: "mcmol/L | "}); got != 8 {
		t.Errorf("a lone unit part: top %d, want 8", got)
	}
}

// TestCategoryChoosesTheUsualSpecimen: a name without a specimen takes
// the system its row's category runs tests on.
func TestCategoryChoosesTheUsualSpecimen(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	for category, want := range map[string][]int32{"Chemistry": {1, 2}, "Haematology": {4}, "Urinalysis": {3}} {
		res, got := top(t, e, Query{Text: "Sodium", Context: Context{Category: category}})
		if res.Kind != TermLab || !slices.Contains(want, got) {
			t.Errorf("Sodium in %s: top %d kind %q, want one of %v", category, got, res.Kind, want)
		}
	}
}

// TestBareAnalyteReadsAsLabTest: "Sodium" alone is a lab test's analyte;
// a drug context still makes it the ingredient, and the reading, being
// only likely, is never auto.
func TestBareAnalyteReadsAsLabTest(t *testing.T) {
	e := NewEngine(kindsCorpus(t), Options{})
	res, got := top(t, e, Query{Text: "Sodium"})
	if c := res.Candidates[0].Concept; c.Vocabulary != "LOINC" || !res.Inferred || res.Kind != TermLab || res.Route == RouteAuto {
		t.Errorf("Sodium: top %d %q kind %q inferred %v route %s, want a LOINC test, an inferred lab kind, not auto", got, c.Name, res.Kind, res.Inferred, res.Route)
	}
	if _, got := top(t, e, Query{Text: "Sodium", Filter: Filter{Domains: []string{"Drug"}}}); got != 5 {
		t.Errorf("Sodium among drugs: top %d, want the ingredient 5", got)
	}
	if res, _ := top(t, e, Query{Text: "tramadol"}); res.Inferred || res.Kind == TermLab {
		t.Errorf("tramadol: kind %q inferred %v; no lab test measures it here", res.Kind, res.Inferred)
	}
}

// TestAbbreviatedAnalyte: a lab abbreviation alone reads as the analyte it
// stands for, searched with all its words; a unit spelled like one stays
// a unit.
func TestAbbreviatedAnalyte(t *testing.T) {
	b := NewCorpusBuilder()
	concepts := []Concept{
		{ID: 1, Name: "Thyrotropin [Units/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "3016-3"},
		{ID: 2, Name: "thyrotropin", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "10598"},
		{ID: 3, Name: "Heart rate", Domain: "Measurement", Vocabulary: "LOINC", Class: "Clinical Observation", Standard: "S", Code: "8867-4"},
		{ID: 4, Name: "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "33914-3"},
		{ID: 5, Name: "Chloride [Moles/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2075-0"},
		{ID: 6, Name: "centiliter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "cL"},
	}
	// Other tests, so that a LOINC name's property and system words are as
	// common as in a real vocabulary.
	for i := range 300 {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "ase"
		concepts = append(concepts, Concept{ID: int32(100 + i), Name: name + " [Units/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: name})
	}
	for _, c := range concepts {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	e := NewEngine(b.Build(), Options{})
	for text, want := range map[string]int32{"TSH": 1, "eGFR": 4, "cL": 6} {
		if res, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %d %q (kind %q), want %d", text, got, res.Candidates[0].Concept.Name, res.Kind, want)
		}
	}
}

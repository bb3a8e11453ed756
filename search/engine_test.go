package search_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/portiere/portiere/search"
)

// smallCorpus is a hand-made vocabulary with the cases the engine must get
// right: a non-standard ICD10CM code that maps to a SNOMED concept, an
// invalid concept, a LOINC code, and synonyms.
func smallCorpus(t *testing.T) *search.Corpus {
	t.Helper()
	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 201826, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"},
		{ID: 45576876, Name: "Type 2 diabetes mellitus without complications", Domain: "Condition", Vocabulary: "ICD10CM", Class: "5-char billing code", Code: "E11.9"},
		{ID: 3004410, Name: "Hemoglobin A1c/Hemoglobin.total in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "4548-4"},
		{ID: 4324124, Name: "Peritoneal dialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "71192002"},
		{ID: 4120120, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"},
		{ID: 999001, Name: "Haemodialysis old code", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Code: "1234", InvalidReason: "D"},
		{ID: 1125315, Name: "acetaminophen 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "198440"},
		{ID: 1125316, Name: "acetaminophen 325 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "313782"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	b.AddSynonym(4120120, "Renal dialysis with haemodialyser")
	b.AddSynonym(4120120, "hemodialysis") // same as the name: dropped
	b.AddRelationship(45576876, 201826, "Maps to", "")
	b.AddRelationship(999001, 4120120, "Maps to", "")
	return b.Build()
}

func search1(t *testing.T, e *search.Engine, q search.Query) search.Result {
	t.Helper()
	res, err := e.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Candidates) == 0 {
		t.Fatalf("%q: no candidates", q.Text)
	}
	return res
}

func ids(res search.Result) []int32 {
	var out []int32
	for _, c := range res.Candidates {
		out = append(out, c.Concept.ID)
	}
	return out
}

func TestExactCodeComesFirst(t *testing.T) {
	e := search.NewEngine(smallCorpus(t), search.Options{})
	for code, want := range map[string]int32{"E11.9": 45576876, "4548-4": 3004410, "e11.9": 45576876} {
		res := search1(t, e, search.Query{Text: code})
		top := res.Candidates[0]
		if top.Concept.ID != want || top.MatchedField != "code" || top.MatchedText == "" {
			t.Errorf("%s: top %d (%s %q)", code, top.Concept.ID, top.MatchedField, top.MatchedText)
		}
	}
	// Standard-only: the code of a non-standard concept leads to its target.
	res := search1(t, e, search.Query{Text: "E11.9", Filter: search.Filter{StandardOnly: true}})
	if top := res.Candidates[0]; top.Concept.ID != 201826 || top.Via == nil || top.Via.ID != 45576876 {
		t.Fatalf("standard-only code: %+v", top)
	}
}

func TestMapsToScoresNonStandardHitsAsTheirTarget(t *testing.T) {
	e := search.NewEngine(smallCorpus(t), search.Options{})
	q := search.Query{Text: "type 2 diabetes without complications"}
	res := search1(t, e, q)
	if res.Candidates[0].Concept.ID != 45576876 {
		t.Fatalf("unfiltered: want the ICD10CM concept first, got %v", ids(res))
	}
	q.Filter.StandardOnly = true
	res = search1(t, e, q)
	top := res.Candidates[0]
	if top.Concept.ID != 201826 || top.Via == nil || top.Via.ID != 45576876 {
		t.Fatalf("standard-only: %v, via %v", ids(res), top.Via)
	}
	if top.MatchedText != "Type 2 diabetes mellitus without complications" {
		t.Errorf("explanation should show the text that matched, got %q", top.MatchedText)
	}
	for _, c := range res.Candidates {
		if c.Concept.Standard != "S" {
			t.Errorf("non-standard %d in standard-only results", c.Concept.ID)
		}
	}
}

func TestFilters(t *testing.T) {
	e := search.NewEngine(smallCorpus(t), search.Options{})
	ctx := context.Background()
	cases := []struct {
		name   string
		filter search.Filter
		allow  func(*search.Concept) bool
	}{
		{"vocabulary", search.Filter{Vocabularies: []string{"LOINC"}}, func(c *search.Concept) bool { return c.Vocabulary == "LOINC" }},
		{"domain", search.Filter{Domains: []string{"Procedure"}}, func(c *search.Concept) bool { return c.Domain == "Procedure" }},
		{"class", search.Filter{Classes: []string{"Clinical Drug"}}, func(c *search.Concept) bool { return c.Class == "Clinical Drug" }},
		{"standard", search.Filter{StandardOnly: true}, func(c *search.Concept) bool { return c.Standard == "S" }},
		{"valid by default", search.Filter{}, func(c *search.Concept) bool { return c.Valid() }},
	}
	for _, tc := range cases {
		for _, text := range []string{"dialysis", "hemoglobin", "acetaminophen 500 mg", "diabetes", "haemodialysis old code"} {
			res, err := e.Search(ctx, search.Query{Text: text, Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Candidates {
				if !tc.allow(c.Concept) {
					t.Errorf("%s filter, %q: %d %s/%s/%s/%q slipped through", tc.name, text, c.Concept.ID, c.Concept.Vocabulary, c.Concept.Domain, c.Concept.Class, c.Concept.Standard)
				}
			}
		}
	}
	res := search1(t, e, search.Query{Text: "haemodialysis old code", Filter: search.Filter{IncludeInvalid: true}})
	if res.Candidates[0].Concept.ID != 999001 {
		t.Errorf("include-invalid: %v", ids(res))
	}
	if _, err := e.Search(ctx, search.Query{Text: "x", Filter: search.Filter{Vocabularies: []string{"NOPE"}}}); !errors.As(err, new(*search.UnknownVocabularyError)) {
		t.Errorf("unknown vocabulary: %v", err)
	}
	if _, err := e.Search(ctx, search.Query{Text: "  "}); !errors.Is(err, search.ErrEmptyQuery) {
		t.Errorf("empty query: %v", err)
	}
}

func TestAnalyzerDrivenMatches(t *testing.T) {
	e := search.NewEngine(smallCorpus(t), search.Options{})
	for text, want := range map[string]int32{
		"haemodialysis":            4120120, // British spelling
		"hemodialisys":             4120120, // misspelling
		"paracetamol 500mg tab":    1125315, // INN name, glued unit
		"paracetamol; 325mg; Oral": 1125316,
		"peritonal dialysis":       4324124,
	} {
		res := search1(t, e, search.Query{Text: text, Filter: search.Filter{StandardOnly: true}})
		if got := res.Candidates[0]; got.Concept.ID != want {
			t.Errorf("%q: top %d %q, want %d", text, got.Concept.ID, got.Concept.Name, want)
		}
	}
}

func TestExplanationCarriesBothRanks(t *testing.T) {
	e := search.NewEngine(smallCorpus(t), search.Options{})
	res := search1(t, e, search.Query{Text: "renal dialysis haemodialyser"})
	top := res.Candidates[0]
	if top.Concept.ID != 4120120 || top.MatchedField != "synonym" || top.MatchedText != "Renal dialysis with haemodialyser" {
		t.Fatalf("%+v", top)
	}
	if top.LexicalRank != 1 || top.LexicalScore <= 0 {
		t.Errorf("lexical explanation: rank %d score %f", top.LexicalRank, top.LexicalScore)
	}
	if res.Confidence <= 0 || res.Confidence > 1 || res.Route == "" {
		t.Errorf("confidence %f route %q", res.Confidence, res.Route)
	}
}

// An external lexical tier gets the same answers as the embedded one when
// it returns the same hits: the embedded index serves as that tier here.
func TestExternalLexicalTier(t *testing.T) {
	c := smallCorpus(t)
	embedded := search.NewEngine(c, search.Options{})
	external := search.NewEngine(c, search.Options{Lexical: search.NewBM25Index(c, &search.Analyzer{})})
	for _, text := range []string{"dialysis", "acetaminophen 500 mg", "type 2 diabetes"} {
		q := search.Query{Text: text, Filter: search.Filter{StandardOnly: true}}
		a, b := search1(t, embedded, q), search1(t, external, q)
		if !reflect.DeepEqual(ids(a), ids(b)) {
			t.Errorf("%q: embedded %v, external %v", text, ids(a), ids(b))
		}
	}
}

func TestCorpusFingerprintIsContentBased(t *testing.T) {
	a, b := smallCorpus(t), smallCorpus(t)
	if a.Fingerprint != b.Fingerprint || len(a.Fingerprint) != 32 {
		t.Fatalf("%q vs %q", a.Fingerprint, b.Fingerprint)
	}
	bl := search.NewCorpusBuilder()
	bl.AddConcept(search.Concept{ID: 1, Name: "x"})
	if bl.Build().Fingerprint == a.Fingerprint {
		t.Fatal("different corpora share a fingerprint")
	}
}

func TestClinicalAbbreviations(t *testing.T) {
	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 3009999, Name: "Hemoglobin [Mass/volume] in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "718-7"},
		{ID: 3009542, Name: "Hematocrit [Volume Fraction] of Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "4544-3"},
		{ID: 1503299, Name: "metformin hydrochloride 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "861007"},
		{ID: 1503298, Name: "metformin hydrochloride 500 MG Oral Capsule", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "861008"},
	} {
		b.AddConcept(c)
	}
	e := search.NewEngine(b.Build(), search.Options{})
	for text, want := range map[string]int32{
		"Hb blood":             3009999,
		"HCT blood":            3009542,
		"metformin 500 mg tab": 1503299,
		"metformin 500mg caps": 1503298,
	} {
		if got := search1(t, e, search.Query{Text: text}).Candidates[0]; got.Concept.ID != want {
			t.Errorf("%q: top %d %q, want %d", text, got.Concept.ID, got.Concept.Name, want)
		}
	}
}

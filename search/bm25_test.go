package search

import (
	"slices"
	"testing"
)

// Equally similar, equally frequent words come back in one order every
// time: the fuzzy candidates are gathered from a map, and an unkeyed tie
// changed a drug term's top result from one run to the next
// ("proxymetacaine": procaine or proparacaine).
func TestFuzzyTiesAreOrdered(t *testing.T) {
	b := NewCorpusBuilder()
	for i, w := range []string{"zorbatim", "zorbatik", "zorbatiq", "zorbatip", "zorbatiw"} {
		b.AddConcept(Concept{ID: int32(i + 1), Name: w, Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: w})
	}
	ix := NewBM25Index(b.Build(), &Analyzer{})
	var want []expansion
	for range 50 {
		got := ix.fuzzy("zorbatix", 2, 0.5)
		if len(got) != 2 {
			t.Fatalf("fuzzy = %+v, want 2 of the 5 equally similar words", got)
		}
		if want == nil {
			want = got
			if got[0].id > got[1].id {
				t.Errorf("fuzzy = %+v: equal words not in id order", got)
			}
		} else if !slices.Equal(got, want) {
			t.Fatalf("fuzzy = %+v, earlier %+v", got, want)
		}
	}
}

// A word with another bound prefix is another word, not a misspelling:
// "extracapsular" must not expand to "intracapsular", nor "incision" to
// "excision", however many letters they share.
func TestBoundPrefixesAreNoVariants(t *testing.T) {
	b := NewCorpusBuilder()
	for i, w := range []string{"intracapsular", "extracapsular", "incision", "excision", "hypercalcemia", "hypocalcemia", "extracapsulr"} {
		b.AddConcept(Concept{ID: int32(i + 1), Name: w, Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: w})
	}
	an := &Analyzer{}
	ix := NewBM25Index(b.Build(), an)
	for a, not := range map[string]string{"extracapsular": "intracapsular", "incision": "excision", "hypercalcemia": "hypocalcemia"} {
		ta, tn := an.Terms(a)[0], an.Terms(not)[0]
		for _, v := range ix.variants(ix.dict[ta]) {
			if ix.terms[v.id] == tn {
				t.Errorf("%q has %q as a variant", a, not)
			}
		}
	}
	// A misspelling still finds its word.
	found := false
	for _, v := range ix.fuzzy("extracapsulr", 2, 0.5) {
		found = found || ix.terms[v.id] == an.Terms("extracapsular")[0]
	}
	if !found {
		t.Error(`"extracapsulr" does not find "extracapsular"`)
	}
}

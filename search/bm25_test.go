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

package search_test

import (
	"reflect"
	"testing"

	"github.com/portiere/portiere/search"
)

// The same content added in any order builds the same corpus: a release
// read from its files and from PostgreSQL must share a Fingerprint.
func TestCorpusBuildIgnoresInsertionOrder(t *testing.T) {
	concepts := []search.Concept{
		{ID: 30, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"},
		{ID: 10, Name: "Haemodialysis old code", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Code: "1234"},
		{ID: 20, Name: "Kidney dialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "265764009"},
	}
	type syn struct {
		id   int32
		name string
	}
	syns := []syn{{30, "renal dialysis"}, {30, "Renal dialysis"}, {30, "Haemodialysis"}, {10, "HD"}}
	maps := [][2]int32{{10, 30}, {10, 20}, {10, 30}}

	build := func(reverse bool) *search.Corpus {
		b := search.NewCorpusBuilder()
		for i := range concepts {
			c := concepts[i]
			if reverse {
				c = concepts[len(concepts)-1-i]
			}
			if err := b.AddConcept(c); err != nil {
				t.Fatal(err)
			}
		}
		for i := range syns {
			s := syns[i]
			if reverse {
				s = syns[len(syns)-1-i]
			}
			b.AddSynonym(s.id, s.name)
		}
		for i := range maps {
			m := maps[i]
			if reverse {
				m = maps[len(maps)-1-i]
			}
			b.AddRelationship(m[0], m[1], "Maps to", "")
		}
		return b.Build()
	}
	a, z := build(false), build(true)
	if a.Fingerprint != z.Fingerprint {
		t.Fatalf("fingerprints differ: %s vs %s", a.Fingerprint, z.Fingerprint)
	}
	if !reflect.DeepEqual(a.Concepts, z.Concepts) {
		t.Fatalf("concepts differ:\n%+v\n%+v", a.Concepts, z.Concepts)
	}
	var ids []int32
	for _, c := range a.Concepts {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(ids, []int32{10, 20, 30}) {
		t.Errorf("concepts not ordered by id: %v", ids)
	}
	hd, _ := a.Lookup(30)
	if !reflect.DeepEqual(hd.Synonyms, []string{"Haemodialysis", "Renal dialysis"}) {
		t.Errorf("synonyms %q", hd.Synonyms)
	}
	var targets []int32
	for _, c := range a.MapsTo(10) {
		targets = append(targets, c.ID)
	}
	if !reflect.DeepEqual(targets, []int32{20, 30}) {
		t.Errorf("maps to %v, want [20 30] (sorted, duplicates dropped)", targets)
	}
}

package vocabstore_test

import (
	"context"
	"testing"

	"github.com/portiere/portiere/vocab/athena"
)

// The counts per vocabulary add up to the concepts of the release.
func TestVocabularyCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	im, store, _ := newImporter(t)
	if got, err := store.VocabularyCounts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty vocabulary: %v %v", got, err)
	}
	rep := mustImport(t, im, demoDir)
	got, err := store.VocabularyCounts(ctx)
	if err != nil || len(got) == 0 {
		t.Fatalf("counts: %v %v", got, err)
	}
	var total int64
	checked := false
	for i, c := range got {
		if c.Standard > c.Concepts || c.Concepts == 0 || (i > 0 && got[i-1].VocabularyID >= c.VocabularyID) {
			t.Errorf("count %+v (order or totals wrong)", c)
		}
		total += c.Concepts
	}
	for _, tc := range rep.Tables {
		if tc.Table == athena.TableConcept {
			checked = true
			if tc.Rows != total {
				t.Fatalf("counts add up to %d, the release has %d concepts", total, tc.Rows)
			}
		}
	}
	if !checked {
		t.Fatal("the import report has no concept table")
	}
}

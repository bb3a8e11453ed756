package search_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/portiere/portiere/search"
)

// TestSearchIsRepeatable checks the quality figures are reproducible: two
// engines built from one corpus answer every gold term alike, one asked
// from a single goroutine and the other from four at once. It runs with
// PORTIERE_QUALITY=1 (make bench): it needs the development vocabulary.
func TestSearchIsRepeatable(t *testing.T) {
	if os.Getenv("PORTIERE_QUALITY") == "" {
		t.Skip("set PORTIERE_QUALITY=1")
	}
	corpus := loadDevCorpus(t)
	a := search.NewEngine(corpus, search.Options{})
	b := search.NewEngine(corpus, search.Options{})
	for _, gs := range goldSets {
		repeatable(t, a, b, gs)
	}
}

func repeatable(t *testing.T, a, b *search.Engine, gs goldSet) {
	n := 0
	rows := readGold(t, gs.file)
	par := make([]search.Result, len(rows))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(rows); i += 4 {
				par[i], _ = b.Search(context.Background(), search.Query{Text: rows[i].text, Limit: 10, Filter: gs.filter})
			}
		}(w)
	}
	wg.Wait()
	for i, g := range rows {
		q := search.Query{Text: g.text, Limit: 10, Filter: gs.filter}
		ra, _ := a.Search(context.Background(), q)
		rb := par[i]
		sa, sb := "", ""
		for _, c := range ra.Candidates {
			sa += fmt.Sprintf("%d:%.9g ", c.Concept.ID, c.Score)
		}
		for _, c := range rb.Candidates {
			sb += fmt.Sprintf("%d:%.9g ", c.Concept.ID, c.Score)
		}
		if sa != sb {
			n++
			if n <= 3 {
				t.Errorf("%s: %q answered differently:\n %s\n %s", gs.name, g.text, sa, sb)
			}
		}
	}
	if n > 3 {
		t.Errorf("%s: %d terms answered differently in all", gs.name, n)
	}
}

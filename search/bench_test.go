package search_test

import (
	"context"
	"testing"

	"github.com/portiere/portiere/search"
)

// BenchmarkSearchDev measures one query at a time over the 125k-concept
// development vocabulary, cycling through the three gold sets' terms.
func BenchmarkSearchDev(b *testing.B) {
	corpus := loadDevCorpus(b)
	e := search.NewEngine(corpus, search.Options{})
	var queries []search.Query
	for _, gs := range goldSets {
		for _, g := range readGold(b, gs.file) {
			queries = append(queries, search.Query{Text: g.text, Limit: 10, Filter: gs.filter})
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Search(ctx, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassify measures the stages this round added in front of
// retrieval — reading the term's kind (lab cues, strengths, dose forms,
// operations, diagnosis words) and parsing it as a unit — over all five
// gold sets' terms.
func BenchmarkClassify(b *testing.B) {
	corpus := loadDevCorpus(b)
	e := search.NewEngine(corpus, search.Options{})
	var texts []string
	for _, gs := range goldSets {
		for _, g := range readGold(b, gs.file) {
			texts = append(texts, g.text)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Classify(texts[i%len(texts)])
	}
}

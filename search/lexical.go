package search

import "context"

// LexicalQuery asks a lexical tier for the texts that best match Text.
type LexicalQuery struct {
	Text  string
	Limit int
	// Keep, when set, admits a hit by the concept it belongs to. External
	// tiers that cannot call it filter with Filter instead and let the
	// engine drop the rest.
	Keep   func(conceptID int32) bool
	Filter Filter
}

// LexicalHit is one matching text of a concept.
type LexicalHit struct {
	ConceptID int32
	Text      string // the name or synonym that matched
	Field     string // "name" or "synonym"
	Score     float64
}

// LexicalSearcher is a lexical retrieval tier: the embedded BM25Index, or
// Elasticsearch at scale (search/elastic). Implementations are safe for
// concurrent use.
type LexicalSearcher interface {
	SearchLexical(ctx context.Context, q LexicalQuery) ([]LexicalHit, error)
}

package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portiere/portiere/search"
)

// Searcher is the lexical tier over one index or alias: it implements
// search.LexicalSearcher. It is safe for concurrent use.
type Searcher struct {
	c     *Client
	index string
}

// Searcher returns the lexical tier searching index, normally the alias
// that SwapAlias moves.
func (c *Client) Searcher(index string) *Searcher {
	return &Searcher{c: c, index: index}
}

// Fields named in queries; they must agree with mapping.json.
const (
	fieldConceptID = "concept_id"
	fieldText      = "text"
	fieldTextNgram = "text.ngram"
	fieldKind      = "field"
	fieldCode      = "concept_code"
	fieldStandard  = "standard_concept"
	fieldInvalid   = "invalid_reason"
	pathMapsTo     = "maps_to"
)

// Query weights. An exact code match must outrank any text match, as it
// does in search.Engine.
const (
	boostText         = 2
	boostCode         = 10
	ngramMinimumMatch = "60%"
)

// SearchLexical returns the best text of each of up to q.Limit concepts
// (10 when Limit is 0), best first. Filter is applied by Elasticsearch; Keep,
// when set, is applied afterwards to the hits returned, so it can only
// shorten the list. In StandardOnly mode a hit may name a non-standard
// concept whose "Maps to" targets meet the filter; the caller follows the
// mapping. Errors: search.ErrEmptyQuery for blank text, an *Error (matching
// ErrIndexNotFound when the index is missing) when Elasticsearch refuses
// the search, or the transport's error.
func (s *Searcher) SearchLexical(ctx context.Context, q search.LexicalQuery) ([]search.LexicalHit, error) {
	if strings.TrimSpace(q.Text) == "" {
		return nil, search.ErrEmptyQuery
	}
	body, err := json.Marshal(searchBody(q))
	if err != nil {
		return nil, fmt.Errorf("elastic: search %s: %w", s.index, err)
	}
	es := s.c.es
	op := "search " + s.index
	res, err := es.Search(
		es.Search.WithIndex(s.index),
		es.Search.WithBody(bytes.NewReader(body)),
		// A ranking missing a shard's concepts would look complete; fail
		// instead.
		es.Search.WithAllowPartialSearchResults(false),
		es.Search.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("elastic: %s: %w", op, err)
	}
	var out searchResponse
	if err := decode(op, res, &out); err != nil {
		return nil, err
	}
	return out.lexicalHits(q.Keep)
}

// obj is a JSON object of the query DSL.
type obj = map[string]any

// searchBody is the _search request for q; see the package documentation.
func searchBody(q search.LexicalQuery) obj {
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	text := strings.TrimSpace(q.Text)
	boolQuery := obj{
		"should": []any{
			obj{"match": obj{fieldText: obj{"query": text, "boost": boostText}}},
			obj{"match": obj{fieldTextNgram: obj{"query": text, "minimum_should_match": ngramMinimumMatch}}},
			obj{"term": obj{fieldCode: obj{"value": text, "boost": boostCode}}},
		},
		// With filter clauses present, should clauses would otherwise be
		// optional and every filtered document would match.
		"minimum_should_match": 1,
	}
	if filters := filterClauses(q.Filter); len(filters) > 0 {
		boolQuery["filter"] = filters
	}
	return obj{
		"size":     limit,
		"_source":  []string{fieldConceptID, fieldText, fieldKind},
		"query":    obj{"bool": boolQuery},
		"collapse": obj{"field": fieldConceptID},
	}
}

// filterClauses expresses f as bool filter clauses, mirroring
// search.Engine: a concept is returned as itself when it meets the
// vocabulary, domain and class lists, is valid (unless IncludeInvalid) and,
// in StandardOnly mode, is standard; in StandardOnly mode a non-standard
// concept is also returned when one of its maps_to targets meets the lists.
func filterClauses(f search.Filter) []any {
	self := attributeClauses("", f)
	if !f.IncludeInvalid {
		self = append(self, obj{"bool": obj{"must_not": []any{obj{"exists": obj{"field": fieldInvalid}}}}})
	}
	if !f.StandardOnly {
		return self
	}
	standard := obj{"term": obj{fieldStandard: "S"}}
	var target any = obj{"match_all": obj{}}
	if tc := attributeClauses(pathMapsTo+".", f); len(tc) > 0 {
		target = obj{"bool": obj{"filter": tc}}
	}
	return []any{obj{"bool": obj{
		"should": []any{
			obj{"bool": obj{"filter": append([]any{standard}, self...)}},
			obj{"bool": obj{
				"must_not": []any{standard},
				"filter":   []any{obj{"nested": obj{"path": pathMapsTo, "query": target}}},
			}},
		},
		"minimum_should_match": 1,
	}}}
}

// attributeClauses restricts the vocabulary, domain and class fields under
// prefix ("" or "maps_to.") to f's lists.
func attributeClauses(prefix string, f search.Filter) []any {
	var out []any
	for _, c := range []struct {
		field  string
		values []string
	}{
		{"vocabulary_id", f.Vocabularies},
		{"domain_id", f.Domains},
		{"concept_class_id", f.Classes},
	} {
		if len(c.values) > 0 {
			out = append(out, obj{"terms": obj{prefix + c.field: c.values}})
		}
	}
	return out
}

// searchResponse is the part of a _search response SearchLexical reads.
type searchResponse struct {
	Hits struct {
		Hits []struct {
			ID     string   `json:"_id"`
			Score  *float64 `json:"_score"`
			Source struct {
				ConceptID *int32 `json:"concept_id"`
				Text      string `json:"text"`
				Field     string `json:"field"`
			} `json:"_source"`
			// Fields holds the collapse key.
			Fields struct {
				ConceptID []int32 `json:"concept_id"`
			} `json:"fields"`
		} `json:"hits"`
	} `json:"hits"`
}

func (r *searchResponse) lexicalHits(keep func(int32) bool) ([]search.LexicalHit, error) {
	out := make([]search.LexicalHit, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		var id int32
		switch {
		case len(h.Fields.ConceptID) > 0:
			id = h.Fields.ConceptID[0]
		case h.Source.ConceptID != nil:
			id = *h.Source.ConceptID
		default:
			return nil, fmt.Errorf("elastic: search: hit %s has no concept_id", h.ID)
		}
		if keep != nil && !keep(id) {
			continue
		}
		hit := search.LexicalHit{ConceptID: id, Text: h.Source.Text, Field: h.Source.Field}
		if h.Score != nil {
			hit.Score = *h.Score
		}
		out = append(out, hit)
	}
	return out, nil
}

package elastic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
)

// Every search must ask for these parameters.
var searchParams = url.Values{"allow_partial_search_results": {"false"}}

// checkShape asserts the parts of a search body every query shares: the
// three should clauses for text, its 3-grams and the exact code, the
// collapse on concept_id and the size.
func checkShape(t *testing.T, body any, text string, size int) {
	t.Helper()
	sameJSON(t, "should", at(t, body, "query/bool/should"), `[
		{"match": {"text": {"query": `+quote(text)+`, "boost": 2}}},
		{"match": {"text.ngram": {"query": `+quote(text)+`, "minimum_should_match": "60%"}}},
		{"term": {"concept_code": {"value": `+quote(text)+`, "boost": 10}}}
	]`)
	sameJSON(t, "minimum_should_match", at(t, body, "query/bool/minimum_should_match"), `1`)
	sameJSON(t, "collapse", at(t, body, "collapse"), `{"field": "concept_id"}`)
	sameJSON(t, "size", at(t, body, "size"), itoa(size))
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
func itoa(n int) string     { b, _ := json.Marshal(n); return string(b) }

func TestSearchLexicalWithFilters(t *testing.T) {
	c := recorded(t, exchange{
		method: http.MethodPost, path: "/portiere-concepts/_search", query: searchParams,
		check: func(t *testing.T, b []byte) {
			body := decodeJSON(t, b)
			checkShape(t, body, "type 2 diabetes", 3)
			sameJSON(t, "filter", at(t, body, "query/bool/filter"), `[
				{"terms": {"vocabulary_id": ["SNOMED"]}},
				{"terms": {"domain_id": ["Condition", "Observation"]}},
				{"terms": {"concept_class_id": ["Clinical Finding"]}},
				{"bool": {"must_not": [{"exists": {"field": "invalid_reason"}}]}}
			]`)
		},
		status: http.StatusOK, fixture: "search_filtered.json",
	})
	hits, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{
		Text:  "  type 2 diabetes ",
		Limit: 3,
		Filter: search.Filter{
			Vocabularies: []string{"SNOMED"},
			Domains:      []string{"Condition", "Observation"},
			Classes:      []string{"Clinical Finding"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []search.LexicalHit{
		{ConceptID: 201826, Text: "Type 2 diabetes mellitus", Field: "name", Score: 21.73418},
		{ConceptID: 4193704, Text: "Type 2 diabetes mellitus without complication", Field: "synonym", Score: 17.902851},
		{ConceptID: 443732, Text: "Type 2 diabetes mellitus with renal complication", Field: "synonym", Score: 15.11207},
	}
	if !reflect.DeepEqual(hits, want) {
		t.Errorf("hits\n%+v\nwant\n%+v", hits, want)
	}
}

func TestSearchLexicalStandardOnly(t *testing.T) {
	c := recorded(t, exchange{
		method: http.MethodPost, path: "/portiere-concepts/_search", query: searchParams,
		check: func(t *testing.T, b []byte) {
			body := decodeJSON(t, b)
			checkShape(t, body, "type 2 diabetes without complications", 10)
			// A standard concept meeting the filters, or a non-standard one
			// with a maps_to target that meets them all by itself.
			sameJSON(t, "filter", at(t, body, "query/bool/filter"), `[{"bool": {
				"minimum_should_match": 1,
				"should": [
					{"bool": {"filter": [
						{"term": {"standard_concept": "S"}},
						{"terms": {"vocabulary_id": ["SNOMED"]}},
						{"terms": {"domain_id": ["Condition"]}},
						{"bool": {"must_not": [{"exists": {"field": "invalid_reason"}}]}}
					]}},
					{"bool": {
						"must_not": [{"term": {"standard_concept": "S"}}],
						"filter": [{"nested": {"path": "maps_to", "query": {"bool": {"filter": [
							{"terms": {"maps_to.vocabulary_id": ["SNOMED"]}},
							{"terms": {"maps_to.domain_id": ["Condition"]}}
						]}}}}]
					}}
				]
			}}]`)
		},
		status: http.StatusOK, fixture: "search_standard_only.json",
	})
	var asked []int32
	hits, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{
		Text:   "type 2 diabetes without complications",
		Filter: search.Filter{StandardOnly: true, Vocabularies: []string{"SNOMED"}, Domains: []string{"Condition"}},
		Keep: func(id int32) bool {
			asked = append(asked, id)
			return id != 4193704
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ICD10CM hit names the non-standard concept; the engine follows
	// its "Maps to". Keep dropped 4193704.
	want := []search.LexicalHit{
		{ConceptID: 201826, Text: "Type 2 diabetes mellitus", Field: "name", Score: 19.220406},
		{ConceptID: 45533017, Text: "Type 2 diabetes mellitus without complications", Field: "name", Score: 18.00653},
	}
	if !reflect.DeepEqual(hits, want) {
		t.Errorf("hits\n%+v\nwant\n%+v", hits, want)
	}
	if !reflect.DeepEqual(asked, []int32{201826, 45533017, 4193704}) {
		t.Errorf("Keep asked about %v", asked)
	}
}

func TestSearchLexicalStandardOnlyWithoutLists(t *testing.T) {
	c := recorded(t, exchange{
		method: http.MethodPost, path: "/portiere-concepts/_search", query: searchParams,
		check: func(t *testing.T, b []byte) {
			// Any standard target will do: nested match_all.
			sameJSON(t, "maps_to branch", at(t, decodeJSON(t, b), "query/bool/filter/0/bool/should/1"), `{"bool": {
				"must_not": [{"term": {"standard_concept": "S"}}],
				"filter": [{"nested": {"path": "maps_to", "query": {"match_all": {}}}}]
			}}`)
		},
		status: http.StatusOK, fixture: "search_standard_only.json",
	})
	_, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{
		Text: "type 2 diabetes", Filter: search.Filter{StandardOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSearchLexicalExactCode(t *testing.T) {
	c := recorded(t, exchange{
		method: http.MethodPost, path: "/portiere-concepts/_search", query: searchParams,
		check: func(t *testing.T, b []byte) {
			body := decodeJSON(t, b)
			checkShape(t, body, "E11.9", 5)
			sameJSON(t, "code clause", at(t, body, "query/bool/should/2"), `{"term": {"concept_code": {"value": "E11.9", "boost": 10}}}`)
			if _, ok := at(t, body, "query/bool").(map[string]any)["filter"]; ok {
				t.Error("IncludeInvalid with no lists still sent a filter")
			}
		},
		status: http.StatusOK, fixture: "search_code.json",
	})
	hits, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{
		Text: "E11.9", Limit: 5, Filter: search.Filter{IncludeInvalid: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].ConceptID != 45533017 || hits[0].Score < 10*hits[1].Score {
		t.Errorf("the concept with code E11.9 should lead by far: %+v", hits)
	}
}

func TestSearchLexicalIndexNotFound(t *testing.T) {
	c := recorded(t, exchange{
		method: http.MethodPost, path: "/portiere-concepts/_search",
		status: http.StatusNotFound, fixture: "search_index_not_found.json",
	})
	_, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{Text: "diabetes"})
	if !errors.Is(err, elastic.ErrIndexNotFound) {
		t.Fatalf("got %v, want ErrIndexNotFound", err)
	}
	var e *elastic.Error
	if !errors.As(err, &e) || e.Status != 404 || !strings.Contains(err.Error(), "no such index [portiere-concepts]") {
		t.Errorf("error %q (%#v) should carry the status and Elasticsearch's reason", err, e)
	}
}

func TestSearchLexicalEmptyQuery(t *testing.T) {
	c := recorded(t) // no request may be made
	_, err := c.Searcher("portiere-concepts").SearchLexical(context.Background(), search.LexicalQuery{Text: " \t"})
	if !errors.Is(err, search.ErrEmptyQuery) {
		t.Errorf("got %v, want search.ErrEmptyQuery", err)
	}
}

// The Searcher is the lexical tier search.Engine can use.
var _ search.LexicalSearcher = (*elastic.Searcher)(nil)

package elastic_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
)

// TestIntegration runs the population steps and searches against a real
// Elasticsearch 8 node (estest: the one make test starts, or one of the test
// binary's own), in an index of its own that it deletes afterwards.
func TestIntegration(t *testing.T) {
	addr := estest.URL(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := elastic.New(es)
	index, aliasName := estest.IndexName(t, "portiere-test"), estest.IndexName(t, "portiere-test-alias")
	t.Cleanup(func() {
		// Deleting the index removes the alias with it.
		if err := cl.DeleteIndex(context.Background(), index); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	for range 2 { // the second time finds the index and checks its mapping
		if err := cl.CreateIndex(ctx, index); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("analyzer", func(t *testing.T) { checkAnalyzer(t, ctx, es, index) })

	corpus := testCorpus(t)
	var total int64
	for pass := range 2 { // the second pass overwrites: same _ids
		for _, docs := range elastic.DocumentsFor(corpus, 4) {
			if err := cl.BulkIndex(ctx, index, docs); err != nil {
				t.Fatal(err)
			}
			if pass == 0 {
				total += int64(len(docs))
			}
		}
	}
	if err := cl.Refresh(ctx, index); err != nil {
		t.Fatal(err)
	}
	if n, err := cl.Count(ctx, index); err != nil || n != total {
		t.Fatalf("Count = %d, %v; want %d", n, err, total)
	}
	for range 2 {
		if err := cl.SwapAlias(ctx, aliasName, index); err != nil {
			t.Fatal(err)
		}
	}

	// Swapping to a second index leaves the alias on it alone; the first
	// keeps its documents.
	next := estest.IndexName(t, "portiere-test-next")
	t.Cleanup(func() {
		if err := cl.DeleteIndex(context.Background(), next); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := cl.CreateIndex(ctx, next); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{next, index} {
		if err := cl.SwapAlias(ctx, aliasName, to); err != nil {
			t.Fatal(err)
		}
		res, err := es.Indices.GetAlias(es.Indices.GetAlias.WithName(aliasName), es.Indices.GetAlias.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		var holders map[string]any
		err = json.NewDecoder(res.Body).Decode(&holders)
		res.Body.Close()
		if _, ok := holders[to]; err != nil || len(holders) != 1 || !ok {
			t.Fatalf("after the swap to %s the alias names %v (%v)", to, holders, err)
		}
		want := total
		if to == next {
			want = 0
		}
		if n, err := cl.Count(ctx, aliasName); err != nil || n != want {
			t.Fatalf("alias on %s counts %d, %v; want %d", to, n, err, want)
		}
	}

	s := cl.Searcher(aliasName)
	ids := func(q search.LexicalQuery) []int32 {
		t.Helper()
		hits, err := s.SearchLexical(ctx, q)
		if err != nil {
			t.Fatalf("%q: %v", q.Text, err)
		}
		var out []int32
		for _, h := range hits {
			if h.Text == "" || (h.Field != "name" && h.Field != "synonym") || h.Score <= 0 {
				t.Errorf("%q: malformed hit %+v", q.Text, h)
			}
			out = append(out, h.ConceptID)
		}
		return out
	}
	unique := func(xs []int32) bool {
		return len(slices.Compact(slices.Sorted(slices.Values(xs)))) == len(xs)
	}

	got := ids(search.LexicalQuery{Text: "type 2 diabetes mellitus", Limit: 5})
	if len(got) == 0 || got[0] != 201826 || !unique(got) {
		t.Errorf("type 2 diabetes mellitus: %v, want 201826 first and each concept once", got)
	}
	for _, code := range []string{"E11.9", "e11.9"} {
		if got := ids(search.LexicalQuery{Text: code, Limit: 5}); len(got) == 0 || got[0] != 45533017 {
			t.Errorf("code %s: %v, want 45533017 first", code, got)
		}
	}
	if got := ids(search.LexicalQuery{Text: "diabetis melitus typ 2", Limit: 3}); !slices.Contains(got, 201826) {
		t.Errorf("misspelt: %v, want 201826 in the top 3", got)
	}
	if got := ids(search.LexicalQuery{Text: "metformin 500mg tablet", Limit: 3}); len(got) == 0 || got[0] != 1503328 {
		t.Errorf("metformin 500mg tablet: %v, want 1503328 first", got)
	}

	// Standard-only: the ICD10CM code is reached because it maps to a
	// SNOMED Condition; asking for RxNorm drops it.
	std := search.Filter{StandardOnly: true, Vocabularies: []string{"SNOMED"}, Domains: []string{"Condition"}}
	if got := ids(search.LexicalQuery{Text: "E11.9", Filter: std}); !reflect.DeepEqual(got, []int32{45533017}) {
		t.Errorf("standard-only E11.9: %v, want [45533017]", got)
	}
	if got := ids(search.LexicalQuery{Text: "E11.9", Filter: search.Filter{StandardOnly: true, Vocabularies: []string{"RxNorm"}}}); len(got) != 0 {
		t.Errorf("standard-only RxNorm E11.9: %v, want none", got)
	}
	for _, id := range ids(search.LexicalQuery{Text: "diabetes mellitus", Limit: 20, Filter: std}) {
		if id == 35206882 || id == 45533017 || id == 40482801 {
			// Non-standard, mapping to SNOMED Conditions. 40482801 is
			// itself invalid; like search.Engine, standard-only judges the
			// target, not the source.
			continue
		}
		if c, _ := corpus.Lookup(id); c.Standard != "S" || c.Vocabulary != "SNOMED" {
			t.Errorf("standard-only returned %d (%s %q)", id, c.Vocabulary, c.Standard)
		}
	}

	// Invalid concepts only when asked for.
	snomed := search.Filter{Vocabularies: []string{"SNOMED"}}
	if got := ids(search.LexicalQuery{Text: "type II diabetes mellitus uncontrolled", Limit: 20, Filter: snomed}); slices.Contains(got, 40482801) {
		t.Errorf("invalid concept returned: %v", got)
	}
	snomed.IncludeInvalid = true
	if got := ids(search.LexicalQuery{Text: "type II diabetes mellitus uncontrolled", Limit: 20, Filter: snomed}); !slices.Contains(got, 40482801) {
		t.Errorf("IncludeInvalid: 40482801 missing from %v", got)
	}
}

// checkAnalyzer asks the index's clinical analyzer about the spellings
// search.Analyzer treats as one.
func checkAnalyzer(t *testing.T, ctx context.Context, es *elasticsearch.Client, index string) {
	analyze := func(text string) []string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"analyzer": "clinical", "text": text})
		res, err := es.Indices.Analyze(es.Indices.Analyze.WithIndex(index), es.Indices.Analyze.WithBody(strings.NewReader(string(body))), es.Indices.Analyze.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.IsError() {
			t.Fatalf("analyze %q: %s", text, res)
		}
		var out struct {
			Tokens []struct {
				Token string `json:"token"`
			} `json:"tokens"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		var terms []string
		for _, tk := range out.Tokens {
			terms = append(terms, tk.Token)
		}
		return terms
	}
	for _, p := range [][2]string{
		{"500mg", "500 mg"},
		{"500 milligrams", "500 MG"},
		{"0.1%", "0,10 %"},
		{".5 ml", "0.50 mL"},
		{"Haemorrhage of oesophagus", "hemorrhage esophagus"},
		{"Tumour", "tumor"},
		{"Sjögren syndrome", "sjogren syndrome"},
		{"metabolic disorder", "Metabolism disorders"},
		{"250 µg", "250 mcg"},
		{"paracetamol 500 mg", "acetaminophen 500mg"},
		{"aminocaproic acid;50mg;Intravenous", "aminocaproic acid 50 mg intravenous"},
	} {
		if a, b := analyze(p[0]), analyze(p[1]); !reflect.DeepEqual(a, b) {
			t.Errorf("%q → %v, %q → %v: want equal", p[0], a, p[1], b)
		}
	}
	// The index's analyzer and the embedded one (search.Analyzer) must
	// make the same terms, or the two lexical tiers rank differently.
	var embedded search.Analyzer
	for _, text := range []string{
		"Type 2 diabetes mellitus without complication",
		"Metformin hydrochloride 500 MG Oral Tablet",
		"amoxicillin 250mg/5ml oral suspension",
		"Haemorrhage of oesophagus, unspecified",
		"Tumour of the centre of the colour-blind optic nerve",
		"Acute myocardial infarction of anterolateral wall",
		"Insulin glargine 100 UNT/ML Injectable Solution",
		"Sodium chloride 0.9 % Injectable Solution",
		"Vitamin D3 1,000 IU; cholecalciferol .025 mg",
		"Sjögren's syndrome with keratoconjunctivitis",
		"Hemoglobin A1c/Hemoglobin.total in Blood",
		"Paediatric oedema, foetal anaemia, organisation",
	} {
		var want []string
		for _, tk := range embedded.Analyze(text) {
			want = append(want, tk.Term)
		}
		if got := analyze(text); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: Elasticsearch %v, embedded %v", text, got, want)
		}
	}
	if got := strings.Join(analyze("E11.9 Type 2 diabetes"), " "); got != "e 11.9 type 2 diabet" {
		t.Errorf("code and numbers: %q, want %q", got, "e 11.9 type 2 diabet")
	}
}

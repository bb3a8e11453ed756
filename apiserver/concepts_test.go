package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// conceptServer serves concept search over a small corpus behind the real
// authenticator; key is a viewer's read-scope key, the least a reader can
// hold.
func conceptServer(t *testing.T) (s *apiserver.Server, key string) {
	t.Helper()
	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 1125315, Name: "acetaminophen 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "198440"},
		{ID: 4120120, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"},
		{ID: 45576876, Name: "Type 2 diabetes mellitus without complications", Domain: "Condition", Vocabulary: "ICD10CM", Class: "5-char billing code", Code: "E11.9"},
		{ID: 201826, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"},
	} {
		b.AddConcept(c)
	}
	b.AddRelationship(45576876, 201826, "Maps to", "")
	var live search.Live
	live.Set(search.NewEngine(b.Build(), search.Options{}))
	k := newTenants(t, dbtest.New(t))
	org := k.org(t, "search-org")
	key = k.key(t, org.ID, k.member(t, org.ID, tenancy.RoleViewer).ID, credential.ScopeRead)
	return k.server(t, &apiserver.ConceptSearch{Search: &live}), key
}

// post sends body to path with key in X-Portiere-API-Key (none when "").
func post(t *testing.T, s *apiserver.Server, key, path, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(credential.HeaderAPIKey, key)
	}
	res, b := do(t, s, req)
	var m map[string]any
	json.Unmarshal(b, &m)
	return res.StatusCode, m, res.Header.Get("X-Cache")
}

func TestConceptSearchSDKShape(t *testing.T) {
	s, key := conceptServer(t)
	// Exactly what the portiere-health SDK sends.
	code, body, _ := post(t, s, key, "/api/v1/concepts/search", `{"query": "paracetamol 500mg", "vocabulary": null, "domain": null, "limit": 10}`)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	results := body["results"].([]any)
	top := results[0].(map[string]any)
	for _, k := range []string{"concept_id", "concept_name", "vocabulary_id", "domain_id", "concept_class_id", "standard_concept", "score"} {
		if _, ok := top[k]; !ok {
			t.Errorf("result lacks %s: %v", k, top)
		}
	}
	if top["concept_id"].(float64) != 1125315 {
		t.Errorf("top %v", top)
	}
	code, body, _ = post(t, s, key, "/api/v1/concepts/search", `{"query": "E11.9", "vocabulary": "SNOMED", "standard_only": true}`)
	top = body["results"].([]any)[0].(map[string]any)
	if code != 200 || top["concept_id"].(float64) != 201826 || top["explanation"].(map[string]any)["mapped_from"].(float64) != 45576876 {
		t.Fatalf("maps-to via API: %d %v", code, body)
	}
	code, body, _ = post(t, s, key, "/api/v1/concepts/search", `{"query": "dialysis", "domain": ["Procedure", "Drug"], "limit": 1}`)
	if code != 200 || len(body["results"].([]any)) != 1 {
		t.Fatalf("list filter, limit 1: %d %v", code, body)
	}
}

func TestConceptSearchValidation(t *testing.T) {
	s, key := conceptServer(t)
	for name, body := range map[string]string{
		"empty query":        `{"query": "  "}`,
		"no query":           `{}`,
		"limit 0":            `{"query": "x", "limit": 0}`,
		"limit 1001":         `{"query": "x", "limit": 1001}`,
		"unknown vocabulary": `{"query": "x", "vocabulary": "NOPE"}`,
		"bad JSON":           `{"query": `,
		"bad vocabulary":     `{"query": "x", "vocabulary": 5}`,
	} {
		code, resp, _ := post(t, s, key, "/api/v1/concepts/search", body)
		if code != 422 || resp["detail"] == nil || resp["detail"] == "" {
			t.Errorf("%s: %d %v", name, code, resp)
		}
	}
}

func TestConceptSearchWithoutIndexIs503(t *testing.T) {
	k := newTenants(t, dbtest.New(t))
	s := k.server(t, &apiserver.ConceptSearch{Search: &search.Live{}})
	key := k.key(t, k.org(t, "search-503").ID, "", credential.ScopeRead)
	code, body, _ := post(t, s, key, "/api/v1/concepts/search", `{"query": "x"}`)
	if code != 503 || !strings.Contains(body["detail"].(string), "not loaded") {
		t.Fatalf("%d %v", code, body)
	}
}

func TestConceptSearchIsCached(t *testing.T) {
	s, key := conceptServer(t)
	q := `{"query": "hemodialysis"}`
	_, first, c1 := post(t, s, key, "/api/v1/concepts/search", q)
	_, second, c2 := post(t, s, key, "/api/v1/concepts/search", q)
	if c1 != "miss" || c2 != "hit" {
		t.Fatalf("X-Cache %q then %q", c1, c2)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(second)
	if string(a) != string(b) {
		t.Fatal("cached answer differs")
	}
}

// Concept search and detail are for members of an organization, whatever
// their role and scope, and for the operator; not for anonymous callers.
func TestConceptRoutesNeedCredentials(t *testing.T) {
	t.Parallel()
	k := newTenants(t, dbtest.New(t))
	b := search.NewCorpusBuilder()
	b.AddConcept(search.Concept{ID: 4120120, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"})
	var live search.Live
	live.Set(search.NewEngine(b.Build(), search.Options{}))
	s := k.server(t, &apiserver.ConceptSearch{Search: &live}, &apiserver.ConceptDetail{Concepts: vocabstore.New(dbtest.New(t))})
	org := k.org(t, "readers")
	viewer := k.member(t, org.ID, tenancy.RoleViewer)
	read := k.key(t, org.ID, viewer.ID, credential.ScopeRead)
	tok, err := k.Auth.ExchangeKey(context.Background(), read)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range [][3]string{{"POST", "/api/v1/concepts/search", `{"query": "hemodialysis"}`}, {"GET", "/api/v1/concepts/4120120", ""}} {
		method, path, body := route[0], route[1], route[2]
		if st, answer := callAPI(t, s, method, path, nil, body); st != 401 || !strings.Contains(detailOf(t, path, answer), "credentials required") {
			t.Errorf("%s %s without credentials: %d %v, want 401", method, path, st, answer)
		}
		if st, answer := callAPI(t, s, method, path, bearer(credential.NewAPIKey()), body); st != 401 {
			t.Errorf("%s %s with an unknown key: %d %v, want 401", method, path, st, answer)
		}
		// The detail's vocabulary is empty here: 404 proves authentication passed.
		want := 200
		if method == "GET" {
			want = 404
		}
		for name, h := range map[string]map[string]string{
			"a viewer's read key": apiKeyHeader(read), "its access token": bearer(tok.AccessToken), "the operator token": bearer(adminToken),
		} {
			if st, answer := callAPI(t, s, method, path, h, body); st != want {
				t.Errorf("%s %s with %s: %d %v, want %d", method, path, name, st, answer, want)
			}
		}
	}
}

package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func TestMain(m *testing.M) { dbtest.Main(m, stripetest.Stop) }

// demoServer serves the demo vocabulary from its own PostgreSQL database.
// key is a viewer's read-scope key.
func demoServer(t *testing.T) (s *apiserver.Server, key string) {
	t.Helper()
	pool := dbtest.New(t)
	store := vocabstore.New(pool)
	if _, err := vocab.NewImporter(store).Import(context.Background(), "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	k := newTenants(t, pool)
	org := k.org(t, "detail-org")
	key = k.key(t, org.ID, k.member(t, org.ID, tenancy.RoleViewer).ID, credential.ScopeRead)
	return k.server(t, &apiserver.ConceptDetail{Concepts: store}), key
}

// get fetches path with key in X-Portiere-API-Key (none when "").
func get(t *testing.T, s *apiserver.Server, key, path string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if key != "" {
		req.Header.Set(credential.HeaderAPIKey, key)
	}
	res, b := do(t, s, req)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %s", path, res.StatusCode, b)
	}
	return res.StatusCode, m, res.Header.Get("X-Cache")
}

func TestConceptDetail(t *testing.T) {
	t.Parallel()
	s, key := demoServer(t)

	// UCUM "activity": upgraded, mapped to "percent activity".
	code, body, cached := get(t, s, key, "/api/v1/concepts/8567")
	if code != 200 || cached != "miss" {
		t.Fatalf("%d (X-Cache %q) %v", code, cached, body)
	}
	for k, want := range map[string]any{
		"concept_id": 8567.0, "concept_name": "activity", "domain_id": "Unit", "vocabulary_id": "UCUM",
		"concept_class_id": "Unit", "standard_concept": nil, "concept_code": "{activity}",
		"valid_start_date": "1970-01-01", "valid_end_date": "2014-01-03", "invalid_reason": "U",
		"relationships_total": 4.0, "relationships_truncated": false,
	} {
		if got, ok := body[k]; !ok || got != want {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	if syns, ok := body["synonyms"].([]any); !ok || len(syns) != 0 {
		t.Errorf("synonyms %#v, want []", body["synonyms"])
	}
	rels := body["relationships"].([]any)
	var mapsTo map[string]any
	for _, r := range rels {
		r := r.(map[string]any)
		if r["relationship_id"] == "Maps to" {
			mapsTo = r
		}
	}
	want := map[string]any{
		"relationship_id": "Maps to", "direction": "outgoing", "reversed": false, "concept_id": 8687.0,
		"concept_name": "percent activity", "domain_id": "Unit", "vocabulary_id": "UCUM", "concept_class_id": "Unit",
		"standard_concept": "S", "concept_invalid_reason": nil,
		"valid_start_date": "1970-01-01", "valid_end_date": "2099-12-31", "invalid_reason": nil, "valid": true,
	}
	if len(mapsTo) != len(want) {
		t.Fatalf("Maps to: %#v among %v", mapsTo, rels)
	}
	for k, v := range want {
		if mapsTo[k] != v {
			t.Errorf("Maps to %s = %#v, want %#v", k, mapsTo[k], v)
		}
	}
	if len(rels) != 4 || rels[2].(map[string]any)["direction"] != "incoming" {
		t.Errorf("relationships %v", rels)
	}

	// The second time from the cache, identical.
	_, again, cached := get(t, s, key, "/api/v1/concepts/8567")
	a, _ := json.Marshal(body)
	b, _ := json.Marshal(again)
	if cached != "hit" || string(a) != string(b) {
		t.Errorf("X-Cache %q; cached answer differs: %v", cached, string(a) != string(b))
	}

	// An ICD10CM code with synonyms.
	code, body, _ = get(t, s, key, "/api/v1/concepts/2100013681")
	if code != 200 || body["concept_code"] != "K43.6" {
		t.Fatalf("%d %v", code, body)
	}
	syns := body["synonyms"].([]any)
	first := syns[0].(map[string]any)
	if len(syns) != 21 || first["language_concept_id"] != 4180186.0 || first["concept_synonym_name"] == "" {
		t.Errorf("synonyms %v", syns)
	}
}

func TestConceptDetailErrors(t *testing.T) {
	t.Parallel()
	s, key := demoServer(t)
	for path, status := range map[string]int{
		"/api/v1/concepts/123456789":   404,
		"/api/v1/concepts/abc":         422,
		"/api/v1/concepts/-1":          422,
		"/api/v1/concepts/0":           422,
		"/api/v1/concepts/99999999999": 422,
		"/api/v1/concepts/2147483648":  422,
	} {
		code, body, _ := get(t, s, key, path)
		if detail, _ := body["detail"].(string); code != status || detail == "" {
			t.Errorf("%s: %d %v, want %d with a detail", path, code, body, status)
		}
	}
	// Not-found answers are not cached: a later import may add the concept.
	if _, _, cached := get(t, s, key, "/api/v1/concepts/123456789"); cached == "hit" {
		t.Error("404 served from the cache")
	}
}

// A resource whose dependency is missing is not registered: its route is
// absent (404) and so is its documentation.
func TestConceptDetailWithoutVocabularyIsNotRegistered(t *testing.T) {
	s, err := apiserver.New(apiserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := get(t, s, "", "/api/v1/concepts/8567")
	if code != 404 {
		t.Fatalf("%d %v", code, body)
	}
	if s.Documented("GET", "/api/v1/concepts/:id") {
		t.Error("unregistered route documented")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/esnode"
)

// `portiere dev --elasticsearch` starts a node in its data folder, fills
// the alias, and the API searches through it: a text that exists only in
// the node's index (written there directly, after start-up) is found by the
// API's concept search. SIGTERM stops the node with the rest.
func TestDevElasticsearch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Temporal and Elasticsearch")
	}
	if _, err := esnode.Find(); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v (PORTIERE_REQUIRE_TOOLS is set)", err)
		}
		t.Skip(err)
	}
	d, ready := startDev(t, 3*time.Minute, "--elasticsearch")
	api, stdout, stderr := d.api, d.stdout, d.stderr
	if !strings.Contains(ready, `"elasticsearch":{"status":"ok"`) {
		t.Errorf("readiness does not check Elasticsearch: %s", ready)
	}
	m := regexp.MustCompile(`Elasticsearch  (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("Elasticsearch URL not printed:\n%s", stdout.String())
	}
	esURL := m[1]
	if strings.Contains(stderr.String(), "alias not populated") {
		t.Fatalf("the API fell back to the embedded lexical index:\n%s", stderr.String())
	}

	// A document only the node has: if the API finds it, its lexical tier
	// is Elasticsearch.
	doc := `{"concept_id":201826,"text":"zyxwvut marker condition","field":"synonym","concept_name":"Type 2 diabetes mellitus","vocabulary_id":"SNOMED","domain_id":"Condition","concept_class_id":"Clinical Finding","standard_concept":"S"}`
	res, err := http.Post(esURL+"/portiere-concepts/_doc/marker?refresh=true", "application/json", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("indexing the marker document: %s", res.Status)
	}
	var found struct {
		Results []struct {
			ConceptID   int32 `json:"concept_id"`
			Explanation struct {
				LexicalRank int `json:"lexical_rank"`
			} `json:"explanation"`
		} `json:"results"`
	}
	// Concept search needs credentials: the demo key portiere dev prints.
	keyM := regexp.MustCompile(`Demo API key\s+(pt_sk_\S+)`).FindStringSubmatch(d.stdout.String())
	if keyM == nil {
		t.Fatalf("demo key not printed:\n%s", d.stdout.String())
	}
	marked := func() (bool, string) {
		req, _ := http.NewRequest("POST", api+"/api/v1/concepts/search", strings.NewReader(`{"query":"zyxwvut marker","limit":5}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Portiere-API-Key", keyM[1])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if err := json.Unmarshal(b.Bytes(), &found); err != nil {
			return false, res.Status + " " + b.String()
		}
		for _, r := range found.Results {
			if r.ConceptID == 201826 && r.Explanation.LexicalRank == 1 {
				return true, ""
			}
		}
		return false, res.Status + " " + b.String()
	}
	// Retried a little: on a loaded machine the first searches may time out.
	for deadline := time.Now().Add(30 * time.Second); ; {
		ok, got := marked()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search through the API: %s; want 201826 first in the lexical tier, on the node's marker text\nstderr:\n%s", got, stderr.String())
		}
		time.Sleep(time.Second)
	}

	d.stop(t, 90*time.Second)
}

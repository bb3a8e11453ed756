package workflows_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/workflows"
)

// esServer is a loopback Elasticsearch 8 answering with responses recorded
// from a real cluster (search/elastic/testdata, testdata/es). Bulk responses
// are the recorded item repeated for each document sent, as Elasticsearch
// answers. It checks each request and keeps the order they came in.
type esServer struct {
	t     *testing.T
	alias string

	mu        sync.Mutex
	ops       []string        // "create", "bulk", "bulk-429", "refresh", "count", "get-alias", "update-aliases"
	indexes   map[string]bool // created
	docs      map[string]bool // document ids written
	reject429 int             // bulk requests still to answer with 429
	lose      int             // documents the count leaves out
	counts    int
	aliasBody []byte
}

func newESServer(t *testing.T, alias string) (*esServer, *elastic.Client) {
	t.Helper()
	s := &esServer{t: t, alias: alias, indexes: map[string]bool{}, docs: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	// DisableRetry: the activity's retry policy, not the client, must
	// recover from a rejected bulk request.
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, elastic.New(es)
}

var (
	reIndex   = regexp.MustCompile(`^/([a-z0-9._-]+)$`)
	reIndexOp = regexp.MustCompile(`^/([a-z0-9._-]+)/(_bulk|_refresh|_count)$`)
)

func (s *esServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("reading request body: %v", err)
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch") // else the client refuses the server
	w.Header().Set("Content-Type", "application/json")
	reply := func(op string, status int, b []byte) {
		s.ops = append(s.ops, op)
		w.WriteHeader(status)
		w.Write(b)
	}
	m := reIndexOp.FindStringSubmatch(r.URL.Path)
	switch {
	case r.Method == http.MethodPut && reIndex.MatchString(r.URL.Path):
		index := r.URL.Path[1:]
		var req struct {
			Mappings struct {
				Meta map[string]string `json:"_meta"`
			} `json:"mappings"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Mappings.Meta["portiere_mapping"] != elastic.MappingVersion() {
			s.t.Errorf("create index %s: mapping version %v (%v)", index, req.Mappings.Meta, err)
		}
		s.indexes[index] = true
		reply("create", http.StatusOK, bytes.ReplaceAll(esFixture(s.t, "create_index.json"), []byte("portiere-concepts-20260101"), []byte(index)))
	case m != nil && r.Method == http.MethodPost && m[2] == "_bulk":
		if !s.indexes[m[1]] {
			s.t.Errorf("bulk into %s before it was created", m[1])
		}
		if s.reject429 > 0 {
			s.reject429--
			reply("bulk-429", http.StatusTooManyRequests, esFixture(s.t, "es/bulk_rejected_429.json"))
			return
		}
		reply("bulk", http.StatusOK, s.bulk(m[1], body))
	case m != nil && r.Method == http.MethodPost && m[2] == "_refresh":
		reply("refresh", http.StatusOK, esFixture(s.t, "es/refresh.json"))
	case m != nil && r.Method == http.MethodPost && m[2] == "_count":
		s.counts++
		n := len(s.docs) - s.lose
		reply("count", http.StatusOK, bytes.Replace(esFixture(s.t, "count.json"), []byte("4213877"), []byte(fmt.Sprint(n)), 1))
	case r.Method == http.MethodGet && r.URL.Path == "/_alias/"+s.alias:
		reply("get-alias", http.StatusNotFound, esFixture(s.t, "get_alias_missing.json"))
	case r.Method == http.MethodPost && r.URL.Path == "/_aliases":
		s.aliasBody = body
		reply("update-aliases", http.StatusOK, esFixture(s.t, "update_aliases_ack.json"))
	default:
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		reply("unexpected", http.StatusBadRequest, []byte(`{"error":{"type":"unexpected_request","reason":"not recorded"},"status":400}`))
	}
}

// bulk records the documents of an NDJSON bulk body and answers with the
// recorded item of bulk_ok.json for each.
func (s *esServer) bulk(index string, body []byte) []byte {
	var recorded struct {
		Items []map[string]map[string]any `json:"items"`
	}
	if err := json.Unmarshal(esFixture(s.t, "bulk_ok.json"), &recorded); err != nil || len(recorded.Items) == 0 {
		s.t.Errorf("bulk_ok.json: %v", err)
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	var items []map[string]map[string]any
	for line := 0; sc.Scan(); line++ {
		if line%2 == 1 {
			continue // the document
		}
		var action map[string]struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil || action["index"].ID == "" {
			s.t.Errorf("bulk line %d: %s (%v)", line, sc.Bytes(), err)
			continue
		}
		id := action["index"].ID
		s.docs[id] = true
		item := map[string]any{}
		for k, v := range recorded.Items[0]["index"] {
			item[k] = v
		}
		item["_index"], item["_id"] = index, id
		items = append(items, map[string]map[string]any{"index": item})
	}
	out, err := json.Marshal(map[string]any{"errors": false, "took": 9, "items": items})
	if err != nil {
		s.t.Error(err)
	}
	return out
}

func (s *esServer) log() (ops []string, docs int, aliasBody []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...), len(s.docs), s.aliasBody
}

// esFixture reads a recorded response: testdata/es/NAME here, else
// search/elastic's testdata/NAME.
func esFixture(t *testing.T, name string) []byte {
	path := filepath.Join("testdata", name)
	if !strings.HasPrefix(name, "es/") {
		path = filepath.Join("..", "search", "elastic", "testdata", name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
	}
	return bytes.ReplaceAll(b, []byte("{{MAPPING_VERSION}}"), []byte(elastic.MappingVersion()))
}

// TestESPopulateEndToEnd runs ESPopulateWorkflow with the real activities
// over the demo vocabulary against a recorded Elasticsearch: the index is
// created, filled chunk by chunk (one chunk rejected once with 429 and
// retried), refreshed and counted, and only then the alias moves to it.
func TestESPopulateEndToEnd(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	const alias = "portiere-concepts"
	es, esc := newESServer(t, alias)
	es.reject429 = 1
	acts := newActivities(pool, filepath.Join(t.TempDir(), "faiss.index"))
	acts.Elasticsearch = esc
	queue := inProcessWorker(t, tc, acts)
	corpus := mustCorpus(t, pool)
	wantDocs := 0
	for i := range corpus.Concepts {
		wantDocs += len(elastic.ConceptDocuments(corpus, &corpus.Concepts[i]))
	}

	run := startWorkflow(t, tc, queue, "es-populate-e2e", workflows.ESPopulateWorkflow,
		workflows.ESPopulateInput{Alias: alias, ChunkSize: 1000, Parallelism: 3})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.ESPopulateResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	ops, docs, aliasBody := es.log()
	t.Logf("%+v; requests %v", res, ops)

	wantIndex := activities.ESIndexName(alias, corpus.Fingerprint)
	if res.Index != wantIndex || res.Documents != wantDocs || docs != wantDocs || res.Chunks < 2 {
		t.Errorf("result %+v, %d documents written; want index %s with %d documents in several chunks", res, docs, wantIndex, wantDocs)
	}
	// create → bulk × chunks (one rejected, then retried) → refresh →
	// count → alias.
	var bulks, rejected int
	i := 0
	if ops[i] != "create" {
		t.Fatalf("first request %s, want create: %v", ops[i], ops)
	}
	for i++; i < len(ops) && strings.HasPrefix(ops[i], "bulk"); i++ {
		if ops[i] == "bulk" {
			bulks++
		} else {
			rejected++
		}
	}
	if bulks != res.Chunks || rejected != 1 {
		t.Errorf("%d bulk requests accepted and %d rejected, want %d and 1: %v", bulks, rejected, res.Chunks, ops)
	}
	if rest := strings.Join(ops[i:], " "); rest != "refresh count get-alias update-aliases" {
		t.Errorf("after the bulk requests: %q, want refresh, count, then the alias swap", rest)
	}
	var actions struct {
		Actions []map[string]struct{ Index, Alias string } `json:"actions"`
	}
	if err := json.Unmarshal(aliasBody, &actions); err != nil || len(actions.Actions) != 1 ||
		actions.Actions[0]["add"].Index != wantIndex || actions.Actions[0]["add"].Alias != alias {
		t.Errorf("alias update %s (%v), want one add of %s to %s", aliasBody, err, alias, wantIndex)
	}
	if os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
		saveHistory(t, tc, run.GetID(), run.GetRunID(), "espopulate.json")
	}
}

// TestESPopulateNeverMovesAliasOnCountMismatch: the index comes back one
// document short; the count is checked again (retried) and the alias is
// never touched, until the population is cancelled.
func TestESPopulateNeverMovesAliasOnCountMismatch(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	const alias = "portiere-concepts"
	es, esc := newESServer(t, alias)
	es.lose = 1
	acts := newActivities(pool, filepath.Join(t.TempDir(), "faiss.index"))
	acts.Elasticsearch = esc
	queue := inProcessWorker(t, tc, acts)

	run := startWorkflow(t, tc, queue, "es-populate-mismatch", workflows.ESPopulateWorkflow,
		workflows.ESPopulateInput{Alias: alias, ChunkSize: 2000})
	waitFor(t, "the count checked twice", 30*time.Second, func() bool {
		es.mu.Lock()
		defer es.mu.Unlock()
		return es.counts >= 2
	})
	if err := tc.CancelWorkflow(context.Background(), run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Errorf("workflow ended with %v, want cancelled", err)
	}
	ops, _, _ := es.log()
	t.Logf("requests %v", ops)
	for _, op := range ops {
		if op == "get-alias" || op == "update-aliases" {
			t.Fatalf("the alias was touched although the count never matched: %v", ops)
		}
	}
	if ops[len(ops)-1] != "count" {
		t.Errorf("last request %s, want count: %v", ops[len(ops)-1], ops)
	}
	desc, err := tc.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus().String(); st != "Canceled" {
		t.Errorf("status %s", st)
	}
}

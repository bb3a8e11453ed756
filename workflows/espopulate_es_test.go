package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// nodeLog sits between the client and a real Elasticsearch node and keeps
// the order of the requests that reached it, so a test can check that the
// alias moved last. It changes nothing in either direction.
type nodeLog struct {
	mu  sync.Mutex
	ops []string
}

var opPattern = []struct {
	re *regexp.Regexp
	op string
}{
	{regexp.MustCompile(`^PUT /[^/_][^/]*$`), "create"},
	{regexp.MustCompile(`^(POST|PUT) /[^/]+/_bulk$`), "bulk"},
	{regexp.MustCompile(`^POST /[^/]+/_refresh$`), "refresh"},
	{regexp.MustCompile(`^(GET|POST) /[^/]+/_count$`), "count"},
	{regexp.MustCompile(`^GET /_alias/[^/]+$`), "get-alias"},
	{regexp.MustCompile(`^POST /_aliases$`), "update-aliases"},
}

func (l *nodeLog) record(r *http.Request) {
	req := r.Method + " " + r.URL.Path
	op := "other " + req
	for _, p := range opPattern {
		if p.re.MatchString(req) {
			op = p.op
			break
		}
	}
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
}

func (l *nodeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.ops
	l.ops = nil
	return out
}

func (l *nodeLog) count(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.ops {
		if o == op {
			n++
		}
	}
	return n
}

// realES returns a client of the run's Elasticsearch node through a
// nodeLog, and a direct client for the test's own checks.
func realES(t *testing.T) (logged *elastic.Client, log *nodeLog, direct *elasticsearch.Client) {
	t.Helper()
	addr := estest.URL(t)
	target, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	log = &nodeLog{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	viaLog, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	direct, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	return elastic.New(viaLog), log, direct
}

// esJSON performs a request on the node and decodes its JSON answer.
func esJSON(t *testing.T, es *elasticsearch.Client, method, path string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, path, nil)
	if rd != nil {
		req, _ = http.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := es.Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// aliasIndices returns the indices alias points at on the node.
func aliasIndices(t *testing.T, es *elasticsearch.Client, alias string) []string {
	t.Helper()
	var got map[string]any
	if st := esJSON(t, es, http.MethodGet, "/_alias/"+alias, nil, &got); st == http.StatusNotFound {
		return nil
	}
	var out []string
	for idx := range got {
		out = append(out, idx)
	}
	slices.Sort(out)
	return out
}

func deleteIndices(t *testing.T, es *elasticsearch.Client, pattern string) {
	t.Cleanup(func() {
		esJSON(t, es, http.MethodDelete, "/"+pattern+"?expand_wildcards=all", nil, nil)
	})
}

// TestESPopulateRealNode runs ESPopulateWorkflow with the real activities
// over the demo vocabulary against a real Elasticsearch node. The alias
// first names an older index; it stays there while the new versioned index
// is created, filled chunk by chunk, refreshed and counted, and moves to it
// last, in one request. Searching the alias then finds the vocabulary. A
// second run is idempotent: same index, same documents, the alias untouched.
func TestESPopulateRealNode(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	esc, log, direct := realES(t)
	alias := estest.IndexName(t, "concepts")
	deleteIndices(t, direct, alias+"*")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The previous population's index holds the alias.
	old := alias + "-previous"
	if err := esc.CreateIndex(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := esc.SwapAlias(ctx, alias, old); err != nil {
		t.Fatal(err)
	}
	log.take()

	acts := newActivities(pool, filepath.Join(t.TempDir(), "faiss.index"))
	acts.Elasticsearch = esc
	queue := inProcessWorker(t, tc, acts)
	corpus := mustCorpus(t, pool)
	wantDocs := 0
	for i := range corpus.Concepts {
		wantDocs += len(elastic.ConceptDocuments(corpus, &corpus.Concepts[i]))
	}
	wantIndex := activities.ESIndexName(alias, corpus.Fingerprint)

	// Watch the alias while the population runs: it must name the old
	// index until the count has been checked.
	var sawEarly []string
	watchDone := make(chan struct{})
	stopWatch := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if log.count("count") == 0 {
				if got := aliasIndices(t, direct, alias); !slices.Equal(got, []string{old}) {
					sawEarly = got
				}
			}
		}
	}()

	var res workflows.ESPopulateResult
	for pass := range 2 {
		run := startWorkflow(t, tc, queue, alias+"-"+string(rune('a'+pass)), workflows.ESPopulateWorkflow,
			workflows.ESPopulateInput{Alias: alias, ChunkSize: 1000, Parallelism: 3})
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		if pass == 0 {
			close(stopWatch)
			<-watchDone
		}
		ops := log.take()
		t.Logf("pass %d: %+v; requests %v", pass, res, ops)
		if res.Index != wantIndex || res.Documents != wantDocs || res.Chunks < 2 {
			t.Errorf("pass %d: result %+v; want index %s with %d documents in several chunks", pass, res, wantIndex, wantDocs)
		}
		// create (the second time: find it and check its mapping) → bulk ×
		// chunks → refresh → count → alias.
		i := slices.Index(ops, "bulk")
		if i < 0 || !slices.Contains(ops[:i], "create") && pass == 0 {
			t.Fatalf("pass %d: no create before the bulk requests: %v", pass, ops)
		}
		bulks := 0
		for ; i < len(ops) && ops[i] == "bulk"; i++ {
			bulks++
		}
		if bulks != res.Chunks {
			t.Errorf("pass %d: %d bulk requests, want %d", pass, bulks, res.Chunks)
		}
		wantRest := "refresh count get-alias update-aliases"
		if pass == 1 {
			wantRest = "refresh count get-alias" // already in place: nothing to move
		}
		if rest := strings.Join(ops[i:], " "); rest != wantRest {
			t.Errorf("pass %d: after the bulk requests %q, want %q", pass, rest, wantRest)
		}
		if got := aliasIndices(t, direct, alias); !slices.Equal(got, []string{wantIndex}) {
			t.Errorf("pass %d: alias on %v, want only %s", pass, got, wantIndex)
		}
		var count struct{ Count int }
		esJSON(t, direct, http.MethodGet, "/"+alias+"/_count", nil, &count)
		if count.Count != wantDocs {
			t.Errorf("pass %d: the alias counts %d documents, want %d", pass, count.Count, wantDocs)
		}
	}
	if sawEarly != nil {
		t.Errorf("the alias named %v before the count was checked", sawEarly)
	}

	// The populated index answers through the alias like the embedded tier.
	hits, err := esc.Searcher(alias).SearchLexical(ctx, search.LexicalQuery{Text: "type 2 diabetes mellitus", Limit: 5})
	if err != nil || len(hits) == 0 || hits[0].ConceptID != 201826 {
		t.Errorf("search through the alias: %+v, %v; want 201826 first", hits, err)
	}
}

// TestESPopulateRealNodeCountMismatch provokes a real count mismatch: the
// versioned index already holds a stray document no population writes, so
// the node counts one more than the vocabulary has texts. The count is
// checked again (retried), and the alias is never touched, until the
// population is cancelled.
func TestESPopulateRealNodeCountMismatch(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	esc, log, direct := realES(t)
	alias := estest.IndexName(t, "concepts")
	deleteIndices(t, direct, alias+"*")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	corpus := mustCorpus(t, pool)
	index := activities.ESIndexName(alias, corpus.Fingerprint)
	if err := esc.CreateIndex(ctx, index); err != nil {
		t.Fatal(err)
	}
	stray := elastic.Document{ID: "stray", ConceptID: 1, Text: "stray", Field: "name", ConceptName: "stray", VocabularyID: "None", DomainID: "None", ConceptClassID: "None"}
	if err := esc.BulkIndex(ctx, index, []elastic.Document{stray}); err != nil {
		t.Fatal(err)
	}
	log.take()

	acts := newActivities(pool, filepath.Join(t.TempDir(), "faiss.index"))
	acts.Elasticsearch = esc
	queue := inProcessWorker(t, tc, acts)
	run := startWorkflow(t, tc, queue, alias+"-mismatch", workflows.ESPopulateWorkflow,
		workflows.ESPopulateInput{Alias: alias, ChunkSize: 2000})
	waitFor(t, "the count checked twice", 45*time.Second, func() bool { return log.count("count") >= 2 })
	if err := tc.CancelWorkflow(context.Background(), run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	err := run.Get(ctx, nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Errorf("workflow ended with %v, want cancelled", err)
	}
	ops := log.take()
	t.Logf("requests %v", ops)
	for _, op := range ops {
		if op == "get-alias" || op == "update-aliases" {
			t.Fatalf("the alias was touched although the count never matched: %v", ops)
		}
	}
	if got := aliasIndices(t, direct, alias); got != nil {
		t.Errorf("alias on %v, want on nothing", got)
	}
	var count struct{ Count int }
	esJSON(t, direct, http.MethodGet, "/"+index+"/_count", nil, &count)
	wantDocs := 0
	for i := range corpus.Concepts {
		wantDocs += len(elastic.ConceptDocuments(corpus, &corpus.Concepts[i]))
	}
	if count.Count != wantDocs+1 {
		t.Errorf("index counts %d, want the vocabulary's %d and the stray one", count.Count, wantDocs)
	}
}

// BenchmarkESPopulateDev: ESPopulateWorkflow through Temporal, with the
// real activities, over the 125k-concept development vocabulary (imported
// into PostgreSQL first, not timed) into the run's Elasticsearch node, with
// the workflow's defaults (chunks of 2,000 documents, 4 in flight).
func BenchmarkESPopulateDev(b *testing.B) {
	const athenaDev = "../../shared/data/athena-dev"
	if _, err := os.Stat(athenaDev); err != nil {
		b.Skipf("%s not present", athenaDev)
	}
	tc := devTemporal(b)
	pool := dbtest.New(b)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(context.Background(), athenaDev, nil); err != nil {
		b.Fatal(err)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{estest.URL(b)}})
	if err != nil {
		b.Fatal(err)
	}
	acts := newActivities(pool, filepath.Join(b.TempDir(), "faiss.index"))
	acts.Elasticsearch = elastic.New(es)
	queue := inProcessWorker(b, tc, acts)
	docs := 0
	i := 0
	for b.Loop() {
		alias := estest.IndexName(b, "concepts-dev")
		b.Cleanup(func() {
			req, _ := http.NewRequest(http.MethodDelete, "/"+alias+"*", nil)
			if res, err := es.Perform(req); err == nil {
				res.Body.Close()
			}
		})
		run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: alias, TaskQueue: queue},
			workflows.ESPopulateWorkflow, workflows.ESPopulateInput{Alias: alias})
		if err != nil {
			b.Fatal(err)
		}
		var res workflows.ESPopulateResult
		if err := run.Get(context.Background(), &res); err != nil {
			b.Fatal(err)
		}
		docs += res.Documents
		i++
	}
	b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "documents/s")
	b.ReportMetric(float64(docs/max(i, 1)), "documents")
}

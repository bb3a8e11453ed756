package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// TestElasticsearchStoppedUnderSearchLoad runs the production API
// (openBackends, api) with ELASTICSEARCH_URL on an Elasticsearch node of
// the test's own, its alias populated with the demo vocabulary, so the
// lexical tier is Elasticsearch. Four clients search without pause, each
// query new (no cache hits), while the node is stopped and started again
// on the same port and data:
//
//   - up: every search is 200 with results, readiness 200;
//   - stopped: every search is either 200 (it was answered before the
//     stop) or 503 whose detail names Elasticsearch, the 503 within 2 s
//     (5 s while the node starts again) — never a 500, never a ranking
//     made without the tier; readiness 503 naming elasticsearch;
//   - started again: within 30 s searches are 200 with results and
//     readiness 200 again, in the same API process.
func TestElasticsearchStoppedUnderSearchLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Elasticsearch and PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node := estest.Start(t)

	pool := dbtest.New(t)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, "../../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The alias as ESPopulateWorkflow leaves it.
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{node.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	ec := elastic.New(es)
	index := workflows.ElasticsearchAlias + "-faults"
	if err := ec.CreateIndex(ctx, index); err != nil {
		t.Fatal(err)
	}
	for _, docs := range elastic.DocumentsFor(corpus, 1000) {
		if err := ec.BulkIndex(ctx, index, docs); err != nil {
			t.Fatal(err)
		}
	}
	if err := ec.Refresh(ctx, index); err != nil {
		t.Fatal(err)
	}
	if err := ec.SwapAlias(ctx, workflows.ElasticsearchAlias, index); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"DB_PASSWORD": "unused: the test hands openBackends its pool", "JWT_SECRET": "faults-jwt-secret-faults-jwt-secret-faults",
		"API_KEY_SALT": "faults-salt-faults-salt-faults-salt-faults", "LOG_LEVEL": "ERROR",
		"EMBEDDING_MODEL": "hash", "FAISS_INDEX_PATH": filepath.Join(t.TempDir(), "faiss.index"),
		"RATE_LIMIT_PER_MINUTE": "1000000", "ELASTICSEARCH_URL": node.URL(),
	}
	cfg, err := config.Load(config.ModeAPI, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := searchindex.BuildAndSave(ctx, corpus, emb, cfg.Search.FAISSIndexPath); err != nil {
		t.Fatal(err)
	}
	b, err := openBackends(cfg, pool, nil, "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	b.startSearch(ctx)
	if b.searchCfg.Lexical == nil {
		t.Fatal("the API does not use Elasticsearch as its lexical tier")
	}
	base := serveAPI(t, ctx, cancel, b, time.Second)
	waitSearch(t, ctx, b, 30*time.Second)

	org, err := b.tenants.CreateOrganization(ctx, tenancy.Organization{Name: "ES faults", Slug: "es-faults"})
	if err != nil {
		t.Fatal(err)
	}
	// Enterprise: the free plan's 1,000 searches a month would end the load.
	if _, err := pool.Exec(ctx, `update organizations set plan = 'enterprise' where id = $1`, org.ID); err != nil {
		t.Fatal(err)
	}
	hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
	if err != nil {
		t.Fatal(err)
	}
	issued := hasher.Issue()
	if _, err := b.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, Name: "load",
		Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(credential.ScopeRead)}}); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		status  int
		results int
		detail  string
		took    time.Duration
	}
	var seq atomic.Int64
	terms := []string{"asthma", "hemoglobin", "diabetes", "sodium", "aspirin", "hypertension", "glucose", "fracture"}
	search := func() answer {
		n := seq.Add(1)
		// A new query each time: no answer comes from the cache.
		q := fmt.Sprintf("%s %d", terms[n%int64(len(terms))], n)
		req, _ := http.NewRequest("POST", base+"/api/v1/concepts/search", strings.NewReader(`{"query":`+strconv.Quote(q)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(credential.HeaderAPIKey, issued.Key)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{status: -1, detail: err.Error(), took: time.Since(start)}
		}
		defer res.Body.Close()
		var body struct {
			Results []json.RawMessage `json:"results"`
			Detail  string            `json:"detail"`
		}
		raw, _ := io.ReadAll(res.Body)
		json.Unmarshal(raw, &body)
		return answer{status: res.StatusCode, results: len(body.Results), detail: body.Detail, took: time.Since(start)}
	}
	ready := func() (int, []string) {
		t.Helper()
		res, err := http.Get(base + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Failing []string `json:"failing"`
		}
		raw, _ := io.ReadAll(res.Body)
		json.Unmarshal(raw, &body)
		return res.StatusCode, body.Failing
	}

	// The load: four clients until stopped, each answer tallied by phase.
	var (
		mu      sync.Mutex
		phase   = "up"
		tally   = map[string]map[string]int{}
		slow    []string
		slowest = map[string]time.Duration{}
		wrong   []string
		stop    = make(chan struct{})
		loaded  sync.WaitGroup
	)
	for range 4 {
		loaded.Add(1)
		go func() {
			defer loaded.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := search()
				mu.Lock()
				p := phase
				if tally[p] == nil {
					tally[p] = map[string]int{}
				}
				switch {
				case a.status == 200 && a.results > 0:
					tally[p]["200"]++
				case a.status == 503 && p != "up" && strings.Contains(a.detail, "Elasticsearch"):
					tally[p]["503"]++
				default:
					wrong = append(wrong, fmt.Sprintf("%s: %d %q (%d results)", p, a.status, a.detail, a.results))
				}
				// A search that cannot reach Elasticsearch fails fast
				// (within 2 s, on a busy machine; tens of milliseconds
				// otherwise) instead of hanging; while the node starts
				// again (a JVM on a small machine) it may hold a connection
				// for a while before it answers.
				if bound := 2 * time.Second; a.status == 503 && (a.took > bound && p != "restarting" || a.took > 5*time.Second) {
					slow = append(slow, fmt.Sprintf("%s: %d in %s", p, a.status, a.took))
				}
				if a.took > slowest[p] {
					slowest[p] = a.took
				}
				mu.Unlock()
			}
		}()
	}
	setPhase := func(p string) {
		mu.Lock()
		phase = p
		mu.Unlock()
	}
	count := func(p, status string) int {
		mu.Lock()
		defer mu.Unlock()
		return tally[p][status]
	}

	// Until 20 searches are answered with Elasticsearch up (a busy
	// machine may need more than the usual second or two).
	waitCount := func(p, status string, n int) {
		deadline := time.Now().Add(30 * time.Second)
		for count(p, status) < n && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitCount("up", "200", 20)
	if st, failing := ready(); st != 200 || len(failing) != 0 {
		t.Errorf("readiness with Elasticsearch up: %d %v", st, failing)
	}
	setPhase("stopping")
	node.Stop()
	setPhase("down")
	time.Sleep(3 * time.Second)
	waitCount("down", "503", 20)
	if st, failing := ready(); st != 503 || strings.Join(failing, ",") != "elasticsearch" {
		t.Errorf("readiness with Elasticsearch stopped: %d %v, want 503 naming elasticsearch", st, failing)
	}
	setPhase("restarting")
	node.Restart()
	setPhase("back")
	waitCount("back", "200", 20)
	close(stop)
	loaded.Wait()
	if st, failing := ready(); st != 200 || len(failing) != 0 {
		t.Errorf("readiness with Elasticsearch back: %d %v", st, failing)
	}

	t.Logf("answers by phase: %v; slowest by phase: %v", tally, slowest)
	if n := len(wrong); n > 0 {
		t.Errorf("%d answers neither 200 with results nor (Elasticsearch down) 503 naming it; first: %s", n, wrong[0])
	}
	if n := len(slow); n > 0 {
		t.Errorf("%d refusals took over their bound; first: %s", n, slow[0])
	}
	if count("up", "200") < 20 {
		t.Errorf("only %d searches answered with Elasticsearch up", count("up", "200"))
	}
	if count("down", "503") < 20 || count("down", "200") != 0 {
		t.Errorf("with Elasticsearch stopped: %d answered 503, %d answered 200; want many 503 and no 200", count("down", "503"), count("down", "200"))
	}
	if count("back", "200") < 20 {
		t.Errorf("only %d searches answered within 30 s of Elasticsearch's restart", count("back", "200"))
	}
}

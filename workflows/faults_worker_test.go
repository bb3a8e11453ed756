package workflows_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/search/faiss"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/workflows"
)

// envWorkerEmbedDelay slows each Embed call of a worker process down, so
// a test can kill it while it embeds.
const envWorkerEmbedDelay = "PORTIERE_TEST_WORKER_EMBED_DELAY"

// envWorkerES is the Elasticsearch URL of a worker process.
const envWorkerES = "PORTIERE_TEST_WORKER_ES"

// slowEmbedder sleeps before each Embed call.
type slowEmbedder struct {
	search.Embedder
	delay time.Duration
}

func (e slowEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.Embedder.Embed(ctx, texts)
}

// faultWorkerOptions applies the fault tests' settings to a worker
// process's activities.
func faultWorkerOptions(acts *activities.Activities) error {
	if d := os.Getenv(envWorkerEmbedDelay); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			return err
		}
		base, err := searchindex.NewEmbedder(acts.Index)
		if err != nil {
			return err
		}
		acts.Embedder = slowEmbedder{Embedder: base, delay: delay}
	}
	if u := os.Getenv(envWorkerES); u != "" {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{u}})
		if err != nil {
			return err
		}
		acts.Elasticsearch = elastic.New(es)
	}
	return nil
}

// startWorkerProcess runs the test binary as a worker process on queue
// with the extra environment env.
func startWorkerProcess(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envWorkerProcess+"=1"), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	return cmd
}

// TestKillWorkerMidIndexBuild kills the worker process (SIGKILL) while it
// embeds the vocabulary for an index build, after 4 of its batches are
// saved, and starts another worker process: the embedding activity times
// out on its heartbeat, is retried on the new worker, skips the batches
// already saved, and the saved index is byte-identical (index and concept
// ids) to an uninterrupted build's, with the same vector count, vocabulary
// fingerprint, embedder and version.
func TestKillWorkerMidIndexBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := demoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const batch = 500

	// The uninterrupted build, on an in-process worker.
	plainDir := t.TempDir()
	queue := inProcessWorker(t, tc, newActivities(pool, filepath.Join(plainDir, "faiss.index")))
	var plain workflows.IndexBuildResult
	if err := startWorkflow(t, tc, queue, "index-build-plain-"+filepath.Base(plainDir), workflows.IndexBuildWorkflow,
		workflows.IndexBuildInput{BatchSize: batch}).Get(ctx, &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Vectors < 8*batch {
		t.Fatalf("the vocabulary has %d texts: too few batches to kill a worker in the middle", plain.Vectors)
	}

	// The killed build, on worker processes whose embedding takes 300 ms a
	// batch.
	dir := t.TempDir()
	indexPath := filepath.Join(dir, "faiss.index")
	queue = "test-index-kill-" + filepath.Base(dir)
	env := []string{envWorkerDB + "=" + pool.Config().ConnString(), envWorkerAddr + "=" + devServer.FrontendHostPort(),
		envWorkerQueue + "=" + queue, envWorkerIndex + "=" + indexPath, envWorkerEmbedDelay + "=300ms"}
	first := startWorkerProcess(t, env...)
	run := startWorkflow(t, tc, queue, "index-build-kill-"+filepath.Base(dir), workflows.IndexBuildWorkflow,
		workflows.IndexBuildInput{BatchSize: batch, HeartbeatTimeout: 5 * time.Second})
	batches := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, ".embed-*", "*.f32"))
		return len(m)
	}
	waitFor(t, "4 batches embedded", time.Minute, func() bool { return batches() >= 4 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := batches()
	total := (plain.Vectors + batch - 1) / batch
	if killedAt >= total {
		t.Fatalf("the kill came after the last batch (%d of %d)", killedAt, total)
	}
	if _, err := os.Stat(indexPath); err == nil {
		t.Fatal("an index was saved before the kill")
	}
	start := time.Now()
	startWorkerProcess(t, env...)
	var resumed workflows.IndexBuildResult
	if err := run.Get(ctx, &resumed); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d of %d batches; resumed and done %s later: %+v", killedAt, total, time.Since(start).Round(time.Millisecond), resumed)

	if resumed.SkippedBatches < killedAt {
		t.Errorf("the retry skipped %d batches, %d were saved before the kill", resumed.SkippedBatches, killedAt)
	}
	if resumed.Version != plain.Version || resumed.Vectors != plain.Vectors || resumed.Kind != plain.Kind {
		t.Errorf("plain %+v, resumed %+v", plain, resumed)
	}
	for _, f := range []string{"faiss.index", "faiss.index.ids"} {
		a, err := os.ReadFile(filepath.Join(plainDir, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the plain and the resumed build", f)
		}
	}
	pm, err := faiss.ReadMeta(filepath.Join(plainDir, "faiss.index"))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := faiss.ReadMeta(indexPath)
	if err != nil {
		t.Fatal(err)
	}
	if pm.VocabularyFingerprint != rm.VocabularyFingerprint || pm.EmbedderID != rm.EmbedderID || pm.Count != rm.Count ||
		pm.Dim != rm.Dim || pm.Kind != rm.Kind || pm.NList != rm.NList {
		t.Errorf("metadata: plain %+v, resumed %+v", pm, rm)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".embed-*", "*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

// TestKillWorkerMidESPopulation kills the worker process (SIGKILL) while
// it populates a real Elasticsearch node, after 3 bulk requests have been
// answered and while others are in flight (each held 400 ms by a proxy),
// and starts another worker process: the chunks the dead worker held are
// retried once their heartbeat times out, and the alias, which named an
// older index throughout, ends on the complete versioned index holding
// exactly one document per vocabulary text.
func TestKillWorkerMidESPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := demoDB(t)
	addr := estest.URL(t)
	direct, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	alias := estest.IndexName(t, "concepts")
	deleteIndices(t, direct, alias+"*")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	old := alias + "-previous"
	esc := elastic.New(direct)
	if err := esc.CreateIndex(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := esc.SwapAlias(ctx, alias, old); err != nil {
		t.Fatal(err)
	}

	// Bulk requests reach the node 400 ms late; answered ones are counted.
	target, _ := url.Parse(addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var bulks atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bulk := strings.HasSuffix(r.URL.Path, "/_bulk")
		if bulk {
			time.Sleep(400 * time.Millisecond)
		}
		proxy.ServeHTTP(w, r)
		if bulk {
			bulks.Add(1)
		}
	}))
	t.Cleanup(srv.Close)

	corpus := mustCorpus(t, pool)
	wantDocs := 0
	for i := range corpus.Concepts {
		wantDocs += len(elastic.ConceptDocuments(corpus, &corpus.Concepts[i]))
	}
	wantIndex := activities.ESIndexName(alias, corpus.Fingerprint)

	queue := "test-es-kill-" + alias
	env := []string{envWorkerDB + "=" + pool.Config().ConnString(), envWorkerAddr + "=" + devServer.FrontendHostPort(),
		envWorkerQueue + "=" + queue, envWorkerIndex + "=" + filepath.Join(t.TempDir(), "faiss.index"), envWorkerES + "=" + srv.URL}
	first := startWorkerProcess(t, env...)
	const chunk = 500
	run := startWorkflow(t, tc, queue, alias+"-kill", workflows.ESPopulateWorkflow,
		workflows.ESPopulateInput{Alias: alias, ChunkSize: chunk, Parallelism: 2, HeartbeatTimeout: 5 * time.Second})
	waitFor(t, "3 bulk requests answered", time.Minute, func() bool { return bulks.Load() >= 3 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := bulks.Load()
	if got := aliasIndices(t, direct, alias); !slices.Equal(got, []string{old}) {
		t.Fatalf("after the kill the alias names %v, want %s", got, old)
	}
	start := time.Now()
	startWorkerProcess(t, env...)
	var res workflows.ESPopulateResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d bulk requests; resumed and done %s later: %+v; %d bulk requests in all",
		killedAt, time.Since(start).Round(time.Millisecond), res, bulks.Load())
	if int(killedAt) >= res.Chunks {
		t.Fatalf("the kill came after the last chunk (%d of %d)", killedAt, res.Chunks)
	}
	if res.Index != wantIndex || res.Documents != wantDocs {
		t.Errorf("result %+v, want index %s with %d documents", res, wantIndex, wantDocs)
	}
	if got := aliasIndices(t, direct, alias); !slices.Equal(got, []string{wantIndex}) {
		t.Errorf("alias on %v, want only %s", got, wantIndex)
	}
	esJSON(t, direct, http.MethodPost, "/"+wantIndex+"/_refresh", nil, nil)
	var count struct{ Count int }
	esJSON(t, direct, http.MethodGet, "/"+alias+"/_count", nil, &count)
	if count.Count != wantDocs {
		t.Errorf("the alias counts %d documents, want %d", count.Count, wantDocs)
	}
	// No document twice: the index holds each id the vocabulary implies,
	// once.
	want := map[string]bool{}
	for i := range corpus.Concepts {
		for _, d := range elastic.ConceptDocuments(corpus, &corpus.Concepts[i]) {
			want[d.ID] = true
		}
	}
	var hits struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			}
		}
	}
	esJSON(t, direct, http.MethodPost, "/"+alias+"/_search", map[string]any{"size": 10000, "_source": false, "query": map[string]any{"match_all": map[string]any{}}}, &hits)
	seen := map[string]bool{}
	for _, h := range hits.Hits.Hits {
		if seen[h.ID] || !want[h.ID] {
			t.Errorf("document %s: twice or not from the vocabulary", h.ID)
		}
		seen[h.ID] = true
	}
	if len(seen) != len(want) || len(want) != wantDocs {
		t.Errorf("%d distinct documents in the index, %d ids implied by the vocabulary, %d documents wanted", len(seen), len(want), wantDocs)
	}
}

// TestKillWorkerMidIndexFreshness kills the worker process (SIGKILL) while
// the nightly IndexFreshnessWorkflow it runs rebuilds a missing index (its
// child IndexBuildWorkflow has saved a batch of embeddings, no index yet),
// and starts another worker process. The workflow runs with its production
// settings (the child's default batch size and one-minute heartbeat
// timeout), so the resumption waits for that timeout: the check still
// reports the stale index rebuilt, and the saved index is byte-identical
// to the one an uninterrupted freshness run saves.
func TestKillWorkerMidIndexFreshness(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := demoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	start := func(queue, id string) client.WorkflowRun {
		t.Helper()
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.IndexFreshnessWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	plainDir := t.TempDir()
	queue := inProcessWorker(t, tc, newActivities(pool, filepath.Join(plainDir, "faiss.index")))
	var plain workflows.IndexFreshnessResult
	if err := start(queue, "index-freshness-plain-"+filepath.Base(plainDir)).Get(ctx, &plain); err != nil {
		t.Fatal(err)
	}
	if !plain.Stale || !plain.Rebuilt {
		t.Fatalf("uninterrupted check %+v, want the missing index rebuilt", plain)
	}

	dir := t.TempDir()
	indexPath := filepath.Join(dir, "faiss.index")
	queue = "test-freshness-kill-" + filepath.Base(dir)
	env := []string{envWorkerDB + "=" + pool.Config().ConnString(), envWorkerAddr + "=" + devServer.FrontendHostPort(),
		envWorkerQueue + "=" + queue, envWorkerIndex + "=" + indexPath, envWorkerEmbedDelay + "=3s"}
	first := startWorkerProcess(t, env...)
	run := start(queue, "index-freshness-kill-"+filepath.Base(dir))
	batches := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, ".embed-*", "*.f32"))
		return len(m)
	}
	waitFor(t, "a batch embedded", time.Minute, func() bool { return batches() >= 1 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := batches()
	if _, err := os.Stat(indexPath); err == nil {
		t.Fatal("an index was saved before the kill")
	}
	restarted := time.Now()
	startWorkerProcess(t, env...)
	var resumed workflows.IndexFreshnessResult
	if err := run.Get(ctx, &resumed); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d batches saved; resumed and done %s later: %+v", killedAt, time.Since(restarted).Round(time.Millisecond), resumed)
	if resumed != plain {
		t.Errorf("uninterrupted %+v, resumed %+v", plain, resumed)
	}
	for _, f := range []string{"faiss.index", "faiss.index.ids"} {
		a, err := os.ReadFile(filepath.Join(plainDir, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the uninterrupted and the resumed check", f)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".embed-*", "*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

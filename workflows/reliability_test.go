package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// The test binary runs as a worker process when envWorkerProcess is set.
const (
	envWorkerProcess = "PORTIERE_TEST_WORKER_PROCESS"
	envWorkerDB      = "PORTIERE_TEST_WORKER_DB"
	envWorkerAddr    = "PORTIERE_TEST_WORKER_TEMPORAL"
	envWorkerIndex   = "PORTIERE_TEST_WORKER_INDEX"
	envWorkerQueue   = "PORTIERE_TEST_WORKER_QUEUE"
	envWorkerStripe  = "PORTIERE_TEST_WORKER_STRIPE" // stripe-mock's URL: the worker reports usage
)

func workerProcessMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool, err := postgres.Open(ctx, os.Getenv(envWorkerDB), postgres.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Close()
	tc, err := client.Dial(client.Options{HostPort: os.Getenv(envWorkerAddr), Namespace: "default"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer tc.Close()
	acts := newActivities(pool, os.Getenv(envWorkerIndex))
	if u := os.Getenv(envWorkerStripe); u != "" {
		acts.Billing = newBilling(pool, u)
	}
	if u := os.Getenv(envWorkerConnect); u != "" {
		if err := payoutWorkerOptions(pool, acts, u, os.Getenv(envWorkerLine)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := faultWorkerOptions(acts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := worker.Run(ctx, tc, log, worker.Options{Activities: acts, TaskQueue: os.Getenv(envWorkerQueue), Schedules: []workflows.Schedule{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func newActivities(pool *pgxpool.Pool, indexPath string) *activities.Activities {
	return &activities.Activities{
		Vocabulary: vocabstore.New(pool), Jobs: mappingjobstore.New(pool),
		Index:         searchindex.Config{EmbeddingModel: "hash", IndexPath: indexPath},
		EngineVersion: "test",
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

var queueSeq atomic.Int32

// inProcessWorker runs a worker for acts on its own task queue until the
// test ends.
func inProcessWorker(t testing.TB, tc client.Client, acts *activities.Activities) string {
	t.Helper()
	queue := fmt.Sprintf("test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), queueSeq.Add(1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, tc, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			worker.Options{Activities: acts, TaskQueue: queue, Schedules: []workflows.Schedule{}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return queue
}

func startWorkflow(t *testing.T, tc client.Client, queue, id string, wf, in any) client.WorkflowRun {
	t.Helper()
	run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, wf, in)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func progress(t *testing.T, tc client.Client, id string) workflows.Progress {
	t.Helper()
	v, err := tc.QueryWorkflow(context.Background(), id, "", workflows.QueryProgress)
	if err != nil {
		return workflows.Progress{}
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkItems checks that project has exactly want items, one per code.
func checkItems(t *testing.T, pool *pgxpool.Pool, project string, want int64) []mappingjob.Item {
	t.Helper()
	items, err := mappingjobstore.New(pool).Items(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.Code] {
			t.Errorf("duplicate item for %s", it.Code)
		}
		seen[it.Code] = true
	}
	if int64(len(items)) != want {
		t.Errorf("%d items, want %d", len(items), want)
	}
	return items
}

// TestKillWorkerMidBulkMapping kills the worker process (SIGKILL) in the
// middle of a bulk mapping of 10,000 terms and starts another: the
// workflow completes with exactly 10,000 items.
func TestKillWorkerMidBulkMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := demoDB(t)
	const n = 10_000
	project := projectWithCodes(t, pool, n)
	queue := "test-kill"
	index := indexedPath(t, pool)
	var logs bytes.Buffer
	var logMu sync.Mutex
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorkerProcess+"=1", envWorkerDB+"="+pool.Config().ConnString(),
			envWorkerAddr+"="+devServer.FrontendHostPort(), envWorkerIndex+"="+index,
			envWorkerQueue+"="+queue)
		w := writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(b) })
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := startWorker()
	id := workflows.BulkMappingWorkflowID(project)
	start := time.Now()
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{
		ProjectID: project, ChunkSize: 250, ChunksPerRun: 8, HeartbeatTimeout: 2 * time.Second,
	})
	var killedAt workflows.Progress
	waitFor(t, "a third of the codes mapped", 2*time.Minute, func() bool {
		killedAt = progress(t, tc, id)
		return killedAt.Done >= n/3
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	t.Logf("killed the worker at %d/%d after %s", killedAt.Done, n, time.Since(start).Round(time.Millisecond))
	second := startWorker()
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()

	var p workflows.Progress
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &p); err != nil {
		logMu.Lock()
		t.Fatalf("workflow: %v\nworker logs:\n%s", err, logs.String())
	}
	_ = run
	t.Logf("completed in %s: %+v", time.Since(start).Round(time.Millisecond), p)
	if p.Status != workflows.StatusCompleted || p.Done != n || p.Total != n || p.Auto+p.Review+p.Manual != n {
		t.Errorf("progress %+v", p)
	}
	if p.Runs < 2 {
		t.Errorf("%d runs: continue-as-new did not happen", p.Runs)
	}
	items := checkItems(t, pool, project, n)
	for _, it := range items[:10] {
		if it.Provenance[mappingjob.ProvenanceEngine] != "test" || it.Provenance[mappingjob.ProvenanceIndex] == "" || it.Provenance[mappingjob.ProvenanceWorkflow] != id {
			t.Errorf("provenance %+v", it.Provenance)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// flakyJobs fails the first failures UpsertItems calls, and can slow every
// call down.
type flakyJobs struct {
	mappingjob.Store
	failures atomic.Int32
	delay    time.Duration
}

func (f *flakyJobs) UpsertItems(ctx context.Context, project string, items []mappingjob.Item) error {
	time.Sleep(f.delay)
	if f.failures.Add(-1) >= 0 {
		return errors.New("connection reset by peer (injected)")
	}
	return f.Store.UpsertItems(ctx, project, items)
}

// TestActivityFailingTwiceIsRetried: the first two chunk writes fail; the
// retries succeed and the result is complete and correct.
func TestActivityFailingTwiceIsRetried(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	project := projectWithCodes(t, pool, 300)
	acts := newActivities(pool, indexedPath(t, pool))
	flaky := &flakyJobs{Store: acts.Jobs}
	flaky.failures.Store(2)
	acts.Jobs = flaky
	queue := inProcessWorker(t, tc, acts)
	id := workflows.BulkMappingWorkflowID(project)
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: project, ChunkSize: 100})
	var p workflows.Progress
	if err := run.Get(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.StatusCompleted || p.Done != 300 {
		t.Errorf("progress %+v", p)
	}
	items := checkItems(t, pool, project, 300)
	counts, err := mappingjobstore.New(pool).CountItems(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Auto != p.Auto || counts.Review != p.Review || counts.Manual != p.Manual {
		t.Errorf("stored %+v, progress %+v", counts, p)
	}
	// The mapping equals a direct search of the same engine.
	e, _, err := searchindex.Build(context.Background(), mustCorpus(t, pool), searchindex.Config{IndexDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items[:20] {
		res, err := e.Search(context.Background(), search.Query{Text: it.Description, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) == 0 || res.Candidates[0].Concept.ID != it.ConceptID {
			t.Errorf("%s: item concept %d, search gives %v", it.Code, it.ConceptID, res.Candidates[:min(1, len(res.Candidates))])
		}
	}
	if os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
		saveHistory(t, tc, id, run.GetRunID(), "bulkmapping.json")
	}
}

func mustCorpus(t *testing.T, pool *pgxpool.Pool) *search.Corpus {
	t.Helper()
	c, err := vocabstore.New(pool).LoadCorpus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCancelMidRun: the cancel signal stops the mapping after its current
// chunk; the items written match the progress, which says cancelled.
func TestCancelMidRun(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	project := projectWithCodes(t, pool, 2000)
	acts := newActivities(pool, indexedPath(t, pool))
	acts.Jobs = &flakyJobs{Store: acts.Jobs, delay: 150 * time.Millisecond}
	queue := inProcessWorker(t, tc, acts)
	id := workflows.BulkMappingWorkflowID(project)
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: project, ChunkSize: 50})
	waitFor(t, "some codes mapped", time.Minute, func() bool { return progress(t, tc, id).Done >= 200 })
	wc := &workflows.Client{Temporal: tc}
	if err := wc.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := run.Get(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.StatusCancelled || p.Done >= 2000 || p.Done < 200 {
		t.Errorf("progress %+v", p)
	}
	if q := progress(t, tc, id); q.Status != workflows.StatusCancelled {
		t.Errorf("progress query after the end: %+v", q)
	}
	checkItems(t, pool, project, p.Done)
	st, err := wc.State(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "completed" || st.Progress == nil || st.Progress.Status != workflows.StatusCancelled {
		t.Errorf("state %+v", st)
	}
}

// saveHistory writes a workflow's history to testdata for the replay test.
func saveHistory(t *testing.T, tc client.Client, id, runID, name string) {
	t.Helper()
	it := tc.GetWorkflowHistory(context.Background(), id, runID, false, 0)
	var h historypb.History
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

package workflows_test

// Fault tests of issue 15: the PostgreSQL cluster and the Temporal
// server restarted in the middle of a bulk mapping. Each runs on private
// servers of its own (never the package's shared ones), on 127.0.0.1.

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/pgcluster"
	"github.com/portiere/portiere/platform/ports"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/temporaldev"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// gatedJobs holds the gateAt-th UpsertItems call (counting from 1) until
// the test has done its fault, so the fault lands while a chunk is being
// written; it counts every call and every failed one.
type gatedJobs struct {
	mappingjob.Store
	gateAt  int32
	reached chan struct{} // closed when the gated call arrives
	proceed chan struct{} // the test closes it to let the call go on
	calls   atomic.Int32
	failed  atomic.Int32
}

func newGatedJobs(s mappingjob.Store, at int32) *gatedJobs {
	return &gatedJobs{Store: s, gateAt: at, reached: make(chan struct{}), proceed: make(chan struct{})}
}

func (g *gatedJobs) UpsertItems(ctx context.Context, project string, items []mappingjob.Item) error {
	if g.calls.Add(1) == g.gateAt {
		close(g.reached)
		select {
		case <-g.proceed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := g.Store.UpsertItems(ctx, project, items)
	if err != nil {
		g.failed.Add(1)
	}
	return err
}

// waitGate waits (at most a minute) for the gated call.
func waitGate(t *testing.T, g *gatedJobs) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(time.Minute):
		t.Fatalf("the gated chunk write (call %d) never came; %d calls", g.gateAt, g.calls.Load())
	}
}

// privateCluster starts a PostgreSQL cluster of the test's own in a fresh
// folder (world-enterable: the server may run as the postgres user) and
// returns it, stopped and removed when the test ends.
func privateCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	ctx := context.Background()
	base, err := os.MkdirTemp("", "portiere-faults-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() { os.RemoveAll(base) })
	cl, err := pgcluster.New(pgcluster.Options{Dir: filepath.Join(base, "pg"), Password: "faults"})
	if err != nil {
		t.Skip(err)
	}
	if err := cl.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop(context.Background()) })
	return cl
}

// TestPostgreSQLRestartedMidBulkMapping: a bulk mapping of 3,000 codes in
// chunks of 50 on a PostgreSQL cluster of its own; while the 12th chunk
// is being written the cluster is shut down (pg_ctl stop -m fast: every
// session ended), so that write fails; 2 s later it is started again on
// the same port and data folder. The activity retries (the workflow's
// retry policy) and the run completes with exactly one item per code: no
// loss, no duplicates.
func TestPostgreSQLRestartedMidBulkMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	tc := devTemporal(t)
	cl := privateCluster(t)
	pool, err := postgres.Open(ctx, cl.ConnString("postgres"), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrate.Up(ctx, pool, migrate.Schema()); err != nil {
		t.Fatal(err)
	}
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	const n, chunk = 3000, 50
	project := projectWithCodes(t, pool, n)
	acts := newActivities(pool, indexedPath(t, pool))
	gated := newGatedJobs(acts.Jobs, 12)
	acts.Jobs = gated
	queue := inProcessWorker(t, tc, acts)
	id := workflows.BulkMappingWorkflowID(project)
	start := time.Now()
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: project, ChunkSize: chunk})

	waitGate(t, gated)
	before := progress(t, tc, id)
	port := cl.Port()
	if err := cl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	close(gated.proceed)
	waitFor(t, "the held chunk write to fail", 30*time.Second, func() bool { return gated.failed.Load() > 0 })
	time.Sleep(2 * time.Second)
	restarted, err := pgcluster.New(pgcluster.Options{Dir: cl.Dir(), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL stopped at %d/%d codes, %s after the start; down %s", before.Done, n,
		stopped.Sub(start).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
	if before.Done >= n {
		t.Fatalf("the mapping was over before the fault: %+v", before)
	}

	var p workflows.Progress
	gctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := run.Get(gctx, &p); err != nil {
		t.Fatal(err)
	}
	t.Logf("completed %s after the start: %+v; %d chunk writes, %d failed", time.Since(start).Round(time.Millisecond), p, gated.calls.Load(), gated.failed.Load())
	if p.Status != workflows.StatusCompleted || p.Done != n || p.Total != n || p.Auto+p.Review+p.Manual != n {
		t.Errorf("progress %+v", p)
	}
	checkItems(t, pool, project, n)
	counts, err := mappingjobstore.New(pool).CountItems(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Auto != p.Auto || counts.Review != p.Review || counts.Manual != p.Manual {
		t.Errorf("stored %+v, progress %+v", counts, p)
	}
}

// TestTemporalRestartedMidBulkMapping: a bulk mapping of 3,000 codes in
// chunks of 50 on a Temporal dev server of its own (its state in one
// SQLite file, --db-filename). While the 12th chunk is being written the
// server is stopped (SIGTERM); it is started again on the same ports and
// file, and the held write goes on. The same run resumes where it was: it
// completes with exactly one item per code, and only the chunk in flight
// at the fault may be written twice (each chunk write is counted).
func TestTemporalRestartedMidBulkMapping(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	cli := temporalCLI()
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("Temporal CLI %s: %v (PORTIERE_REQUIRE_TOOLS is set)", cli, err)
		}
		t.Skipf("Temporal CLI not found at %s", cli)
	}
	var opts temporaldev.Options
	opts.CLI, opts.DBFile, opts.Namespace = cli, filepath.Join(t.TempDir(), "temporal.db"), "default"
	var err error
	if opts.Port, err = ports.Free(); err != nil {
		t.Fatal(err)
	}
	if opts.UIPort, err = ports.Free(); err != nil {
		t.Fatal(err)
	}
	var srvMu sync.Mutex
	srv, err := temporaldev.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srvMu.Lock(); srv.Stop(); srvMu.Unlock() })
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: "default",
		Logger: slogAdapter{slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)

	pool := demoDB(t)
	const n, chunk = 3000, 50
	project := projectWithCodes(t, pool, n)
	acts := newActivities(pool, indexedPath(t, pool))
	gated := newGatedJobs(acts.Jobs, 12)
	acts.Jobs = gated
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- worker.Run(wctx, tc, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
			worker.Options{Activities: acts, TaskQueue: "test-temporal-restart", Schedules: []workflows.Schedule{}})
	}()
	t.Cleanup(func() {
		stopWorker()
		if err := <-workerDone; err != nil {
			t.Error(err)
		}
	})
	id := workflows.BulkMappingWorkflowID(project)
	start := time.Now()
	run := startWorkflow(t, tc, "test-temporal-restart", id, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: project, ChunkSize: chunk})

	waitGate(t, gated)
	before := progress(t, tc, id)
	if before.Done >= n {
		t.Fatalf("the mapping was over before the fault: %+v", before)
	}
	stopped := time.Now()
	srvMu.Lock()
	if err := srv.Stop(); err != nil {
		t.Error(err)
	}
	srv, err = temporaldev.Start(ctx, opts)
	srvMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Temporal stopped at %d/%d codes, %s after the start; back after %s", before.Done, n,
		stopped.Sub(start).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
	// The restarted server still holds the run: the worker replays its
	// history and answers the progress query with the codes done before
	// the stop (a failed query reads as 0 and is asked again).
	waitFor(t, "the restarted server's run to answer with its progress", 30*time.Second, func() bool {
		return progress(t, tc, id).Done == before.Done
	})
	close(gated.proceed)

	var p workflows.Progress
	gctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The same run: the workflow was not started again from scratch.
	if err := tc.GetWorkflow(gctx, id, run.GetRunID()).Get(gctx, &p); err != nil {
		t.Fatal(err)
	}
	t.Logf("completed %s after the start: %+v; %d chunk writes, %d failed", time.Since(start).Round(time.Millisecond), p, gated.calls.Load(), gated.failed.Load())
	if p.Status != workflows.StatusCompleted || p.Done != n || p.Total != n || p.Auto+p.Review+p.Manual != n {
		t.Errorf("progress %+v", p)
	}
	if calls := gated.calls.Load(); calls > n/chunk+1 {
		t.Errorf("%d chunk writes for %d chunks: the run did not resume where it was", calls, n/chunk)
	}
	checkItems(t, pool, project, n)
}

// slogAdapter is the Temporal SDK's logger on slog, so the client's
// reconnection warnings while the server is down stay out of the output.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(msg string, kv ...any) { a.l.Debug(msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.l.Info(msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.l.Warn(msg, kv...) }
func (a slogAdapter) Error(msg string, kv ...any) { a.l.Error(msg, kv...) }

package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// BenchmarkBulkMapping100k maps 100,000 source terms end to end through
// BulkMappingWorkflow (real Temporal, PostgreSQL, hash embedder) on the
// 125k-concept dev vocabulary (../../shared/data/athena-dev, or
// $PORTIERE_ATHENA_DEV). Run: go test -run '^$' -bench BulkMapping100k
// -benchtime 1x ./workflows/. Reports items/s and the search and
// persistence time summed over chunks.
func BenchmarkBulkMapping100k(b *testing.B) {
	dir := os.Getenv("PORTIERE_ATHENA_DEV")
	if dir == "" {
		dir = "../../shared/data/athena-dev"
	}
	if _, err := os.Stat(filepath.Join(dir, "CONCEPT.csv")); err != nil {
		b.Skipf("dev vocabulary not found: %v", err)
	}
	tc := devTemporal(b)
	ctx := context.Background()
	pool := dbtest.New(b)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, dir, nil); err != nil {
		b.Fatal(err)
	}
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		b.Fatal(err)
	}
	acts := newActivities(pool, indexedPath(b, pool))
	queue := inProcessWorker(b, tc, acts)
	store := mappingjobstore.New(pool)
	// Build the engine (dense index of 125k concepts) before timing: map
	// one code.
	warm := newProject(b, pool, "bench", "warm-up")
	if _, err := store.AddSourceCodes(ctx, warm, []mappingjob.SourceCode{{Source: "W", Code: "1", Description: "aspirin"}}); err != nil {
		b.Fatal(err)
	}
	wrun, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "warm-up", TaskQueue: queue}, workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: warm})
	if err != nil {
		b.Fatal(err)
	}
	if err := wrun.Get(ctx, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.StopTimer()
	const n = 100_000
	for i := 0; i < b.N; i++ {
		project := newProject(b, pool, "bench", fmt.Sprintf("bench-%d", i))
		codes := make([]mappingjob.SourceCode, n)
		for j := range codes {
			name := corpus.Concepts[(j*7919)%len(corpus.Concepts)].Name
			if j%3 == 0 {
				name = "pt " + name
			}
			codes[j] = mappingjob.SourceCode{Source: "BENCH", Code: fmt.Sprintf("B%07d", j), Description: name}
		}
		if _, err := store.AddSourceCodes(ctx, project, codes); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.BulkMappingWorkflowID(project), TaskQueue: queue}, workflows.BulkMappingWorkflow,
			workflows.BulkMappingInput{ProjectID: project, ChunkSize: 1000, ChunksPerRun: 50})
		if err != nil {
			b.Fatal(err)
		}
		var p workflows.Progress
		if err := tc.GetWorkflow(ctx, run.GetID(), "").Get(ctx, &p); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		if p.Done != n {
			b.Fatalf("progress %+v", p)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "items/s")
		b.ReportMetric(float64(p.SearchMillis)/1000, "search-s")
		b.ReportMetric(float64(p.PersistMillis)/1000, "persist-s")
		b.Logf("%d items in %s (first chunk builds the engine): %+v", n, took.Round(time.Millisecond), p)
	}
}

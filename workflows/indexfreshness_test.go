package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/search/embed"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/workflows"
)

// TestIndexFreshnessRebuildsAMissingIndex runs the nightly check on a real
// Temporal: with no index saved it builds one through the child
// IndexBuildWorkflow; run again, it finds the index fresh and does nothing.
func TestIndexFreshnessRebuildsAMissingIndex(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	path := filepath.Join(t.TempDir(), "faiss.index")
	acts := newActivities(pool, path)
	queue := inProcessWorker(t, tc, acts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := func(id string) client.WorkflowRun {
		t.Helper()
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.IndexFreshnessWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	run := start("index-freshness-test")
	var res workflows.IndexFreshnessResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Stale || !res.Rebuilt || res.Reason != "no index saved" {
		t.Fatalf("first check %+v, want a rebuild of the missing index", res)
	}
	emb, err := embed.NewHash(embed.HashOptions{Dim: searchindex.HashDim})
	if err != nil {
		t.Fatal(err)
	}
	if f := searchindex.CheckFreshness(mustCorpus(t, pool), emb, path); f.Stale {
		t.Fatalf("after the rebuild the index is stale: %+v", f)
	}
	if os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
		saveHistory(t, tc, run.GetID(), run.GetRunID(), "indexfreshness.json")
	}

	again := start("index-freshness-test-2")
	if err := again.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Stale || res.Rebuilt {
		t.Errorf("second check %+v, want fresh", res)
	}
}

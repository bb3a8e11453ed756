package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/workflows"
)

// interruptedEmbedder fails one Embed call (the failAt-th) as a crash
// would, and counts the texts it embeds.
type interruptedEmbedder struct {
	search.Embedder
	calls, failAt atomic.Int32
	texts         atomic.Int64
}

func (e *interruptedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.calls.Add(1) == e.failAt.Load() {
		return nil, errors.New("worker lost (injected)")
	}
	e.texts.Add(int64(len(texts)))
	return e.Embedder.Embed(ctx, texts)
}

// TestIndexBuildInterruptedAndResumed: an embedding interrupted half-way
// is retried by Temporal, resumes from its finished batches, and saves an
// index byte-identical to an uninterrupted build's.
func TestIndexBuildInterruptedAndResumed(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	build := func(failAt int32) (string, *interruptedEmbedder, workflows.IndexBuildResult) {
		dir := t.TempDir()
		acts := newActivities(pool, filepath.Join(dir, "faiss.index"))
		base, err := searchindex.NewEmbedder(acts.Index)
		if err != nil {
			t.Fatal(err)
		}
		emb := &interruptedEmbedder{Embedder: base}
		emb.failAt.Store(failAt)
		acts.Embedder = emb
		queue := inProcessWorker(t, tc, acts)
		run := startWorkflow(t, tc, queue, "index-build-"+filepath.Base(dir), workflows.IndexBuildWorkflow, workflows.IndexBuildInput{BatchSize: 500})
		var r workflows.IndexBuildResult
		if err := run.Get(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if failAt == 0 && os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
			saveHistory(t, tc, run.GetID(), run.GetRunID(), "indexbuild.json")
		}
		return dir, emb, r
	}
	plainDir, plainEmb, plain := build(0)
	// Fail in the middle: each 500-text batch is one Embed call per CPU.
	resumedDir, resumedEmb, resumed := build(9)
	if resumed.SkippedBatches == 0 {
		t.Errorf("the retry embedded everything again: %+v", resumed)
	}
	if extra := resumedEmb.texts.Load() - plainEmb.texts.Load(); extra < 0 || extra > 500 {
		t.Errorf("the interrupted build embedded %d texts more than the plain one, want at most one batch", extra)
	}
	if plain.Version != resumed.Version || plain.Vectors != resumed.Vectors {
		t.Errorf("plain %+v, resumed %+v", plain, resumed)
	}
	for _, f := range []string{"faiss.index", "faiss.index.ids"} {
		a, err := os.ReadFile(filepath.Join(plainDir, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(resumedDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the plain and the resumed build", f)
		}
	}
	// The embedded batches are removed once the index is saved.
	if m, _ := filepath.Glob(filepath.Join(resumedDir, ".embed-*", "*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	t.Logf("plain %+v; resumed skipped %d batches", plain, resumed.SkippedBatches)
}

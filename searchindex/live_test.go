package searchindex_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
)

func smallCorpus(t testing.TB, n int) *search.Corpus {
	t.Helper()
	b := search.NewCorpusBuilder()
	for i := 1; i <= n; i++ {
		if err := b.AddConcept(search.Concept{ID: int32(i), Name: fmt.Sprintf("concept number %d of %d", i, n), Vocabulary: "SNOMED", Domain: "Condition", Class: "Clinical Finding", Standard: "S", Code: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// TestWatchReloadsNewIndex: a replica serving one index switches to the
// one another process saves at the same path, and reports its version.
func TestWatchReloadsNewIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faiss.index")
	cfg := searchindex.Config{IndexPath: path}
	var db atomic.Pointer[search.Corpus] // the vocabulary in the database
	db.Store(smallCorpus(t, 50))
	load := func(context.Context) (*search.Corpus, error) { return db.Load(), nil }
	var l searchindex.Live
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// API and worker only open an index: none saved yet is ErrNoIndex.
	if err := l.Load(ctx, load, cfg); !errors.Is(err, searchindex.ErrNoIndex) {
		t.Fatalf("load before any build: %v, want ErrNoIndex", err)
	}
	if err := l.Refresh(ctx, load, cfg); !errors.Is(err, searchindex.ErrNoIndex) {
		t.Fatalf("refresh before any build: %v, want ErrNoIndex", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("Load or Refresh wrote the index")
	}
	emb0, err := searchindex.NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := searchindex.BuildAndSave(ctx, db.Load(), emb0, path); err != nil {
		t.Fatal(err)
	}
	if err := l.Load(ctx, load, cfg); err != nil {
		t.Fatal(err)
	}
	first, _ := l.Info()
	// The saved index's metadata tells the same version without loading
	// it (the dashboard's vocabulary page).
	if saved, err := searchindex.SavedIndex(path); err != nil || saved.Version != first.Version || !saved.IndexCreatedAt.Equal(first.IndexCreatedAt) {
		t.Fatalf("SavedIndex: %+v %v, served %+v", saved, err, first)
	}
	if _, err := searchindex.SavedIndex(path + ".absent"); err == nil {
		t.Fatal("SavedIndex of nothing succeeded")
	}
	e1, _ := l.Engine()
	done := make(chan struct{})
	go func() { l.Watch(ctx, load, cfg, 20*time.Millisecond); close(done) }()

	// Another process builds an index from a new vocabulary and saves it.
	corpus2 := smallCorpus(t, 60)
	db.Store(corpus2)
	emb, err := searchindex.NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := search.BuildDenseIndex(ctx, corpus2, emb, searchindex.FAISSOptions(corpus2.TextCount()), nil)
	if err != nil {
		t.Fatal(err)
	}
	meta := search.DenseIndexMeta(corpus2, emb)
	meta.CreatedAt = time.Now().UTC().Add(time.Hour)
	if err := ix.Save(path, meta); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := l.Info()
		if info.Version != first.Version {
			if info.Concepts != 60 || info.DenseBuilt || !info.IndexCreatedAt.Equal(meta.CreatedAt) {
				t.Errorf("reloaded %+v, want the saved index (60 concepts, loaded not built)", info)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %s after 10s", info.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e2, _ := l.Engine(); e2 == e1 {
		t.Error("engine not swapped")
	}
	cancel()
	<-done
}

// Package activities holds the Temporal activities of Portiere's workflows:
// the steps that touch PostgreSQL, the search engine, the index files and
// Elasticsearch. Workflows (package workflows) call them through a typed nil
// pointer, `var a *activities.Activities; workflow.ExecuteActivity(ctx,
// a.MapChunk, in)`; the worker registers one Activities value.
//
// Every activity is idempotent: a retried one rewrites the same rows (keyed
// by project, source and code), the same Elasticsearch documents (ids
// derived from concept ids) or the same files (written under temporary
// names and renamed).
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab"
)

// Vocabulary is where the live vocabulary is read from
// (vocabstore.Store).
type Vocabulary interface {
	LoadCorpus(ctx context.Context) (*search.Corpus, error)
	// LastImport identifies the live vocabulary cheaply; vocab.ErrNotFound
	// when none was imported.
	LastImport(ctx context.Context) (vocab.Report, error)
}

// Activities are the activities of every Portiere workflow with the
// dependencies they share. Build one per worker; its methods are safe for
// concurrent use. The corpus is cached until the vocabulary's last import
// changes; the engine is Search's.
type Activities struct {
	Vocabulary Vocabulary
	Jobs       mappingjob.Store
	// Index selects the embedder, FAISS_INDEX_PATH and the lexical tier.
	Index searchindex.Config
	// Search is the live engine bulk mapping uses: the process's one
	// searchindex.Live, shared with the API in `portiere dev`. Nil means
	// one of the Activities' own, opened on first use.
	Search *searchindex.Live
	// Embedder, when set, replaces the one Index names (tests).
	Embedder search.Embedder
	// Elasticsearch is nil without ELASTICSEARCH_URL.
	Elasticsearch *elastic.Client
	// EngineVersion is recorded in each mapping item's provenance (the
	// portiere build version).
	EngineVersion string
	Logger        *slog.Logger

	mu       sync.Mutex
	importID int64
	corpus   *search.Corpus
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// vocabularyKey identifies the live vocabulary; 0 when none is recorded.
func (a *Activities) vocabularyKey(ctx context.Context) (int64, error) {
	rep, err := a.Vocabulary.LastImport(ctx)
	if errors.Is(err, vocab.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return rep.ImportID, nil
}

// loadCorpus returns the cached corpus, reloading it when the vocabulary
// was reimported. Callers hold a.mu.
func (a *Activities) loadCorpusLocked(ctx context.Context) (*search.Corpus, error) {
	key, err := a.vocabularyKey(ctx)
	if err != nil {
		return nil, err
	}
	if a.corpus != nil && key == a.importID {
		return a.corpus, nil
	}
	c, err := a.Vocabulary.LoadCorpus(ctx)
	if err != nil {
		return nil, err
	}
	if len(c.Concepts) == 0 {
		return nil, temporal.NewNonRetryableApplicationError(
			"the vocabulary is empty: import one with `portiere vocab import DIR`", "EmptyVocabulary", nil)
	}
	a.corpus, a.importID = c, key
	return c, nil
}

// liveCorpus returns the live vocabulary's corpus (cached). Not exported:
// every exported method is registered as an activity.
func (a *Activities) liveCorpus(ctx context.Context) (*search.Corpus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loadCorpusLocked(ctx)
}

// liveEngine returns the engine bulk mapping searches with: a.Search,
// refreshed when the index build saved a new index. Until an index for the
// live vocabulary exists it returns a retryable error, so the mapping waits
// for the build instead of building an index itself.
func (a *Activities) liveEngine(ctx context.Context) (*search.Engine, searchindex.Info, error) {
	a.mu.Lock()
	if a.Search == nil {
		a.Search = &searchindex.Live{}
	}
	live := a.Search
	a.mu.Unlock()
	cfg := a.Index
	cfg.Logger = a.log()
	if err := live.Refresh(ctx, a.Vocabulary.LoadCorpus, cfg); err != nil {
		if errors.Is(err, searchindex.ErrNoIndex) {
			return nil, searchindex.Info{}, temporal.NewApplicationError(err.Error(), "IndexNotReady")
		}
		return nil, searchindex.Info{}, fmt.Errorf("activities: search engine: %w", err)
	}
	e, err := live.Engine()
	if err != nil {
		return nil, searchindex.Info{}, temporal.NewApplicationError(err.Error(), "IndexNotReady")
	}
	info, _ := live.Info()
	return e, info, nil
}

// embedder is the embedder the index is built with.
func (a *Activities) embedder() (search.Embedder, error) {
	if a.Embedder != nil {
		return a.Embedder, nil
	}
	return searchindex.NewEmbedder(a.Index)
}

// keepAlive heartbeats (without details) every few seconds until the
// returned stop is called, for activities that block in one long call
// (building the engine or the FAISS index).
func keepAlive(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

package searchindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/faiss"
)

// CorpusLoader reads the vocabulary to index (from PostgreSQL in a
// deployment).
type CorpusLoader func(ctx context.Context) (*search.Corpus, error)

// Live is the engine an API process serves, with the state of its
// (re)building for /health/ready. The zero value serves nothing yet; it is
// safe for concurrent use.
type Live struct {
	search.Live

	mu       sync.Mutex
	info     Info
	building bool
	err      error
}

// ErrBuilding is reported by Check while the first engine is being built.
var ErrBuilding = errors.New("searchindex: the search index is being built")

// Load builds an engine from load and cfg and serves it. It records the
// outcome for Check; on failure the engine served before (if any) stays.
func (l *Live) Load(ctx context.Context, load CorpusLoader, cfg Config) error {
	l.mu.Lock()
	l.building = true
	l.mu.Unlock()
	e, info, err := func() (*search.Engine, Info, error) {
		corpus, err := load(ctx)
		if err != nil {
			return nil, Info{}, fmt.Errorf("searchindex: load vocabulary: %w", err)
		}
		if len(corpus.Concepts) == 0 {
			return nil, Info{}, errors.New("searchindex: the vocabulary is empty: import one with `portiere vocab import DIR`")
		}
		return Build(ctx, corpus, cfg)
	}()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.building = false
	l.err = err
	if err != nil {
		return err
	}
	l.info = info
	l.Set(e)
	return nil
}

// Info describes the engine being served; ok is false before the first
// one.
func (l *Live) Info() (info Info, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info, l.info.Version != ""
}

// Check is a readiness probe: nil once an engine is served.
func (l *Live) Check(context.Context) error {
	if _, err := l.Engine(); err == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.err != nil:
		return l.err
	case l.building:
		return ErrBuilding
	}
	return search.ErrNotReady
}

// Watch reloads the engine whenever the dense index saved at
// cfg.IndexPath changes (another process — the index build workflow —
// saved a new one): every interval it reads the saved index's metadata,
// and when its vocabulary, embedder or creation time differs from the
// served engine's it calls Load, which swaps the new engine in (requests in
// flight finish on the old one). It returns when ctx is done.
func (l *Live) Watch(ctx context.Context, load CorpusLoader, cfg Config, interval time.Duration) {
	if cfg.IndexPath == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, err := faiss.ReadMeta(cfg.IndexPath)
		if err != nil {
			continue // none saved yet, or mid-save: try again next tick
		}
		l.mu.Lock()
		info, busy := l.info, l.building
		l.mu.Unlock()
		if busy {
			continue
		}
		// Nothing served yet (the first load failed) also reloads.
		if info.Version != "" && m.VocabularyFingerprint == info.Fingerprint && m.EmbedderID == info.EmbedderID && m.CreatedAt.Equal(info.IndexCreatedAt) {
			continue
		}
		log.Info("saved search index changed; reloading", "served", info.Version, "index_created_at", m.CreatedAt)
		if err := l.Load(ctx, load, cfg); err != nil && ctx.Err() == nil {
			log.Error("search index reload failed; still serving the previous one", "error", err)
		}
	}
}

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

// Live is the engine a process serves — the API's searches and the
// worker's bulk mapping alike — with the state of its loading for
// /health/ready. It only opens the index the build pipeline saved; its one
// invalidation key is that index's metadata (vocabulary fingerprint,
// embedder, creation time), which changes when a vocabulary import is
// followed by its index build. The zero value serves nothing yet; it is
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

// Load opens the engine for the vocabulary load returns and the index at
// cfg.IndexPath (Open) and serves it. It records the outcome for Check; on
// failure (ErrNoIndex before the first build) the engine served before, if
// any, stays.
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
		return Open(ctx, corpus, cfg)
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

// Refresh reloads the engine when the index saved at cfg.IndexPath is not
// the one served (or nothing is served yet); otherwise it does nothing but
// read the index's metadata. It returns the outcome of the reload.
func (l *Live) Refresh(ctx context.Context, load CorpusLoader, cfg Config) error {
	m, err := faiss.ReadMeta(cfg.IndexPath)
	l.mu.Lock()
	info, busy := l.info, l.building
	l.mu.Unlock()
	if busy {
		return nil
	}
	if err == nil && info.Version != "" && m.VocabularyFingerprint == info.Fingerprint && m.EmbedderID == info.EmbedderID && m.CreatedAt.Equal(info.IndexCreatedAt) {
		return nil
	}
	if err != nil && info.Version != "" {
		return nil // mid-save or removed: keep serving
	}
	return l.Load(ctx, load, cfg)
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

package searchindex

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/portiere/portiere/search"
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

package search

import (
	"errors"
	"sync/atomic"
)

// ErrNotReady is returned while no engine has been loaded yet.
var ErrNotReady = errors.New("search: the search index is not loaded yet")

// Live holds the engine that serves searches now and lets a rebuilt one
// replace it without a pause: readers get the old engine until Set returns,
// then the new one. The zero value holds none. Safe for concurrent use.
type Live struct {
	p atomic.Pointer[Engine]
}

// Set makes e the serving engine.
func (l *Live) Set(e *Engine) { l.p.Store(e) }

// Engine returns the serving engine, or ErrNotReady.
func (l *Live) Engine() (*Engine, error) {
	if e := l.p.Load(); e != nil {
		return e, nil
	}
	return nil, ErrNotReady
}

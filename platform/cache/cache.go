// Package cache stores short-lived byte values by key: in Redis when one is
// configured (shared by every API replica), else in process memory.
package cache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cache is a byte-value cache. Implementations are safe for concurrent use.
// A cache failure is never fatal to the caller: Get reports a miss, Set is
// best effort.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration)
}

// Memory is an in-process LRU cache bounded by entry count.
type Memory struct {
	mu      sync.Mutex
	max     int
	ll      *list.List
	entries map[string]*list.Element
	now     func() time.Time
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// NewMemory returns a cache holding at most max entries.
func NewMemory(max int) *Memory {
	return &Memory{max: max, ll: list.New(), entries: map[string]*list.Element{}, now: time.Now}
}

// Get returns the value for key unless absent or expired.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if m.now().After(e.expires) {
		m.ll.Remove(el)
		delete(m.entries, key)
		return nil, false
	}
	m.ll.MoveToFront(el)
	return e.value, true
}

// Set stores value for ttl, evicting the least recently used entry when
// full.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*entry)
		e.value, e.expires = value, m.now().Add(ttl)
		m.ll.MoveToFront(el)
		return
	}
	m.entries[key] = m.ll.PushFront(&entry{key: key, value: value, expires: m.now().Add(ttl)})
	for m.ll.Len() > m.max {
		old := m.ll.Back()
		m.ll.Remove(old)
		delete(m.entries, old.Value.(*entry).key)
	}
}

// Redis is a Cache on a Redis server; keys get a prefix so Portiere can
// share a server.
type Redis struct {
	rdb    *redis.Client
	prefix string
}

// NewRedis wraps rdb.
func NewRedis(rdb *redis.Client, prefix string) *Redis { return &Redis{rdb: rdb, prefix: prefix} }

// Get returns the value for key; errors count as misses.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	b, err := r.rdb.Get(ctx, r.prefix+key).Bytes()
	if err != nil {
		return nil, false
	}
	return b, true
}

// Set stores value for ttl; errors are dropped (the cache is an
// optimisation).
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	if err := r.rdb.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil && !errors.Is(err, context.Canceled) {
		return
	}
}

package credential_test

import (
	"context"
	"sync"
	"time"

	"github.com/portiere/portiere/credential"
)

// memKeys is an in-memory implementation of this package's KeyStore port,
// defined only for these tests.
type memKeys struct {
	mu      sync.Mutex
	byID    map[string]credential.KeyRecord
	touched map[string][]time.Time
	fail    error // returned by every lookup when set
	touchFn func(id string)
}

func newMemKeys() *memKeys {
	return &memKeys{byID: map[string]credential.KeyRecord{}, touched: map[string][]time.Time{}}
}

func (m *memKeys) put(k credential.KeyRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[k.ID] = k
}

func (m *memKeys) revoke(id string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.byID[id]
	k.RevokedAt = at
	m.byID[id] = k
}

func (m *memKeys) KeyByID(_ context.Context, id string) (credential.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return credential.KeyRecord{}, m.fail
	}
	k, ok := m.byID[id]
	if !ok {
		return credential.KeyRecord{}, credential.ErrKeyNotFound
	}
	return k, nil
}

func (m *memKeys) KeyByHash(_ context.Context, h credential.KeyHash) (credential.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return credential.KeyRecord{}, m.fail
	}
	for _, k := range m.byID {
		if k.Hash == h {
			return k, nil
		}
	}
	return credential.KeyRecord{}, credential.ErrKeyNotFound
}

func (m *memKeys) TouchKey(_ context.Context, id string, at time.Time) error {
	if m.touchFn != nil {
		m.touchFn(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touched[id] = append(m.touched[id], at)
	return nil
}

func (m *memKeys) touches(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.touched[id])
}

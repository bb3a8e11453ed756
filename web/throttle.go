package web

import (
	"sync"
	"time"
)

// throttle counts events per key in a sliding window: failed log-ins per
// email and client address, sign-ups per client address. It lives in the process: with several replicas each
// bounds attempts on its own, which still caps guessing at replicas × limit
// a window. It is safe for concurrent use.
type throttle struct {
	limit  int
	window time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
	sweep    time.Time
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, failures: map[string][]time.Time{}}
}

// blocked reports whether key has used up its failures at now, and how
// long until the oldest one leaves the window.
func (t *throttle) blocked(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recent := t.recent(key, now)
	if len(recent) < t.limit {
		return false, 0
	}
	return true, recent[0].Add(t.window).Sub(now)
}

// fail records an event of key at now.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures[key] = append(t.recent(key, now), now)
	if now.Sub(t.sweep) > t.window {
		// Forget keys whose failures all left the window, so the map does
		// not grow with every address ever seen.
		for k := range t.failures {
			if len(t.recent(k, now)) == 0 {
				delete(t.failures, k)
			}
		}
		t.sweep = now
	}
}

// reset forgets key's failures (a successful log-in).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, key)
}

func (t *throttle) recent(key string, now time.Time) []time.Time {
	l := t.failures[key]
	i := 0
	for i < len(l) && now.Sub(l[i]) >= t.window {
		i++
	}
	l = l[i:]
	if len(l) == 0 {
		delete(t.failures, key)
		return nil
	}
	t.failures[key] = l
	return l
}

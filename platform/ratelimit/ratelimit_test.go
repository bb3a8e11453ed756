package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/ratelimit"
	"github.com/portiere/portiere/platform/redistest"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestMemoryGCRA: a limit of 60 allows a burst of 60, refuses the 61st
// with the time until the next one, and lets one more through per second.
func TestMemoryGCRA(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := ratelimit.NewMemory(c.now)
	ctx := context.Background()
	for i := 0; i < 60; i++ {
		d, err := l.Allow(ctx, "k", 60)
		if err != nil || !d.Allowed {
			t.Fatalf("request %d refused: %+v %v", i+1, d, err)
		}
		if d.Remaining != 59-i {
			t.Fatalf("request %d: remaining %d, want %d", i+1, d.Remaining, 59-i)
		}
	}
	d, _ := l.Allow(ctx, "k", 60)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != time.Second || d.Reset != time.Minute {
		t.Fatalf("61st: %+v", d)
	}
	if d, _ := l.Allow(ctx, "other", 60); !d.Allowed {
		t.Fatal("keys are not independent")
	}
	c.add(999 * time.Millisecond)
	if d, _ := l.Allow(ctx, "k", 60); d.Allowed {
		t.Fatal("allowed before the emission interval passed")
	}
	c.add(time.Millisecond)
	if d, _ := l.Allow(ctx, "k", 60); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 1 s: %+v", d)
	}
	c.add(time.Minute)
	if d, _ := l.Allow(ctx, "k", 60); !d.Allowed || d.Remaining != 59 {
		t.Fatalf("after a minute: %+v", d)
	}
	if _, err := l.Allow(ctx, "k", 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
}

// concurrently sends n requests for key at once and counts the allowed.
func concurrently(t *testing.T, l ratelimit.Limiter, key string, limit, n int) int {
	t.Helper()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := l.Allow(context.Background(), key, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(allowed.Load())
}

func TestMemoryConcurrent(t *testing.T) {
	if got := concurrently(t, ratelimit.NewMemory(nil), "k", 50, 80); got != 50 {
		t.Fatalf("%d of 80 allowed, want 50", got)
	}
}

// TestRedisConcurrent: through two clients (two processes' pools) sharing
// one Redis, exactly limit of limit+k concurrent requests pass.
func TestRedisConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	a := ratelimit.NewRedis(srv.Client(), "test:")
	b := ratelimit.NewRedis(srv.Client(), "test:")
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for _, l := range []ratelimit.Limiter{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allowed.Add(int32(concurrently(t, l, "shared", 40, 35)))
		}()
	}
	wg.Wait()
	if allowed.Load() != 40 {
		t.Fatalf("%d of 70 allowed across two clients, want 40", allowed.Load())
	}
	d, err := a.Allow(context.Background(), "shared", 40)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 1500*time.Millisecond || d.Reset < 58*time.Second {
		t.Fatalf("after the burst: %+v %v", d, err)
	}
	d, err = a.Allow(context.Background(), "fresh", 40)
	if err != nil || !d.Allowed || d.Remaining != 39 || d.Limit != 40 {
		t.Fatalf("fresh key: %+v %v", d, err)
	}
}

// TestFallback: with Redis down the limiter keeps answering from memory
// (never an error, never a refusal because of Redis) and reports itself
// degraded; when Redis is back it is used again after the cooldown.
func TestFallback(t *testing.T) {
	srv := redistest.Start(t)
	f := &ratelimit.Fallback{Primary: ratelimit.NewRedis(srv.Client(), "test:"), Secondary: ratelimit.NewMemory(nil), Cooldown: 200 * time.Millisecond}
	ctx := context.Background()
	if d, err := f.Allow(ctx, "k", 3); err != nil || !d.Allowed || f.Degraded() {
		t.Fatalf("with Redis: %+v %v degraded=%v", d, err, f.Degraded())
	}
	srv.Stop()
	for i := 0; i < 3; i++ {
		d, err := f.Allow(ctx, "k", 3)
		if err != nil || !d.Allowed {
			t.Fatalf("Redis down, request %d: %+v %v", i+1, d, err)
		}
	}
	if !f.Degraded() {
		t.Fatal("not degraded with Redis down")
	}
	if d, _ := f.Allow(ctx, "k", 3); d.Allowed {
		t.Fatal("the in-process fallback does not limit")
	}
	srv.Restart()
	time.Sleep(250 * time.Millisecond)
	d, err := f.Allow(ctx, "k", 3)
	if err != nil || !d.Allowed || d.Remaining != 2 {
		t.Fatalf("Redis back (a fresh Redis holds no state): %+v %v", d, err)
	}
	if f.Degraded() {
		t.Fatal("still degraded")
	}
}

func BenchmarkMemory(b *testing.B) {
	l := ratelimit.NewMemory(nil)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(ctx, fmt.Sprint("key-", i%1000), 1_000_000)
			i++
		}
	})
}

func BenchmarkRedis(b *testing.B) {
	srv := redistest.Start(b)
	l := ratelimit.NewRedis(srv.Client(), "bench:")
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := l.Allow(ctx, fmt.Sprint("key-", i%1000), 1_000_000); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

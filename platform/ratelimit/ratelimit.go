// Package ratelimit limits requests per key and per minute with GCRA (the
// generic cell rate algorithm): each key holds one timestamp, its
// theoretical arrival time, so a decision is one read-modify-write. The
// Redis limiter does it in one Lua script (atomic, on Redis's clock, so
// every API replica sharing the Redis shares the limit); the memory
// limiter does it under a mutex for a single process. Fallback puts the
// memory limiter behind Redis for when Redis fails.
//
// A limit of N per minute allows a burst of N requests and then one every
// minute/N: exactly N requests in any minute that starts with a full
// allowance.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Period is the window limits are counted in.
const Period = time.Minute

// Decision is the answer for one request.
type Decision struct {
	Allowed bool
	// Limit is the number of requests per Period.
	Limit int
	// Remaining is how many more requests are allowed right now.
	Remaining int
	// RetryAfter is how long a refused request must wait (0 when allowed).
	RetryAfter time.Duration
	// Reset is how long until the full allowance is back.
	Reset time.Duration
}

// Limiter decides whether a request under key may proceed with limit
// requests per Period. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int) (Decision, error)
}

// decide is GCRA on microseconds: tat is the stored theoretical arrival
// time (0 when none). It returns the decision and the new tat to store
// (unchanged when refused). Memory and Redis compute the same thing.
func decide(now, tat int64, limit int) (Decision, int64) {
	period := Period.Microseconds()
	interval := period / int64(limit)
	if tat < now {
		tat = now
	}
	next := tat + interval
	allowAt := next - period
	if now < allowAt {
		return Decision{Limit: limit, RetryAfter: time.Duration(allowAt-now) * time.Microsecond, Reset: time.Duration(tat-now) * time.Microsecond}, tat
	}
	return Decision{
		Allowed: true, Limit: limit,
		Remaining: int((period - (next - now)) / interval),
		Reset:     time.Duration(next-now) * time.Microsecond,
	}, next
}

// Memory is an in-process limiter.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	tats  map[string]int64
	sweep int64 // next time (µs) expired keys are dropped
}

// NewMemory returns an in-process limiter; now nil means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tats: map[string]int64{}}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, limit int) (Decision, error) {
	if limit < 1 {
		return Decision{}, fmt.Errorf("ratelimit: limit must be positive, got %d", limit)
	}
	now := m.now().UnixMicro()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now >= m.sweep {
		// Keys whose tat has passed hold a full allowance: forget them.
		for k, t := range m.tats {
			if t <= now {
				delete(m.tats, k)
			}
		}
		m.sweep = now + Period.Microseconds()
	}
	d, tat := decide(now, m.tats[key], limit)
	m.tats[key] = tat
	return d, nil
}

// gcra is decide in Lua, on Redis's clock (TIME), so replicas agree
// whatever their own clocks say. KEYS[1] holds the tat in µs; it expires
// when the allowance is full again.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local interval = math.floor(period / limit)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - period
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, math.floor((period - (nxt - now)) / interval), 0, nxt - now}
`)

// Redis is a limiter shared by every process using the same Redis.
type Redis struct {
	rdb    redis.Scripter
	prefix string
}

// NewRedis returns a limiter storing its keys under prefix.
func NewRedis(rdb redis.Scripter, prefix string) *Redis { return &Redis{rdb: rdb, prefix: prefix} }

// Allow implements Limiter. Errors are Redis's (unreachable, timeout).
func (r *Redis) Allow(ctx context.Context, key string, limit int) (Decision, error) {
	if limit < 1 {
		return Decision{}, fmt.Errorf("ratelimit: limit must be positive, got %d", limit)
	}
	res, err := gcra.Run(ctx, r.rdb, []string{r.prefix + key}, Period.Microseconds(), limit).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	return Decision{
		Allowed: res[0] == 1, Limit: limit, Remaining: int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond, Reset: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// Fallback asks Primary (Redis) and, when it fails, Secondary (memory):
// requests keep being served and limited per process while Redis is down
// (fail open: never refused because of Redis). After a failure Primary is
// skipped for Cooldown, so an unreachable Redis does not add its timeout to
// every request; failures are logged once per cooldown.
type Fallback struct {
	Primary   Limiter
	Secondary Limiter
	Cooldown  time.Duration // 0 means 5 s
	// Timeout bounds one call to Primary, so a hung or unreachable Redis
	// delays a request by at most that much; 0 means 250 ms.
	Timeout time.Duration
	Logger  *slog.Logger

	down    atomic.Int64 // until when (UnixNano) Primary is skipped
	failing atomic.Bool  // the last use of Primary failed
}

// Allow implements Limiter; it never returns an error from Primary.
func (f *Fallback) Allow(ctx context.Context, key string, limit int) (Decision, error) {
	if time.Now().UnixNano() >= f.down.Load() {
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = 250 * time.Millisecond
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		d, err := f.Primary.Allow(pctx, key, limit)
		cancel()
		if err == nil {
			f.failing.Store(false)
			return d, nil
		}
		cool := f.Cooldown
		if cool <= 0 {
			cool = 5 * time.Second
		}
		// The cooldown starts when the failure is known (a dial timeout
		// may have taken a while).
		old := f.down.Load()
		if f.down.CompareAndSwap(old, time.Now().Add(cool).UnixNano()) && !f.failing.Swap(true) && f.Logger != nil {
			f.Logger.Warn("rate limiter: Redis failed; limiting per process until it answers again", "error", err, "retry_every", cool)
		}
	}
	return f.Secondary.Allow(ctx, key, limit)
}

// Degraded reports whether the last use of Primary failed: requests are
// limited per process.
func (f *Fallback) Degraded() bool { return f.failing.Load() }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/redistest"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// faultRateLimit is RATE_LIMIT_PER_MINUTE in TestRedisStoppedAndRestarted:
// small enough to reach in a few requests.
const faultRateLimit = 4

// TestRedisStoppedAndRestarted runs the production API (openBackends,
// api) with REDIS_HOST on a real redis-server, which the test stops and
// starts again on the same port while the API keeps running:
//
//   - Redis up: concept searches are cached in Redis (miss, then hit), the
//     rate limit is decided in Redis (its keys are there), readiness is 200
//     with nothing degraded.
//   - Redis stopped: searches still answer 200 (every answer a cache miss,
//     each within a second), the limiter falls back to the in-process one
//     with the same limit (docs/billing.md: fail open, N per replica), and
//     readiness stays 200 naming Redis under degraded.
//   - Redis started again: readiness is clean again, and after the
//     limiter's 5 s retry interval both the cache and the rate limit are in
//     Redis again — the same API process, never restarted.
func TestRedisStoppedAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := redistest.Start(t)
	rdb := rs.Client()
	host, port, _ := net.SplitHostPort(rs.Addr())

	pool := dbtest.New(t)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, "../../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"DB_PASSWORD": "unused: the test hands openBackends its pool", "JWT_SECRET": "faults-jwt-secret-faults-jwt-secret-faults",
		"API_KEY_SALT": "faults-salt-faults-salt-faults-salt-faults", "LOG_LEVEL": "ERROR",
		"EMBEDDING_MODEL": "hash", "FAISS_INDEX_PATH": filepath.Join(t.TempDir(), "faiss.index"),
		"RATE_LIMIT_PER_MINUTE": strconv.Itoa(faultRateLimit), "REDIS_HOST": host, "REDIS_PORT": port,
	}
	cfg, err := config.Load(config.ModeAPI, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	// The index the build workflow would have saved.
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := searchindex.BuildAndSave(ctx, corpus, emb, cfg.Search.FAISSIndexPath); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := openBackends(cfg, pool, nil, "test", logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	b.startSearch(ctx)
	base := serveAPI(t, ctx, cancel, b, time.Second)
	waitSearch(t, ctx, b, 30*time.Second)

	// One organization; each phase uses a key of its own so each starts
	// with a full allowance.
	org, err := b.tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Faults", Slug: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
	if err != nil {
		t.Fatal(err)
	}
	newKey := func(name string) string {
		issued := hasher.Issue()
		if _, err := b.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, Name: name,
			Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(credential.ScopeRead)}}); err != nil {
			t.Fatal(err)
		}
		return issued.Key
	}

	type answer struct {
		status  int
		cache   string
		results int
		took    time.Duration
		raw     string
	}
	search := func(key, query string) answer {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/v1/concepts/search", strings.NewReader(`{"query":`+strconv.Quote(query)+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(credential.HeaderAPIKey, key)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var body struct {
			Results []json.RawMessage `json:"results"`
		}
		json.Unmarshal(raw, &body)
		return answer{status: res.StatusCode, cache: res.Header.Get("X-Cache"), results: len(body.Results), took: time.Since(start), raw: string(raw)}
	}
	ready := func() (int, string) {
		t.Helper()
		res, err := http.Get(base + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Degraded []string `json:"degraded"`
			Checks   map[string]struct {
				Status string `json:"status"`
			} `json:"checks"`
		}
		raw, _ := io.ReadAll(res.Body)
		json.Unmarshal(raw, &body)
		return res.StatusCode, fmt.Sprintf("degraded=%v redis=%s", body.Degraded, body.Checks["redis"].Status)
	}
	redisKeys := func(pattern string) int {
		t.Helper()
		keys, err := rdb.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatalf("KEYS %s: %v", pattern, err)
		}
		return len(keys)
	}
	// limitedAfter sends searches of key until one is refused and returns
	// how many were answered (at most faultRateLimit+1 are sent); every
	// answered one must have results, every one must come within maxTook.
	limitedAfter := func(phase, key string, maxTook time.Duration) int {
		t.Helper()
		for i := range faultRateLimit + 1 {
			a := search(key, fmt.Sprintf("asthma %d", i))
			if a.took > maxTook {
				t.Errorf("%s: search %d took %s, want ≤ %s", phase, i, a.took, maxTook)
			}
			switch a.status {
			case http.StatusOK:
				if a.results == 0 {
					t.Errorf("%s: search %d answered no results: %s", phase, i, a.raw)
				}
			case http.StatusTooManyRequests:
				return i
			default:
				t.Fatalf("%s: search %d: %d %s", phase, i, a.status, a.raw)
			}
		}
		return faultRateLimit + 1
	}

	// Redis up.
	if code, s := ready(); code != 200 || s != "degraded=[] redis=ok" {
		t.Fatalf("ready with Redis: %d %s", code, s)
	}
	up := newKey("up")
	if a, b2 := search(up, "asthma"), search(up, "asthma"); a.status != 200 || b2.status != 200 || a.cache != "miss" || b2.cache != "hit" || a.results == 0 {
		t.Fatalf("Redis up: %d %s then %d %s: %s", a.status, a.cache, b2.status, b2.cache, a.raw)
	}
	if n := redisKeys("portiere:ratelimit:*"); n == 0 {
		t.Fatal("Redis up: no rate limit key in Redis")
	}
	if all, rl := redisKeys("portiere:*"), redisKeys("portiere:ratelimit:*"); all-rl == 0 {
		t.Fatal("Redis up: the search answer is not cached in Redis")
	}
	if n := limitedAfter("Redis up", newKey("up-limit"), 2*time.Second); n != faultRateLimit {
		t.Fatalf("Redis up: %d searches answered before a 429, want %d", n, faultRateLimit)
	}

	// Redis stopped.
	rs.Stop()
	down := newKey("down")
	for i := range 2 {
		// The query cached while Redis was up: Redis is the only cache, so
		// this is a miss, answered from the engine.
		a := search(down, "asthma")
		if a.status != 200 || a.cache != "miss" || a.results == 0 || a.took > time.Second {
			t.Fatalf("Redis down, search %d: %d X-Cache %q, %d results in %s: %s", i, a.status, a.cache, a.results, a.took, a.raw)
		}
		t.Logf("Redis down: search %d answered (cache miss) in %s", i, a.took.Round(time.Millisecond))
	}
	if code, s := ready(); code != 200 || s != "degraded=[redis] redis=degraded" {
		t.Fatalf("ready with Redis down: %d %s", code, s)
	}
	// The in-process limiter has the same limit per replica: a fresh key
	// gets exactly faultRateLimit searches.
	if n := limitedAfter("Redis down", newKey("down-limit"), time.Second); n != faultRateLimit {
		t.Fatalf("Redis down: %d searches answered before a 429, want %d (in-process fallback)", n, faultRateLimit)
	}

	// Redis back, on the same port; the API is not restarted.
	rs.Restart()
	restarted := time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, s := ready()
		if code == 200 && s == "degraded=[] redis=ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ready 10 s after Redis restarted: %d %s", code, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The limiter skips Redis for 5 s after its last failure (Fallback's
	// default cooldown), which was before the restart.
	time.Sleep(5*time.Second + 500*time.Millisecond - time.Since(restarted))
	if n := redisKeys("portiere:*"); n != 0 {
		t.Fatalf("the restarted Redis (no persistence) holds %d keys before any request", n)
	}
	back := newKey("back")
	if a, b2 := search(back, "hemodialysis"), search(back, "hemodialysis"); a.status != 200 || b2.status != 200 || a.cache != "miss" || b2.cache != "hit" {
		t.Fatalf("Redis back: %d %s then %d %s: %s", a.status, a.cache, b2.status, b2.cache, a.raw)
	}
	if all, rl := redisKeys("portiere:*"), redisKeys("portiere:ratelimit:*"); rl == 0 || all-rl == 0 {
		t.Fatalf("Redis back: %d rate limit keys and %d cached answers in Redis, want both", rl, all-rl)
	}
	if n := limitedAfter("Redis back", newKey("back-limit"), 2*time.Second); n != faultRateLimit {
		t.Fatalf("Redis back: %d searches answered before a 429, want %d", n, faultRateLimit)
	}
}

package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// The soak (`make soak`, never part of `make test`): the production API
// (openBackends, startSearch, api — what `portiere dev` serves) over the
// dev vocabulary and a hash index built from it, driven over loopback by
// an open-loop generator at a fixed rate for a fixed time with mixed
// traffic from several organizations' keys. Settings (environment, read
// by the test only):
//
//	PORTIERE_SOAK=1                  run it (otherwise skipped)
//	PORTIERE_SOAK_VOCAB=dir          Athena folder (the 125k dev vocabulary)
//	PORTIERE_SOAK_GOLD=dir           gold-set CSVs whose descriptions are the queries
//	PORTIERE_SOAK_RATE=500           requests per second (the mixed traffic)
//	PORTIERE_SOAK_DURATION=60s       how long
//	PORTIERE_SOAK_BULK=0             codes of a bulk mapping run by a worker
//	                                 (on a Temporal dev server) during the load
//	PORTIERE_SOAK_BULK_WAIT=20m      how long the bulk mapping may take
//
// It reports throughput, p50/p99/max latency per kind of request, errors,
// RSS and goroutines before and after, and checks the rate limiter: the
// keys driven over their plan's limit get 429 (with Retry-After) for
// exactly the requests past their allowance, no other key ever gets one.
func TestSoak(t *testing.T) {
	if os.Getenv("PORTIERE_SOAK") == "" {
		t.Skip("the soak runs with PORTIERE_SOAK=1 (make soak)")
	}
	vocabDir := envOr("PORTIERE_SOAK_VOCAB", "../../testdata/demo-vocab")
	goldDir := envOr("PORTIERE_SOAK_GOLD", "")
	rate, err := strconv.Atoi(envOr("PORTIERE_SOAK_RATE", "500"))
	if err != nil || rate < 1 || rate > 5000 {
		t.Fatalf("PORTIERE_SOAK_RATE %q: want 1..5000 requests per second", os.Getenv("PORTIERE_SOAK_RATE"))
	}
	duration, err := time.ParseDuration(envOr("PORTIERE_SOAK_DURATION", "60s"))
	if err != nil || duration <= 0 || duration > 10*time.Minute {
		t.Fatalf("PORTIERE_SOAK_DURATION %q: want a duration up to 10m", os.Getenv("PORTIERE_SOAK_DURATION"))
	}
	bulkCodes, err := strconv.Atoi(envOr("PORTIERE_SOAK_BULK", "0"))
	if err != nil || bulkCodes < 0 || bulkCodes > 1_000_000 {
		t.Fatalf("PORTIERE_SOAK_BULK %q: want 0..1000000 codes", os.Getenv("PORTIERE_SOAK_BULK"))
	}
	bulkWait, err := time.ParseDuration(envOr("PORTIERE_SOAK_BULK_WAIT", "20m"))
	if err != nil || bulkWait <= 0 {
		t.Fatalf("PORTIERE_SOAK_BULK_WAIT %q: want a duration", os.Getenv("PORTIERE_SOAK_BULK_WAIT"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The stack.
	setupStart := time.Now()
	pool := dbtest.New(t)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, vocabDir, nil); err != nil {
		t.Fatal(err)
	}
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: vocabulary %s: %d concepts imported in %s", vocabDir, len(corpus.Concepts), time.Since(setupStart).Round(time.Second))
	env := map[string]string{
		"DB_PASSWORD": "unused: the test hands openBackends its pool", "JWT_SECRET": "soak-jwt-secret-soak-jwt-secret-soak-jwt-secret",
		"API_KEY_SALT": "soak-salt-soak-salt-soak-salt-soak-salt", "LOG_LEVEL": "ERROR",
		"EMBEDDING_MODEL": "hash", "FAISS_INDEX_PATH": filepath.Join(t.TempDir(), "faiss.index"),
		// The plans decide: enterprise keys are not limited in practice,
		// the pro plan's 600 a minute is what the driven keys exceed.
		"RATE_LIMIT_PER_MINUTE": "1000000",
	}
	cfg, err := config.Load(config.ModeAPI, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	indexStart := time.Now()
	if _, err := searchindex.BuildAndSave(ctx, corpus, emb, cfg.Search.FAISSIndexPath); err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: hash index built in %s", time.Since(indexStart).Round(time.Second))
	var tc client.Client
	if bulkCodes > 0 {
		tc = startTemporal(t).Client()
	}
	b, err := openBackends(cfg, pool, tc, "soak", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	b.startSearch(ctx)
	if tc != nil {
		// The worker, as `portiere dev` runs it beside the API.
		wctx, wcancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- worker.Run(wctx, tc, slog.New(slog.NewTextHandler(io.Discard, nil)), worker.Options{Activities: b.activities(), Schedules: []workflows.Schedule{}})
		}()
		t.Cleanup(func() { wcancel(); <-done })
	}
	base := serveAPI(t, ctx, cancel, b, 5*time.Second)
	waitSearch(t, ctx, b, 2*time.Minute)

	// Queries and concept ids: the gold sets' descriptions and targets, or
	// the vocabulary's own names without gold sets.
	queries, conceptIDs := soakQueries(t, goldDir)
	if len(queries) == 0 {
		for i := 0; i < len(corpus.Concepts) && len(queries) < 5000; i += max(1, len(corpus.Concepts)/5000) {
			queries = append(queries, corpus.Concepts[i].Name)
			conceptIDs = append(conceptIDs, corpus.Concepts[i].ID)
		}
	}
	// Detail requests name concepts the vocabulary has (a gold target
	// outside this vocabulary would be a 404 of the test's making).
	known := make(map[int32]bool, len(corpus.Concepts))
	for i := range corpus.Concepts {
		known[corpus.Concepts[i].ID] = true
	}
	conceptIDs = slices.DeleteFunc(conceptIDs, func(id int32) bool { return !known[id] })
	if len(conceptIDs) == 0 {
		for i := 0; i < len(corpus.Concepts); i += max(1, len(corpus.Concepts)/5000) {
			conceptIDs = append(conceptIDs, corpus.Concepts[i].ID)
		}
	}
	t.Logf("soak: %d distinct queries, %d concept ids", len(queries), len(conceptIDs))

	// Organizations: four on the enterprise plan with two keys each and a
	// project of 2,000 proposed items; one on the pro plan whose two keys
	// are driven over its 600 requests a minute.
	hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
	if err != nil {
		t.Fatal(err)
	}
	type org struct {
		keys    []string
		project string
		items   []int64
		next    atomic.Int64 // next item to decide
	}
	newOrg := func(name, plan string, keys int, items int) *org {
		o := &org{}
		tn, err := b.tenants.CreateOrganization(ctx, tenancy.Organization{Name: name, Slug: strings.ToLower(name)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `update organizations set plan = $2 where id = $1`, tn.ID, plan); err != nil {
			t.Fatal(err)
		}
		u, err := b.tenants.CreateUser(ctx, tenancy.User{Email: "reviewer@" + strings.ToLower(name) + ".example"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.tenants.AddMember(ctx, tenancy.Membership{OrganizationID: tn.ID, UserID: u.ID, Role: tenancy.RoleMember}); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			k := hasher.Issue()
			if _, err := b.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: tn.ID, UserID: u.ID, Name: fmt.Sprintf("soak %d", i),
				Prefix: k.Prefix, Hash: k.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}}); err != nil {
				t.Fatal(err)
			}
			o.keys = append(o.keys, k.Key)
		}
		if items == 0 {
			return o
		}
		p, err := b.tenants.CreateProject(ctx, tenancy.Project{OrganizationID: tn.ID, Name: "soak"})
		if err != nil {
			t.Fatal(err)
		}
		o.project = p.ID
		batch := make([]mappingjob.Item, items)
		for i := range batch {
			c := corpus.Concepts[(i*7919)%len(corpus.Concepts)]
			batch[i] = mappingjob.Item{Source: "soak", Code: fmt.Sprintf("S%05d", i), Description: queries[i%len(queries)],
				ConceptID: c.ID, Confidence: 0.8, Method: mappingjob.MethodReview,
				Candidates: []mappingjob.Candidate{{ConceptID: c.ID, ConceptName: c.Name, VocabularyID: c.Vocabulary, DomainID: c.Domain, Score: 0.8}}}
		}
		if err := b.jobs.UpsertItems(ctx, p.ID, batch); err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(ctx, `select id from concept_mapping_items where project_id = $1 order by id`, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			o.items = append(o.items, id)
		}
		rows.Close()
		return o
	}
	var orgs []*org
	for i := range 4 {
		orgs = append(orgs, newOrg(fmt.Sprintf("Soak%d", i), "enterprise", 2, 2000))
	}
	limited := newOrg("SoakPro", "pro", 2, 0)
	const planLimit = 600 // billing's pro plan, requests per key per minute

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second}, Timeout: 30 * time.Second}
	type result struct {
		kind    string
		key     string
		status  int
		took    time.Duration
		detail  string
		retryOK bool
		at      time.Time // answered
	}
	do := func(kind, key, method, path, body string) result {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set(credential.HeaderAPIKey, key)
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return result{kind: kind, key: key, status: -1, took: time.Since(start), detail: err.Error()}
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r := result{kind: kind, key: key, status: res.StatusCode, took: time.Since(start), at: time.Now()}
		if kind == "search" {
			r.kind = "search-" + res.Header.Get("X-Cache")
		}
		if res.StatusCode == http.StatusTooManyRequests {
			n, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			r.retryOK = n >= 1
		}
		if res.StatusCode >= 300 {
			r.detail = string(raw)
		}
		return r
	}

	// One request of the mix: 60 % search, 15 % concept detail, 15 % a
	// page of results, 10 % a review decision.
	next := func(rng *rand.Rand, n int) func() result {
		o := orgs[n%len(orgs)]
		key := o.keys[(n/len(orgs))%len(o.keys)]
		switch r := rng.IntN(100); {
		case r < 60:
			q := queries[rng.IntN(len(queries))]
			return func() result {
				return do("search", key, "POST", "/api/v1/concepts/search", `{"query":`+strconv.Quote(q)+`,"limit":10}`)
			}
		case r < 75:
			id := conceptIDs[rng.IntN(len(conceptIDs))]
			return func() result { return do("detail", key, "GET", fmt.Sprintf("/api/v1/concepts/%d", id), "") }
		case r < 90:
			cursor := o.items[rng.IntN(len(o.items))]
			return func() result {
				return do("page", key, "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mappings?limit=50&cursor=%d", o.project, cursor), "")
			}
		default:
			i := o.next.Add(1) - 1
			verb := "approve"
			if i%3 == 2 {
				verb = "reject"
			}
			item := o.items[int(i)%len(o.items)]
			return func() result {
				return do("decision", key, "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", o.project, item, verb), `{"comment":"soak"}`)
			}
		}
	}

	// The bulk mapping's source: bulkCodes codes of the first
	// organization's project, descriptions from the queries, each code
	// distinct.
	var bulkRun string
	if bulkCodes > 0 {
		codes := make([]mappingjob.SourceCode, bulkCodes)
		for i := range codes {
			codes[i] = mappingjob.SourceCode{Code: fmt.Sprintf("B%07d", i), Description: queries[i%len(queries)], Count: 1}
		}
		src, err := b.jobs.CreateSource(ctx, mappingjob.Source{ProjectID: orgs[0].project, Name: "bulk", Format: "csv", Kind: mappingjob.SourceUpload,
			Rows: int64(bulkCodes), DistinctCodes: int64(bulkCodes), TotalCount: int64(bulkCodes)}, codes)
		if err != nil {
			t.Fatal(err)
		}
		run, err := b.workflows.StartBulkMapping(ctx, workflows.BulkMappingInput{ProjectID: orgs[0].project, SourceID: src.ID})
		if err != nil {
			t.Fatal(err)
		}
		bulkRun = run.WorkflowID
		t.Logf("soak: bulk mapping of %d codes started (%s)", bulkCodes, bulkRun)
	}
	bulkStart := time.Now()

	// Warm-up (not counted): the engine's first queries, connections.
	for i := range 50 {
		do("search", orgs[0].keys[0], "POST", "/api/v1/concepts/search", `{"query":`+strconv.Quote(queries[i%len(queries)])+`}`)
	}
	client.CloseIdleConnections()
	time.Sleep(time.Second)
	runtime.GC()
	before := soakProcess()
	cpuBefore := soakCPU()

	var (
		mu       sync.Mutex
		results  []result
		inflight sync.WaitGroup
		busy     atomic.Int64
		skipped  atomic.Int64
	)
	const maxInflight = 1024
	record := func(r result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	fire := func(f func() result) {
		if busy.Add(1) > maxInflight {
			busy.Add(-1)
			skipped.Add(1)
			return
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer busy.Add(-1)
			record(f())
		}()
	}
	// The driven keys: 40 searches a second each (2,400 a minute, four
	// times the plan's limit; over a minute GCRA allows the burst of 600
	// plus 600 more), beside the mix.
	const drivenRate = 40
	driven := map[string]*[2]time.Time{} // first and last request sent
	for _, k := range limited.keys {
		driven[k] = &[2]time.Time{}
	}
	start := time.Now()
	end := start.Add(duration)
	var gen sync.WaitGroup
	gen.Add(2)
	go func() {
		defer gen.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		interval := time.Second / time.Duration(rate)
		for n := 0; ; n++ {
			at := start.Add(time.Duration(n) * interval)
			if !at.Before(end) {
				return
			}
			time.Sleep(time.Until(at))
			fire(next(rng, n))
		}
	}()
	go func() {
		defer gen.Done()
		interval := time.Second / drivenRate
		for n := 0; ; n++ {
			at := start.Add(time.Duration(n) * interval)
			if !at.Before(end) {
				return
			}
			time.Sleep(time.Until(at))
			for _, k := range limited.keys {
				if driven[k][0].IsZero() {
					driven[k][0] = time.Now()
				}
				driven[k][1] = time.Now()
				q := queries[(n*31)%len(queries)]
				fire(func() result {
					return do("driven", k, "POST", "/api/v1/concepts/search", `{"query":`+strconv.Quote(q)+`}`)
				})
			}
		}
	}()
	gen.Wait()
	sent := time.Since(start)
	inflight.Wait()
	elapsed := time.Since(start)
	cpu := soakCPU() - cpuBefore
	atEnd := soakProcess()
	if bulkRun != "" {
		if st, err := b.workflows.State(ctx, bulkRun); err == nil && st.Progress != nil {
			t.Logf("soak: bulk mapping at the end of the load: %d of %d codes (%s)", st.Progress.Done, st.Progress.Total, st.Status)
		}
	}
	// The server's connection goroutines end when the client closes its
	// idle connections, its worker goroutines after fasthttp's 10 s idle
	// time: measure after both.
	client.CloseIdleConnections()
	settle := time.Now()
	var after soakSnapshot
	for {
		time.Sleep(time.Second)
		runtime.GC()
		after = soakProcess()
		if after.goroutines <= before.goroutines+20 || time.Since(settle) > 30*time.Second {
			break
		}
	}
	settled := time.Since(settle).Round(time.Second)

	if bulkRun != "" {
		deadline := time.Now().Add(bulkWait)
		for {
			st, err := b.workflows.State(ctx, bulkRun)
			if err == nil && st.ClosedAt != nil {
				var p workflows.Progress
				if st.Progress != nil {
					p = *st.Progress
				}
				took := st.ClosedAt.Sub(bulkStart)
				t.Logf("soak: bulk mapping %s after %s: %d of %d codes (auto %d, review %d, manual %d, failed %d), %.0f codes/s",
					st.Status, took.Round(time.Second), p.Done, p.Total, p.Auto, p.Review, p.Manual, p.Failed, float64(p.Done)/took.Seconds())
				if st.Status != "completed" || p.Done != int64(bulkCodes) {
					t.Errorf("bulk mapping %s with %d of %d codes", st.Status, p.Done, bulkCodes)
				}
				break
			}
			if time.Now().After(deadline) {
				if err == nil && st.Progress != nil {
					t.Errorf("bulk mapping not finished after %s: %d of %d codes", bulkWait, st.Progress.Done, st.Progress.Total)
				} else {
					t.Errorf("bulk mapping not finished after %s (%v)", bulkWait, err)
				}
				break
			}
			time.Sleep(2 * time.Second)
		}
		var n int
		if err := pool.QueryRow(ctx, `select count(*) from concept_mapping_items where project_id = $1 and source = 'bulk'`, orgs[0].project).Scan(&n); err == nil {
			t.Logf("soak: %d mapping items of the bulk source stored", n)
		}
	}

	// The report.
	byKind := map[string][]time.Duration{}
	statuses := map[string]map[int]int{}
	var errs []string
	errCount := 0
	drivenOK, drivenLimited := map[string]int{}, map[string]int{}
	drivenLast := map[string]time.Time{} // the last answer of each driven key
	for _, r := range results {
		if statuses[r.kind] == nil {
			statuses[r.kind] = map[int]int{}
		}
		statuses[r.kind][r.status]++
		if r.kind == "driven" {
			if r.at.After(drivenLast[r.key]) {
				drivenLast[r.key] = r.at
			}
			switch {
			case r.status == 200:
				drivenOK[r.key]++
			case r.status == 429 && r.retryOK:
				drivenLimited[r.key]++
			default:
				errCount++
				errs = append(errs, fmt.Sprintf("driven: %d %s", r.status, r.detail))
			}
			continue
		}
		byKind[r.kind] = append(byKind[r.kind], r.took)
		byKind["all"] = append(byKind["all"], r.took)
		if r.kind == "search-hit" || r.kind == "search-miss" {
			byKind["search"] = append(byKind["search"], r.took)
		}
		if r.status != 200 {
			errCount++
			if len(errs) < 20 {
				errs = append(errs, fmt.Sprintf("%s: %d %.300s", r.kind, r.status, r.detail))
			}
		}
	}
	mixed := len(byKind["all"])
	t.Logf("soak: %d requests of the mix sent in %s (target %d/s for %s), all answered after %s; %d skipped at %d in flight",
		mixed, sent.Round(time.Millisecond), rate, duration, elapsed.Round(time.Millisecond), skipped.Load(), maxInflight)
	t.Logf("soak: throughput %.1f requests/s answered (mix), errors %d", float64(mixed)/elapsed.Seconds(), errCount)
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		d := byKind[k]
		slices.Sort(d)
		t.Logf("soak: %-12s n=%6d p50=%8s p99=%8s max=%8s statuses=%v", k, len(d), pct(d, 0.50), pct(d, 0.99), d[len(d)-1].Round(time.Microsecond), statuses[k])
	}
	t.Logf("soak: process (API and generator) CPU %.1f s in %s (%.2f cores of %d)", cpu.Seconds(), elapsed.Round(time.Millisecond), cpu.Seconds()/elapsed.Seconds(), runtime.NumCPU())
	t.Logf("soak: process before: RSS %d MiB, %d goroutines; at the end of the load: RSS %d MiB, %d goroutines; %s later: RSS %d MiB, %d goroutines",
		before.rss>>20, before.goroutines, atEnd.rss>>20, atEnd.goroutines, settled, after.rss>>20, after.goroutines)
	for _, e := range errs {
		t.Logf("soak: error: %s", e)
	}
	if errCount > 0 {
		t.Errorf("%d errors (target 0)", errCount)
	}
	if skipped.Load() > 0 {
		t.Errorf("%d requests not sent: %d already in flight (the server fell behind)", skipped.Load(), maxInflight)
	}
	// The 50 ms target is the soak's; beside a bulk mapping on the same
	// machine the issue asks that both finish and the p99 be reported.
	if p := pct(sortedCopy(byKind["search"]), 0.99); p > 50*time.Millisecond && bulkCodes == 0 {
		t.Errorf("search p99 %s is over the 50 ms target", p)
	}
	if after.goroutines > before.goroutines+20 {
		var dump strings.Builder
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		t.Errorf("goroutines grew from %d to %d and stayed 30 s after the load: a leak; goroutines:\n%.6000s", before.goroutines, after.goroutines, dump.String())
	}

	// The rate limiter: only the driven keys were refused, each for
	// exactly what passed its allowance: GCRA grants the burst (the plan's
	// limit) and then one request per 60/limit seconds.
	for kind, st := range statuses {
		if kind != "driven" && st[429] > 0 {
			t.Errorf("%s: %d answers 429 for keys under their limit", kind, st[429])
		}
	}
	// The limiter sees arrivals, not sends: while the server keeps up the
	// two spans below are equal and the allowance exact; when requests
	// queue, arrivals spread up to the last answer, so the allowance lies
	// between the two.
	for i, k := range limited.keys {
		sentSpan := driven[k][1].Sub(driven[k][0])
		answerSpan := drivenLast[k].Sub(driven[k][0])
		sentN := drivenOK[k] + drivenLimited[k]
		low := min(sentN, planLimit+int(sentSpan.Seconds()*planLimit/60))
		high := min(sentN, planLimit+int(answerSpan.Seconds()*planLimit/60))
		t.Logf("soak: driven key %d: %d sent in %s (last answer after %s), %d answered 200, %d answered 429 with Retry-After; allowance %d–%d",
			i, sentN, sentSpan.Round(time.Millisecond), answerSpan.Round(time.Millisecond), drivenOK[k], drivenLimited[k], low, high)
		if drivenOK[k] < low-2 || drivenOK[k] > high+2 {
			t.Errorf("driven key %d: %d allowed, want %d–%d ± 2", i, drivenOK[k], low, high)
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// soakQueries reads every gold set CSV in dir: the source descriptions are
// the queries, the target concept ids those of the detail requests.
func soakQueries(t *testing.T, dir string) (queries []string, ids []int32) {
	t.Helper()
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("PORTIERE_SOAK_GOLD %s: no CSV files (%v)", dir, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, row := range rows[1:] {
			if len(row) < 3 {
				continue
			}
			if q := strings.TrimSpace(row[1]); q != "" && !seen[q] {
				seen[q] = true
				queries = append(queries, q)
			}
			for _, v := range strings.FieldsFunc(row[2], func(r rune) bool { return r == ';' || r == '|' || r == ' ' }) {
				if id, err := strconv.ParseInt(v, 10, 32); err == nil {
					ids = append(ids, int32(id))
				}
			}
		}
	}
	return queries, ids
}

type soakSnapshot struct {
	rss        int64
	goroutines int
}

// soakCPU is the CPU time (user and system) this process has used.
func soakCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// soakProcess reads this process's resident memory (Linux) and goroutines.
func soakProcess() soakSnapshot {
	s := soakSnapshot{goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				s.rss = kb << 10
			}
		}
	}
	return s
}

func sortedCopy(d []time.Duration) []time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Round(time.Microsecond)
}

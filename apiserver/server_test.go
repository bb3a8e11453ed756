package apiserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/redis/go-redis/v9"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/platform/pgcluster"
	"github.com/portiere/portiere/platform/postgres"
)

func newServer(t *testing.T, deps ...apiserver.Dependency) *apiserver.Server {
	t.Helper()
	s, err := apiserver.New(apiserver.Config{
		Version: "1.2.3", CORSOrigins: []string{"http://localhost:3000"}, Dependencies: deps,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *apiserver.Server, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := s.App().Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestHealthAndLive(t *testing.T) {
	s := newServer(t, apiserver.Dependency{Name: "never-called", Check: func(context.Context) error {
		t.Error("liveness must not check dependencies")
		return nil
	}})
	for _, path := range []string{"/health", "/health/live"} {
		res, body := do(t, s, httptest.NewRequest("GET", path, nil))
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		var h struct{ Status, Version, Timestamp string }
		json.Unmarshal(body, &h)
		if h.Status != "healthy" || h.Version != "1.2.3" || h.Timestamp != "2026-01-02T03:04:05Z" {
			t.Errorf("%s: %s", path, body)
		}
		if res.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID header", path)
		}
	}
}

func TestReadyNamesEveryFailingDependency(t *testing.T) {
	ok := apiserver.Dependency{Name: "postgresql", Check: func(context.Context) error { return nil }}
	down := apiserver.Dependency{Name: "redis", Check: func(context.Context) error { return errors.New("connection refused") }}
	hung := apiserver.Dependency{Name: "elasticsearch", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	s := newServer(t, ok, down, hung)
	res, body := do(t, s, httptest.NewRequest("GET", "/health/ready", nil))
	if res.StatusCode != 503 {
		t.Fatalf("status %d", res.StatusCode)
	}
	var r struct {
		Status  string
		Failing []string
		Checks  map[string]struct{ Status, Error string }
	}
	json.Unmarshal(body, &r)
	if r.Status != "not_ready" || strings.Join(r.Failing, ",") != "elasticsearch,redis" {
		t.Fatalf("body %s", body)
	}
	if r.Checks["postgresql"].Status != "ok" || r.Checks["redis"].Error != "connection refused" {
		t.Fatalf("checks %s", body)
	}
}

// Unreachable Redis and Elasticsearch, as configured, are reported by name:
// Elasticsearch failing, Redis (optional: the API serves without it)
// degraded.
func TestReadyWithConfiguredButUnreachableRedisAndElasticsearch(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	s := newServer(t, apiserver.RedisDependency(rdb), apiserver.ElasticsearchDependency(es))
	res, body := do(t, s, httptest.NewRequest("GET", "/health/ready", nil))
	if res.StatusCode != 503 || !strings.Contains(string(body), `"failing":["elasticsearch"],"degraded":["redis"]`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

// The readiness probe against a real PostgreSQL cluster: 503 naming it while
// it is stopped, 200 once it is back.
func TestReadyFollowsPostgreSQL(t *testing.T) {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "portiere-ready-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	cl, err := pgcluster.New(pgcluster.Options{Dir: filepath.Join(base, "pg"), Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Stop(context.Background()) })
	port := cl.Port()
	pool, err := postgres.Open(ctx, cl.ConnString("postgres"), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := newServer(t, apiserver.PostgreSQLDependency(pool))

	ready := func() (int, string) {
		res, body := do(t, s, httptest.NewRequest("GET", "/health/ready", nil))
		return res.StatusCode, string(body)
	}
	if code, body := ready(); code != 200 {
		t.Fatalf("running cluster: %d %s", code, body)
	}
	if err := cl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := ready(); code != 503 || !strings.Contains(body, `"failing":["postgresql"]`) {
		t.Fatalf("stopped cluster: %d %s", code, body)
	}
	restarted, _ := pgcluster.New(pgcluster.Options{Dir: cl.Dir(), Port: port})
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := ready()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOpenAPIDocumentIsValidAndCoversEveryRoute(t *testing.T) {
	s := newServer(t)
	res, body := do(t, s, httptest.NewRequest("GET", "/openapi.json", nil))
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI 3 document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	routes := 0
	for _, r := range s.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || r.Path == "/" && r.Method != "GET" {
			continue // Fiber adds HEAD for every GET; middleware shows as USE
		}
		routes++
		item := doc.Paths.Find(openapi.Path(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in /openapi.json", r.Method, r.Path)
		}
	}
	if routes < 7 {
		t.Fatalf("only %d routes registered", routes)
	}
	// And nothing documented that does not exist.
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			found := false
			for _, r := range s.App().GetRoutes(true) {
				if r.Method == m && openapi.Path(r.Path) == p {
					found = true
				}
			}
			if !found {
				t.Errorf("documented %s %s has no route", m, p)
			}
		}
	}
}

func TestDocsPagesServeEmbeddedAssets(t *testing.T) {
	s := newServer(t)
	for page, asset := range map[string]string{"/docs": "swagger-ui-bundle.js", "/redoc": "redoc.standalone.js"} {
		res, body := do(t, s, httptest.NewRequest("GET", page, nil))
		if res.StatusCode != 200 || !strings.Contains(string(body), "/docs/assets/"+asset) || !strings.Contains(string(body), "/openapi.json") {
			t.Fatalf("%s: %d %s", page, res.StatusCode, body)
		}
		if strings.Contains(string(body), "cdn") || strings.Contains(string(body), "https://") {
			t.Errorf("%s refers to an outside address", page)
		}
		res, body = do(t, s, httptest.NewRequest("GET", "/docs/assets/"+asset, nil))
		if res.StatusCode != 200 || len(body) < 100_000 || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
			t.Errorf("asset %s: %d, %d bytes, %s", asset, res.StatusCode, len(body), res.Header.Get("Content-Type"))
		}
	}
	res, body := do(t, s, httptest.NewRequest("GET", "/docs/assets/nope.js", nil))
	if res.StatusCode != 404 || !strings.Contains(string(body), `"detail"`) {
		t.Errorf("missing asset: %d %s", res.StatusCode, body)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	s := newServer(t)
	res, body := do(t, s, httptest.NewRequest("GET", "/nope", nil))
	if res.StatusCode != 404 || !json.Valid(body) || !strings.Contains(string(body), "detail") {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
}

func TestCORSAllowsConfiguredOriginsOnly(t *testing.T) {
	s := newServer(t)
	preflight := func(origin string) string {
		req := httptest.NewRequest("OPTIONS", "/health", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		res, _ := do(t, s, req)
		return res.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight("http://localhost:3000"); got != "http://localhost:3000" {
		t.Errorf("allowed origin: %q", got)
	}
	if got := preflight("http://evil.example"); got != "" {
		t.Errorf("foreign origin allowed: %q", got)
	}
}

// Cancelling Serve's context stops new connections but lets an in-flight
// request finish.
func TestServeDrainsInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	slow := apiserver.Dependency{Name: "slow", Check: func(context.Context) error {
		close(started)
		time.Sleep(700 * time.Millisecond)
		return nil
	}}
	s := newServer(t, slow)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 5*time.Second) }()

	type result struct {
		code int
		err  error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/health/ready")
		if err != nil {
			got <- result{err: err}
			return
		}
		res.Body.Close()
		got <- result{code: res.StatusCode}
	}()
	<-started
	cancel()
	r := <-got
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight request during shutdown: %d %v", r.code, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/health"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

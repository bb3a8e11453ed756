package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/platform/ports"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// buildBinary compiles this command once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "portiere")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// temporalCLI finds the CLI: $PORTIERE_TEMPORAL_CLI, else the one `make
// tools` installs into ./bin. Without it the tests that need it can only run
// under make test, which installs it first.
func temporalCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PORTIERE_TEMPORAL_CLI"); p != "" {
		return p
	}
	p, err := filepath.Abs("../../bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("Temporal CLI missing at %s (make tools installs it)", p)
		}
		t.Skipf("Temporal CLI missing at %s: run make tools", p)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startTemporal starts a Temporal dev server (temporalCLI) on a free port of
// 127.0.0.1, stopped when t ends.
func startTemporal(t *testing.T) *testsuite.DevServer {
	t.Helper()
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  temporalCLI(t),
		ClientOptions: &client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Namespace: "default"},
		LogLevel:      "error",
		ExtraArgs:     []string{"--ip", "127.0.0.1"},
	})
	if err != nil {
		t.Fatalf("step start Temporal: %v", err)
	}
	t.Cleanup(func() { dev.Stop() })
	return dev
}

// startWorkerStack composes, from the environment the test set, the
// backends of mode on their own database pool — as `portiere dev` composes
// them — and runs a worker on them against dev until t ends. logLevel
// filters what the stack logs to stderr.
func startWorkerStack(t *testing.T, dev *testsuite.DevServer, mode config.Mode, logLevel slog.Level) *backends {
	t.Helper()
	cfg, err := config.LoadEnv(mode)
	if err != nil {
		t.Fatalf("step config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := postgres.Open(ctx, cfg.DB.ConnString(), postgres.Options{})
	if err != nil {
		cancel()
		t.Fatalf("step open database: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))
	b, err := openBackends(cfg, pool, dev.Client(), "test", logger)
	if err != nil {
		cancel()
		pool.Close()
		t.Fatalf("step openBackends: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, dev.Client(), logger, worker.Options{Activities: b.activities(), Schedules: []workflows.Schedule{}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		b.Close()
		pool.Close()
	})
	return b
}

// serveAPI serves b's API on a free port of 127.0.0.1 until the test ends
// (cleanup: cancel, then wait for the server to drain within drain) and
// returns its base URL.
func serveAPI(t *testing.T, ctx context.Context, cancel context.CancelFunc, b *backends, drain time.Duration) string {
	t.Helper()
	srv, err := b.api()
	if err != nil {
		t.Fatalf("step api: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, drain) }()
	t.Cleanup(func() { cancel(); <-served })
	return "http://" + ln.Addr().String()
}

// waitSearch waits until b's search index is loaded, at most timeout.
func waitSearch(t *testing.T, ctx context.Context, b *backends, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for b.search.Check(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("search index not loaded: %v", b.search.Check(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devEnv is the environment of a `portiere dev` under test: nothing
// inherited that could point it at other servers.
func devEnv(cli string, apiPort int) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DB_HOST" || k == "TEMPORAL_ADDRESS" || k == "REDIS_HOST" || k == "ELASTICSEARCH_URL" || k == "API_PORT" || k == "WEB_PORT" ||
			strings.HasPrefix(k, "MAPPER_") || k == "LINE_CHANNEL_ID" || k == "NEXT_PUBLIC_LIFF_ID" || k == "ADMIN_LINE_USER_IDS" {
			continue
		}
		env = append(env, kv)
	}
	// The dashboard gets a free port of its own, so tests never collide
	// on :3000.
	webPort, _ := ports.Free()
	mapperPort, _ := ports.Free()
	return append(env, "PORTIERE_TEMPORAL_CLI="+cli, "API_PORT="+strconv.Itoa(apiPort), "WEB_PORT="+strconv.Itoa(webPort),
		"MAPPER_PORT="+strconv.Itoa(mapperPort), "MAPPER_DEV_LOGIN=true", "LOG_LEVEL=WARNING")
}

// processesUsing lists live (non-zombie) processes whose command line
// mentions dir.
func processesUsing(dir string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		out[pid] = string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
	}
	return out
}

func get(url string) (int, string) {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// devProcess is a `portiere dev` started by a test, with its output.
type devProcess struct {
	cmd            *exec.Cmd
	api            string // http://127.0.0.1:API_PORT
	uiPort         int
	dataDir        string
	stdout, stderr *bytes.Buffer
	exited         chan error
}

// startDev starts `portiere dev` with args in a fresh data folder and waits
// up to readyWithin for /health/ready to answer 200, whose body it returns.
// The process and every process using its data folder are killed when the
// test ends.
func startDev(t *testing.T, readyWithin time.Duration, args ...string) (*devProcess, string) {
	t.Helper()
	cli := temporalCLI(t)
	bin := buildBinary(t)
	base, err := os.MkdirTemp("", "portiere-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755) // PostgreSQL may run as the postgres user
	d := &devProcess{dataDir: filepath.Join(base, "data"), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}

	apiPort, tPort := freePort(t), freePort(t)
	d.uiPort = freePort(t)
	args = append([]string{"dev", "--data-dir", d.dataDir,
		"--temporal-port", strconv.Itoa(tPort), "--temporal-ui-port", strconv.Itoa(d.uiPort)}, args...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = devEnv(cli, apiPort)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		for pid := range processesUsing(d.dataDir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	d.api = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	for deadline := time.Now().Add(readyWithin); ; {
		code, body := get(d.api + "/health/ready")
		if code == 200 {
			return d, body
		}
		select {
		case err := <-d.exited:
			t.Fatalf("portiere dev exited: %v\nstdout:\n%s\nstderr:\n%s", err, d.stdout.String(), d.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready never 200 (last %d %s)\nstderr:\n%s", code, body, d.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks that `portiere dev` exits cleanly within
// wait and leaves no process using its data folder.
func (d *devProcess) stop(t *testing.T, wait time.Duration) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, d.stderr.String())
		}
	case <-time.After(wait):
		t.Fatalf("portiere dev did not exit within %s of SIGTERM", wait)
	}
	if left := processesUsing(d.dataDir); len(left) > 0 {
		t.Fatalf("processes left running after SIGTERM: %v", left)
	}
}

func TestDevSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Temporal")
	}
	d, _ := startDev(t, 90*time.Second)
	api, stdout, dataDir := d.api, d.stdout, d.dataDir
	ui := fmt.Sprintf("http://127.0.0.1:%d", d.uiPort)
	if code, body := get(ui + "/"); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("Temporal UI page: %d %.200s", code, body)
	}
	// The UI's own API proves it is wired to the server: it lists
	// namespaces. Its gRPC connection may still be in backoff from a dial
	// made before the frontend was up, so allow it a while.
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, body := get(ui + "/api/v1/namespaces")
		if code == 200 && strings.Contains(body, `"default"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Temporal UI namespaces: %d %.300s", code, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), api[len("http://127.0.0.1"):]+"/health/ready") {
		t.Errorf("URLs not printed:\n%s", stdout.String())
	}
	// The Cloud dashboard is served beside the API, at the printed URL.
	dash := regexp.MustCompile(`Dashboard\s+http://localhost:(\d+)`).FindStringSubmatch(stdout.String())
	if dash == nil {
		t.Fatalf("dashboard URL not printed:\n%s", stdout.String())
	}
	if code, body := get("http://127.0.0.1:" + dash[1] + "/login"); code != 200 || !strings.Contains(body, "Log in") {
		t.Fatalf("dashboard log-in page: %d %.200s", code, body)
	}
	// So is the mapper app, with the development sign-in it was given.
	mapperURL := regexp.MustCompile(`Mapper\s+http://localhost:(\d+)`).FindStringSubmatch(stdout.String())
	if mapperURL == nil {
		t.Fatalf("mapper URL not printed:\n%s", stdout.String())
	}
	if code, body := get("http://127.0.0.1:" + mapperURL[1] + "/login"); code != 200 || !strings.Contains(body, "/login/dev") {
		t.Fatalf("mapper sign-in page: %d %.300s", code, body)
	}
	// The printed demo key works: it exchanges for a token, and the token
	// lists the demo organization's keys (owner, write scope).
	keyM := regexp.MustCompile(`Demo API key\s+(pt_sk_\S+)`).FindStringSubmatch(stdout.String())
	orgM := regexp.MustCompile(`Demo org\s+\S+ \(id (\S+)\)`).FindStringSubmatch(stdout.String())
	if keyM == nil || orgM == nil {
		t.Fatalf("demo key or organization not printed:\n%s", stdout.String())
	}
	res, err := http.Post(api+"/api/v1/auth/token", "application/json", strings.NewReader(`{"api_key":"`+keyM[1]+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token exchange with the demo key: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", api+"/api/v1/organizations/"+orgM[1]+"/api-keys", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("listing keys with the demo token: %v %v", res, err)
	} else {
		res.Body.Close()
		// Rate limited per key with RATE_LIMIT_PER_MINUTE (the demo plan
		// sets no limit of its own).
		if res.Header.Get("X-RateLimit-Limit") != "60" || res.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("rate limit headers %v", res.Header)
		}
	}
	req, _ = http.NewRequest("GET", api+"/api/v1/billing/subscription", nil)
	req.Header.Set("X-Portiere-API-Key", keyM[1])
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("billing subscription: %v %v", res, err)
	} else {
		var sub struct {
			Plan string `json:"plan"`
		}
		json.NewDecoder(res.Body).Decode(&sub)
		res.Body.Close()
		if sub.Plan != "enterprise" {
			t.Errorf("demo organization on plan %q, want enterprise (no quota in portiere dev)", sub.Plan)
		}
	}

	// Concept search needs credentials; the printed curl's key is enough.
	if !regexp.MustCompile(`curl .*X-Portiere-API-Key: ` + regexp.QuoteMeta(keyM[1]) + `.*/api/v1/concepts/search`).MatchString(stdout.String()) {
		t.Errorf("no concept search curl with the demo key printed:\n%s", stdout.String())
	}
	search := func(key string) int {
		req, _ := http.NewRequest("POST", api+"/api/v1/concepts/search", strings.NewReader(`{"query": "paracetamol", "limit": 5}`))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("X-Portiere-API-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := search(""); code != 401 {
		t.Errorf("concept search without credentials: %d, want 401", code)
	}
	if code := search(keyM[1]); code != 200 {
		t.Errorf("concept search with the demo key: %d, want 200", code)
	}

	children := processesUsing(dataDir)
	var sawPostgres, sawTemporal bool
	for _, c := range children {
		sawPostgres = sawPostgres || strings.Contains(c, "postgres")
		sawTemporal = sawTemporal || strings.Contains(c, "start-dev")
	}
	if !sawPostgres || !sawTemporal {
		t.Fatalf("expected postgres and temporal children, found %v", children)
	}

	d.stop(t, 60*time.Second)
	if code, _ := get(api + "/health"); code != 0 {
		t.Fatalf("API still answering after exit")
	}
}

func TestDevRefusesAWebPortInUse(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(bin, "dev", "--data-dir", t.TempDir())
	cmd.Env = append(devEnv("/nonexistent", freePort(t)), "WEB_PORT="+strconv.Itoa(port))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("portiere dev started although the dashboard's port was taken")
	}
	if want := fmt.Sprintf("port %d is already in use", port); !strings.Contains(string(out), want) {
		t.Fatalf("output %q does not say %q", out, want)
	}
}

func TestDevRefusesAPortInUse(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(bin, "dev", "--data-dir", t.TempDir())
	cmd.Env = devEnv("/nonexistent", port)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("portiere dev started although its API port was taken")
	}
	if want := fmt.Sprintf("port %d is already in use", port); !strings.Contains(string(out), want) {
		t.Fatalf("output %q does not say %q", out, want)
	}
}

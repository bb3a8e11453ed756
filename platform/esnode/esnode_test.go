package esnode_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/esnode"
)

func install(t *testing.T) string {
	t.Helper()
	dir, err := esnode.Find()
	if err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v (PORTIERE_REQUIRE_TOOLS is set)", err)
		}
		t.Skip(err)
	}
	return dir
}

// A node answers GET / as go-elasticsearch expects, keeps its PID in its
// folder, and a second Start on the same folder stops the first (as after a
// parent killed without stopping it) before starting.
func TestStartStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "es")
	first, err := esnode.Start(context.Background(), esnode.Options{Install: install(t), Dir: dir, Heap: "256m"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Stop() })
	if !strings.HasPrefix(first.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s, want loopback", first.URL())
	}
	res, err := http.Get(first.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Version struct{ Number string }
		Tagline string
	}
	err = json.NewDecoder(res.Body).Decode(&root)
	res.Body.Close()
	if err != nil || res.Header.Get("X-Elastic-Product") != "Elasticsearch" || !strings.HasPrefix(root.Version.Number, "8.") {
		t.Errorf("GET /: %v, header %q, %+v", err, res.Header.Get("X-Elastic-Product"), root)
	}
	b, err := os.ReadFile(filepath.Join(dir, "esnode.pid"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(first.PID()) {
		t.Errorf("PID file %q (%v), want %d", b, err, first.PID())
	}

	second, err := esnode.Start(context.Background(), esnode.Options{Install: install(t), Dir: dir, Heap: "256m"})
	if err != nil {
		t.Fatal(err)
	}
	if syscall.Kill(first.PID(), 0) == nil {
		// Our own child: it stays a zombie until Stop reaps it.
		if st, _ := os.ReadFile("/proc/" + strconv.Itoa(first.PID()) + "/stat"); !strings.Contains(string(st), ") Z") {
			t.Errorf("the first node still runs: %s", st)
		}
	}
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "esnode.pid")); !os.IsNotExist(err) {
		t.Errorf("PID file left after Stop: %v", err)
	}
	c := http.Client{Timeout: time.Second}
	if _, err := c.Get(second.URL() + "/"); err == nil {
		t.Error("the node still answers after Stop")
	}
}

func TestStartWithoutInstall(t *testing.T) {
	if _, err := esnode.Start(context.Background(), esnode.Options{Install: t.TempDir(), Dir: t.TempDir()}); err != esnode.ErrNotInstalled {
		t.Errorf("Start without a launcher: %v, want ErrNotInstalled", err)
	}
}

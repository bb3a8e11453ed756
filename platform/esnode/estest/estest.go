// Package estest gives tests a real Elasticsearch node (platform/esnode).
//
// URL returns the node named by PORTIERE_TEST_ELASTICSEARCH_URL (make test
// starts one for the whole run and sets it); without it, the first test that
// asks starts a node for the test binary, which Stop stops (call it from
// TestMain, e.g. dbtest.Main(m, estest.Stop)). Start gives a test a private
// node it may stop and restart. Without the launcher installed the tests
// skip, unless PORTIERE_REQUIRE_TOOLS is set, when they fail.
package estest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/esnode"
)

// EnvURL names the variable holding a running node's address.
const EnvURL = "PORTIERE_TEST_ELASTICSEARCH_URL"

// shared is the test binary's one node; see Stop.
var shared struct {
	once sync.Once
	url  string
	node *esnode.Node
	tmp  string
	err  error
}

// URL returns the address of a node shared by the tests of this run.
func URL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared.url = u
			return
		}
		install, err := esnode.Find()
		if err != nil {
			shared.err = err
			return
		}
		if shared.tmp, shared.err = os.MkdirTemp("", "portiere-estest-"); shared.err != nil {
			return
		}
		shared.node, shared.err = esnode.Start(context.Background(), esnode.Options{Install: install, Dir: filepath.Join(shared.tmp, "es")})
		if shared.err == nil {
			shared.url = shared.node.URL()
		}
	})
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.url
}

// Stop stops the node URL started for this test binary, if any.
func Stop() {
	if shared.node != nil {
		shared.node.Stop()
		os.RemoveAll(shared.tmp)
	}
}

// Start starts a private node in a temporary folder, stopped when the test
// ends. The test may Stop it and start it again on the same folder and port
// with Restart.
func Start(t testing.TB) *Node {
	t.Helper()
	install, err := esnode.Find()
	if err != nil {
		unavailable(t, err)
	}
	n := &Node{t: t, opts: esnode.Options{Install: install, Dir: filepath.Join(t.TempDir(), "es"), Heap: "256m"}}
	n.start()
	t.Cleanup(func() {
		if n.node != nil {
			n.node.Stop()
		}
	})
	return n
}

// Node is a test's private node.
type Node struct {
	t    testing.TB
	opts esnode.Options
	node *esnode.Node
}

func (n *Node) start() {
	n.t.Helper()
	node, err := esnode.Start(context.Background(), n.opts)
	if err != nil {
		n.t.Fatal(err)
	}
	n.node, n.opts.Port = node, node.Port()
}

// URL is the node's address; it stays the same across Restart.
func (n *Node) URL() string { return "http://127.0.0.1:" + strconv.Itoa(n.opts.Port) }

// Stop stops the node, keeping its data.
func (n *Node) Stop() {
	n.t.Helper()
	if err := n.node.Stop(); err != nil {
		n.t.Fatal(err)
	}
	n.node = nil
}

// Restart starts the stopped node again on the same port and data.
func (n *Node) Restart() {
	n.t.Helper()
	n.start()
}

var seq atomic.Int64

// IndexName returns an index name no other test of this run uses, from
// prefix and the test's name.
func IndexName(t testing.TB, prefix string) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name()))
	return prefix + "-" + name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(seq.Add(1), 10)
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
		t.Fatalf("Elasticsearch: %v (PORTIERE_REQUIRE_TOOLS is set)", err)
	}
	t.Skipf("Elasticsearch: %v", err)
}

package workflows_test

// Reliability tests against a real Temporal development server and a real
// PostgreSQL (one database per test, dbtest). The Temporal CLI is
// $PORTIERE_TEMPORAL_CLI or the repository's bin/temporal; without it these
// tests skip, unless PORTIERE_REQUIRE_TOOLS is set.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func TestMain(m *testing.M) {
	if os.Getenv(envWorkerProcess) != "" {
		os.Exit(workerProcessMain())
	}
	dbtest.Main(m, stopDevServer, estest.Stop, stripetest.Stop)
}

var (
	devOnce   sync.Once
	devServer *testsuite.DevServer
	devErr    error
)

func stopDevServer() {
	if devServer != nil {
		devServer.Stop()
	}
}

// temporalCLI finds the Temporal CLI binary.
func temporalCLI() string {
	if p := os.Getenv("PORTIERE_TEMPORAL_CLI"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../bin/temporal")
	return p
}

// devTemporal returns a client of the package's dev server, started on
// first use.
func devTemporal(t testing.TB) client.Client {
	t.Helper()
	cli := temporalCLI()
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("Temporal CLI %s: %v (PORTIERE_REQUIRE_TOOLS is set)", cli, err)
		}
		t.Skipf("Temporal CLI not found at %s: set PORTIERE_TEMPORAL_CLI or run `make tools`", cli)
	}
	devOnce.Do(func() {
		var port int
		port, devErr = freePort()
		if devErr != nil {
			return
		}
		devServer, devErr = testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
			ExistingPath:  cli,
			ClientOptions: &client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port), Namespace: "default"},
			LogLevel:      "error",
			ExtraArgs:     []string{"--ip", "127.0.0.1"},
		})
	})
	if devErr != nil {
		t.Fatalf("start Temporal dev server: %v", devErr)
	}
	return devServer.Client()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// demoDB is a migrated database holding the demo vocabulary.
func demoDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.New(t)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(context.Background(), "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	return pool
}

// projectWithCodes creates a project with n source codes whose
// descriptions are demo concept names, some with noise.
func projectWithCodes(t testing.TB, pool *pgxpool.Pool, n int) string {
	t.Helper()
	ctx := context.Background()
	store := mappingjobstore.New(pool)
	project := newProject(t, pool, "test-org", "bulk")
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]mappingjob.SourceCode, n)
	for i := range codes {
		name := corpus.Concepts[(i*7919)%len(corpus.Concepts)].Name
		if i%5 == 0 {
			name += " nos"
		}
		codes[i] = mappingjob.SourceCode{Source: "LAB", Code: fmt.Sprintf("SRC-%06d", i), Description: name}
	}
	if _, err := store.AddSourceCodes(ctx, project, codes); err != nil {
		t.Fatal(err)
	}
	return project
}

// Package dbtest gives each test its own freshly migrated PostgreSQL
// database, so tests run in parallel against a real server.
//
// The server is the one named by PORTIERE_TEST_DATABASE_URL (make test starts
// a private cluster once per run and sets it); without it, the first test
// that asks starts a private cluster for the test binary, which Main stops.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/pgcluster"
	"github.com/portiere/portiere/platform/postgres"
)

// EnvURL names the variable holding an admin connection string.
const EnvURL = "PORTIERE_TEST_DATABASE_URL"

// server is shared by the tests of one test binary.
type server struct {
	once     sync.Once
	adminURL string // connection string with "dbname=%s" placeholder filled per use
	cluster  *pgcluster.Cluster
	tmp      string
	err      error

	tmplOnce sync.Once
	tmplName string
	tmplErr  error
}

var shared server // the test binary's one server; see Main

// Main runs the tests and stops a cluster started for them. Call it from
// TestMain: func TestMain(m *testing.M) { dbtest.Main(m) }. The optional
// stops run after the tests, before the cluster stops (servers the tests
// shared, such as a Temporal dev server).
func Main(m *testing.M, stops ...func()) {
	code := m.Run()
	for _, stop := range stops {
		stop()
	}
	if shared.cluster != nil {
		shared.cluster.Stop(context.Background())
		os.RemoveAll(shared.tmp)
	}
	os.Exit(code)
}

func (s *server) start() error {
	s.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			s.adminURL = u
			return
		}
		s.tmp, s.err = os.MkdirTemp("", "portiere-dbtest-")
		if s.err != nil {
			return
		}
		os.Chmod(s.tmp, 0o755) // the server may run as the postgres user
		s.cluster, s.err = pgcluster.New(pgcluster.Options{Dir: filepath.Join(s.tmp, "pg"), Password: "dbtest"})
		if s.err != nil {
			return
		}
		ctx := context.Background()
		if s.err = s.cluster.Init(ctx); s.err != nil {
			return
		}
		if s.err = s.cluster.Start(ctx); s.err != nil {
			return
		}
		s.adminURL = s.cluster.ConnString("postgres")
	})
	return s.err
}

// URL returns a connection string for database name on the test server.
func URL(t testing.TB, name string) string {
	t.Helper()
	if err := shared.start(); err != nil {
		t.Fatalf("dbtest: start PostgreSQL: %v", err)
	}
	cfg, err := pgx.ParseConfig(shared.adminURL)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvURL, err)
	}
	return fmt.Sprintf("host=%s port=%d user=%s password='%s' dbname=%s sslmode=disable",
		cfg.Host, cfg.Port, cfg.User, cfg.Password, name)
}

// NewEmpty creates an empty database, dropped when the test ends, and
// returns its name.
func NewEmpty(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

// New creates a database with the current schema, dropped when the test
// ends, and returns a pool on it.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	shared.tmplOnce.Do(func() { shared.tmplName, shared.tmplErr = buildTemplate(t) })
	if shared.tmplErr != nil {
		t.Fatalf("dbtest: build template database: %v", shared.tmplErr)
	}
	name := create(t, shared.tmplName)
	pool, err := postgres.Open(context.Background(), URL(t, name), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func create(t testing.TB, from string) string {
	t.Helper()
	admin := adminConn(t)
	defer admin.Close(context.Background())
	name := "test_" + randomHex(8)
	q := "create database " + name
	if from != "" {
		q += " template " + from
	}
	if _, err := admin.Exec(context.Background(), q); err != nil {
		t.Fatalf("dbtest: %s: %v", q, err)
	}
	t.Cleanup(func() {
		c := adminConn(t)
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "drop database if exists "+name+" with (force)"); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
	return name
}

// buildTemplate migrates a template database once per schema version;
// copying it is much faster than migrating every test's database. The name
// carries a digest of the migrations, so a schema change gets a new template
// and binaries running side by side never drop one another's.
func buildTemplate(t testing.TB) (string, error) {
	ctx := context.Background()
	ms, err := migrate.Load(migrate.Schema())
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.Checksum))
	}
	name := "portiere_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	admin := adminConn(t)
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "select pg_advisory_lock(4242)"); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "select pg_advisory_unlock(4242)")
	var ready, exists bool
	err = admin.QueryRow(ctx, "select true, datistemplate from pg_database where datname = $1", name).Scan(&exists, &ready)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	if ready {
		return name, nil
	}
	if exists { // a build that died half-way
		if _, err := admin.Exec(ctx, "drop database "+name+" with (force)"); err != nil {
			return "", err
		}
	}
	if _, err := admin.Exec(ctx, "create database "+name); err != nil {
		return "", err
	}
	pool, err := postgres.Open(ctx, URL(t, name), postgres.Options{MaxConns: 2})
	if err != nil {
		return "", err
	}
	_, err = migrate.Up(ctx, pool, migrate.Schema())
	pool.Close()
	if err != nil {
		return "", err
	}
	_, err = admin.Exec(ctx, "alter database "+name+" is_template true")
	return name, err
}

func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	if err := shared.start(); err != nil {
		t.Fatalf("dbtest: start PostgreSQL: %v", err)
	}
	c, err := pgx.Connect(context.Background(), shared.adminURL)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestInitStartStopReuse(t *testing.T) {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755) // the server may run as another user

	c, err := New(Options{Dir: filepath.Join(base, "pg"), Password: "s3cret'pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })

	query := func() int {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "select count(*) from pg_database where datname = 'kept'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "create database kept"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	pid := c.PID()
	if pid == 0 {
		t.Fatal("no postmaster pid while running")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Running(ctx) || processAlive(pid) {
		t.Fatal("server still running after Stop")
	}

	// A second start on the same folder reuses the data.
	c2, _ := New(Options{Dir: c.Dir(), Password: "ignored on reuse"})
	if err := c2.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c2.Stop(ctx)
	c.port = c2.Port()
	if query() != 1 {
		t.Fatal("database created before the restart is gone")
	}

	// Wrong password is refused: TCP connections are authenticated.
	bad := *c2
	bad.password = "wrong"
	if conn, err := pgx.Connect(ctx, bad.ConnString("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
}

// processAlive treats zombies as dead: in containers whose init does not
// reap, an exited daemon lingers as a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

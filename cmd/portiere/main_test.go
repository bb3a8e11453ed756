package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/postgres/dbtest"
)

func TestEverySubcommandHasHelp(t *testing.T) {
	for _, sub := range []string{"dev", "api", "worker", "migrate", "vocab", "version"} {
		var out bytes.Buffer
		if err := run([]string{sub, "--help"}, &out, &out); err != nil {
			t.Fatalf("%s --help: %v", sub, err)
		}
		if !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "portiere "+sub) {
			t.Errorf("%s --help:\n%s", sub, out.String())
		}
	}
}

func TestServicesRefuseToStartWithoutSecrets(t *testing.T) {
	for _, v := range []string{"DB_PASSWORD", "JWT_SECRET", "API_KEY_SALT"} {
		t.Setenv(v, "")
	}
	var out bytes.Buffer
	err := run([]string{"api"}, &out, &out)
	if err == nil {
		t.Fatal("api started without secrets")
	}
	msg := err.Error()
	for _, v := range []string{"DB_PASSWORD", "JWT_SECRET", "API_KEY_SALT"} {
		if !strings.Contains(msg, v) {
			t.Errorf("%q does not name %s", msg, v)
		}
	}
	t.Setenv("DB_PORT", "abc")
	if err := run([]string{"migrate"}, &out, &out); err == nil || !strings.Contains(err.Error(), "DB_PORT") {
		t.Errorf("migrate with DB_PORT=abc: %v", err)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, &out, &out); err != nil || !strings.HasPrefix(out.String(), "portiere ") {
		t.Fatalf("%q %v", out.String(), err)
	}
}

func TestMain(m *testing.M) { dbtest.Main(m) }

// Two `portiere migrate` processes racing on an empty database both succeed
// and the schema ends up applied exactly once.
func TestConcurrentMigrateProcesses(t *testing.T) {
	bin := buildBinary(t)
	name := dbtest.NewEmpty(t)
	cfg, err := pgx.ParseConfig(dbtest.URL(t, name))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"DB_HOST="+cfg.Host, "DB_PORT="+strconv.Itoa(int(cfg.Port)), "DB_NAME="+name,
		"DB_USER="+cfg.User, "DB_PASSWORD="+cfg.Password, "LOG_LEVEL=ERROR")
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "migrate")
			cmd.Env = env
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	applied := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("migrate #%d: %v\n%s", i, errs[i], outs[i])
		}
		var v, n int
		if _, err := fmt.Sscanf(string(outs[i]), "schema at version %d (%d applied now)", &v, &n); err != nil {
			t.Fatalf("migrate #%d output %q", i, outs[i])
		}
		applied += n
	}
	all, _ := migrate.Load(migrate.Schema())
	if applied != len(all) {
		t.Fatalf("the two runs applied %d migrations in total, want %d", applied, len(all))
	}
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/config"
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

// The API always authenticates through credential's Authenticator: built
// without JWT_SECRET or API_KEY_SALT (a configuration `portiere api`
// refuses earlier and `portiere dev` never has), api() fails naming the
// variable instead of serving routes nobody can reach.
func TestAPINeedsItsAuthenticationSecrets(t *testing.T) {
	full := map[string]string{"JWT_SECRET": strings.Repeat("j", 32), "API_KEY_SALT": strings.Repeat("s", 32)}
	for _, missing := range []string{"JWT_SECRET", "API_KEY_SALT"} {
		env := map[string]string{}
		for k, v := range full {
			if k != missing {
				env[k] = v
			}
		}
		cfg, err := config.Load(config.ModeDev, func(name string) string { return env[name] })
		if err != nil {
			t.Fatal(err)
		}
		b, err := openBackends(cfg, nil, nil, "test", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.api(); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("api() without %s: %v, want an error naming it", missing, err)
		}
		b.Close()
	}
}

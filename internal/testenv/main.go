// Command testenv runs a command (normally `go test ./...`) with a private
// PostgreSQL cluster and an Elasticsearch node started once for the whole
// run: it sets PORTIERE_TEST_DATABASE_URL and PORTIERE_TEST_ELASTICSEARCH_URL,
// runs the command, and stops both however the command ends. It starts
// stripe-mock (./bin/stripe-mock, from make tools) the same way and sets
// PORTIERE_TEST_STRIPE_URL. Tests give each
// of their Elasticsearch indices a name of its own (estest.IndexName).
//
// Without the Elasticsearch launcher installed (make tools builds it) the
// node is left out and the Elasticsearch tests skip, unless
// PORTIERE_REQUIRE_TOOLS is set (make test sets it), when testenv fails.
//
//	go run ./internal/testenv -- go test ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/portiere/portiere/platform/esnode"
	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/platform/pgcluster"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripemock"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return 2, errors.New("usage: testenv -- COMMAND [ARGS...]")
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "portiere-testenv-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755) // PostgreSQL may run as the postgres user
	cl, err := pgcluster.New(pgcluster.Options{Dir: filepath.Join(tmp, "pg"), Password: "testenv"})
	if err != nil {
		return 1, err
	}
	fmt.Fprintln(os.Stderr, "testenv: starting a private PostgreSQL cluster for the test run")
	if err := cl.Init(ctx); err != nil {
		return 1, err
	}
	if err := cl.Start(ctx); err != nil {
		return 1, err
	}
	defer func() {
		if err := cl.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "testenv: PostgreSQL on 127.0.0.1:%d\n", cl.Port())

	env := append(os.Environ(), dbtest.EnvURL+"="+cl.ConnString("postgres"))
	if install, err := esnode.Find(); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			return 1, err
		}
		fmt.Fprintln(os.Stderr, "testenv:", err, "— the Elasticsearch tests will skip")
	} else {
		fmt.Fprintln(os.Stderr, "testenv: starting an Elasticsearch node for the test run")
		logf, err := os.Create(filepath.Join(tmp, "elasticsearch.log"))
		if err != nil {
			return 1, err
		}
		defer logf.Close()
		node, err := esnode.Start(ctx, esnode.Options{Install: install, Dir: filepath.Join(tmp, "es"), Log: logf})
		if err != nil {
			return 1, err
		}
		defer func() {
			if err := node.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "testenv:", err)
			}
		}()
		fmt.Fprintf(os.Stderr, "testenv: Elasticsearch on %s\n", node.URL())
		env = append(env, estest.EnvURL+"="+node.URL())
	}

	wd, _ := os.Getwd()
	if bin, err := stripemock.Find(wd); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			return 1, err
		}
		fmt.Fprintln(os.Stderr, "testenv:", err, "— the Stripe tests will skip")
	} else {
		sm, err := stripemock.Start(ctx, bin, nil)
		if err != nil {
			return 1, err
		}
		defer func() {
			if err := sm.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "testenv:", err)
			}
		}()
		fmt.Fprintf(os.Stderr, "testenv: stripe-mock on %s\n", sm.URL())
		env = append(env, stripetest.EnvURL+"="+sm.URL())
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	// Forward Ctrl-C / SIGTERM to the command and still stop the cluster.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

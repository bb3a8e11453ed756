// Package stripemock runs stripe-mock (Stripe's official API mock, built
// from its OpenAPI specification) as a child process on 127.0.0.1, for the
// tests of the billing integration and `portiere dev` (a demo of checkout
// and the mappers' payouts that moves no money). make tools installs it as
// ./bin/stripe-mock.
package stripemock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/portiere/portiere/platform/ports"
)

// ErrNotInstalled is returned when the stripe-mock binary cannot be found.
var ErrNotInstalled = errors.New("stripemock: stripe-mock not found: run `make tools` (installs ./bin/stripe-mock)")

// Find looks for stripe-mock in dir/bin and the folders above it (the
// repository's bin/ from any package's tests), then PATH.
func Find(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "bin", "stripe-mock")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	return "", ErrNotInstalled
}

// Server is a running stripe-mock.
type Server struct {
	cmd  *exec.Cmd
	port int
	done chan struct{}
}

// Start runs bin on free loopback ports (HTTP and HTTPS; clients use the
// HTTP one) and waits until it accepts connections.
func Start(ctx context.Context, bin string, log io.Writer) (*Server, error) {
	httpPort, err := ports.Free()
	if err != nil {
		return nil, err
	}
	httpsPort, err := ports.Free()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(httpPort), "-https-addr", "127.0.0.1:"+strconv.Itoa(httpsPort))
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so stopping it never signals the caller's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripemock: start %s: %w", bin, err)
	}
	s := &Server{cmd: cmd, port: httpPort, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ports.Wait(wctx, "127.0.0.1:"+strconv.Itoa(httpPort)); err != nil {
		s.Stop()
		return nil, fmt.Errorf("stripemock: %w", err)
	}
	return s, nil
}

// URL is the HTTP address to point a Stripe client at.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

// Stop ends the process (by its pid) and waits for it.
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Package temporaldev runs the Temporal CLI's development server (a complete
// Temporal service with its Web UI, persisted in one SQLite file) as a child
// process of `portiere dev`.
package temporaldev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/platform/ports"
)

// ErrNoCLI is returned when the temporal binary cannot be found.
var ErrNoCLI = errors.New("temporaldev: Temporal CLI not found: run `make tools` (installs ./bin/temporal), set PORTIERE_TEMPORAL_CLI, or set TEMPORAL_ADDRESS to use a running Temporal")

// FindCLI looks for the temporal binary: explicit when not empty
// (PORTIERE_TEMPORAL_CLI, read by package config), else ./bin, beside the
// running executable, then PATH.
func FindCLI(explicit string) (string, error) {
	if p := explicit; p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("temporaldev: PORTIERE_TEMPORAL_CLI: %w", err)
		}
		return p, nil
	}
	candidates := []string{filepath.Join("bin", "temporal")}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "temporal"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Abs(c)
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNoCLI
}

// Options configure Start.
type Options struct {
	CLI       string // path to the temporal binary
	DBFile    string // SQLite file holding the server's state
	Port      int    // frontend gRPC port
	UIPort    int    // Web UI port
	Namespace string
	Log       io.Writer // server output; nil discards it
}

// Server is a running development server.
type Server struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	opts Options
}

// Start launches the server and waits until its frontend answers health
// checks. Ports in use are reported as *ports.PortInUseError.
func Start(ctx context.Context, opts Options) (*Server, error) {
	for _, p := range []int{opts.Port, opts.UIPort} {
		if err := ports.Available(p); err != nil {
			return nil, fmt.Errorf("temporaldev: %w", err)
		}
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
		return nil, fmt.Errorf("temporaldev: %w", err)
	}
	cmd := exec.Command(opts.CLI, "server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port),
		"--ui-port", strconv.Itoa(opts.UIPort),
		"--db-filename", opts.DBFile,
		"--namespace", opts.Namespace,
		"--log-level", "warn",
	)
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group so a terminal Ctrl-C reaches only portiere, which
	// stops us in order; Pdeathsig so a killed portiere never orphans us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("temporaldev: start %s: %w", opts.CLI, err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{}), opts: opts}
	go func() { s.err = cmd.Wait(); close(s.done) }()

	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		select {
		case <-s.done:
			return fmt.Errorf("temporaldev: server exited during start-up: %v", s.err)
		default:
		}
		c, err := client.NewLazyClient(client.Options{HostPort: s.Address(), Namespace: s.opts.Namespace, Logger: quiet{}})
		if err == nil {
			hctx, hcancel := context.WithTimeout(ctx, time.Second)
			_, err = c.CheckHealth(hctx, &client.CheckHealthRequest{})
			hcancel()
			c.Close()
			if err == nil {
				return ports.Wait(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.opts.UIPort)))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporaldev: server not healthy after 60 s: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Address is the frontend's host:port.
func (s *Server) Address() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.opts.Port)) }

// UIURL is the Web UI's address.
func (s *Server) UIURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.opts.UIPort) }

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 15 s for a clean exit, then kills the
// process group.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return fmt.Errorf("temporaldev: server did not stop within 15 s and was killed")
}

// quiet drops the SDK's log lines during health polling, which would
// otherwise print a connection error every 100 ms while the server starts.
type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}

package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/platform/pgcluster"
)

// ErrNotRunning means the data folder holds no running private cluster.
var ErrNotRunning = errors.New("devstack: no portiere dev database is running")

// RunningDatabase locates the private PostgreSQL cluster of a `portiere dev`
// stack started with data folder dataDir, so that other commands (portiere
// vocab import) can use it while it runs: the password comes from
// dataDir/dev-secrets.env, the port from the cluster's postmaster.pid. It
// returns an error wrapping ErrNotRunning when there is no cluster or its
// server has exited.
func RunningDatabase(dataDir string) (config.Database, error) {
	pidFile := filepath.Join(dataDir, "pg", "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return config.Database{}, fmt.Errorf("%w in %s", ErrNotRunning, dataDir)
	}
	if err != nil {
		return config.Database{}, fmt.Errorf("devstack: %w", err)
	}
	// postmaster.pid: PID, data directory, start time, port, socket
	// directory, listen address, shared-memory key, status.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return config.Database{}, fmt.Errorf("devstack: %s: too short to name the port", pidFile)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return config.Database{}, fmt.Errorf("devstack: %s: bad pid %q", pidFile, lines[0])
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || port < 1 || port > 65535 {
		return config.Database{}, fmt.Errorf("devstack: %s: bad port %q", pidFile, lines[3])
	}
	// A server killed without cleanup leaves its pid file behind. Signal 0
	// probes the process; EPERM means it exists under another user (the
	// server runs as postgres when dev runs as root).
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return config.Database{}, fmt.Errorf("%w in %s (stale %s)", ErrNotRunning, dataDir, pidFile)
	}
	secrets, err := readSecrets(filepath.Join(dataDir, secretsFile))
	if err != nil {
		return config.Database{}, err
	}
	pw := secrets["DB_PASSWORD"]
	if pw == "" {
		return config.Database{}, fmt.Errorf("devstack: %s has no DB_PASSWORD", filepath.Join(dataDir, secretsFile))
	}
	return config.Database{Host: "127.0.0.1", Port: port, Name: config.DefaultDBName, User: pgcluster.Superuser, Password: pw}, nil
}

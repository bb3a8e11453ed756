// Package pgcluster runs a private PostgreSQL cluster from the machine's own
// server binaries (initdb, pg_ctl), for `portiere dev` and the test harness.
//
// The cluster listens on 127.0.0.1 only, on a port chosen at start, and keeps
// its data in one folder so a second start reuses it. When the calling process
// runs as root the server runs as the "postgres" system user, because
// PostgreSQL refuses to run as root.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/portiere/portiere/platform/ports"
)

// Superuser is the role initdb creates; Cluster connects as it.
const Superuser = "portiere"

// Cluster is one private PostgreSQL cluster. Create it with New; a Cluster
// is not safe for concurrent use.
type Cluster struct {
	dir      string // data directory
	logFile  string
	password string
	binDir   string
	port     int
	cred     *syscall.Credential // server user when we are root
	uid, gid int
}

// Options configure New.
type Options struct {
	// Dir is the data directory; it is created when missing.
	Dir string
	// Password is the superuser's password, set at initdb time. Connections
	// over TCP must present it.
	Password string
	// Port to listen on; 0 picks a free one at Start.
	Port int
}

// ErrNoBinaries is returned when initdb and pg_ctl cannot be found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set DB_HOST to use an existing server")

// New locates the server binaries and prepares a cluster in opts.Dir. It does
// not start anything.
func New(opts Options) (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		dir:      dir,
		logFile:  dir + ".log",
		password: opts.Password,
		binDir:   bin,
		port:     opts.Port,
		uid:      os.Getuid(),
		gid:      os.Getgid(),
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: running as root, PostgreSQL must run as another user, and no \"postgres\" user exists: create one (useradd --system postgres) or run as a normal user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.uid, c.gid = uid, gid
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

// findBinDir prefers the newest /usr/lib/postgresql/N/bin, then PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Dir is the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Port is the TCP port the server listens on once started.
func (c *Cluster) Port() int { return c.port }

// ConnString is a keyword/value connection string for database db.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s password='%s' sslmode=disable",
		c.port, db, Superuser, strings.ReplaceAll(c.password, "'", `\'`))
}

// Initialized reports whether the data directory holds a cluster.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.dir, "PG_VERSION"))
	return err == nil
}

// Init runs initdb unless the data directory already holds a cluster.
func (c *Cluster) Init(ctx context.Context) error {
	if c.Initialized() {
		return nil
	}
	if err := c.prepareDir(); err != nil {
		return err
	}
	pwfile := c.dir + ".pwfile"
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(pwfile)
	if err := os.Chown(pwfile, c.uid, c.gid); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err := c.run(ctx, "initdb", "-D", c.dir, "-U", Superuser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return err
	}
	// Loopback only, no Unix socket (socket paths have a short length limit
	// and deep data folders would exceed it), and settings for a
	// single-developer machine.
	conf := `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
fsync = on
logging_collector = off
`
	f, err := os.OpenFile(filepath.Join(c.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// prepareDir creates the data directory owned by the server user and checks
// that the server user can reach it.
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Chown(c.dir, c.uid, c.gid); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.cred == nil {
		return nil
	}
	for p := filepath.Dir(c.dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgcluster: the server runs as user postgres, which cannot enter %s: chmod o+x %s, or put the data folder elsewhere", p, p)
		}
		if p == "/" {
			return nil
		}
	}
}

// Start starts the server and waits until it accepts connections. A server
// left running on this data directory by an earlier, killed process is
// stopped first so the cluster comes up on the requested port.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.Initialized() {
		return fmt.Errorf("pgcluster: %s holds no cluster; call Init first", c.dir)
	}
	if c.Running(ctx) {
		if err := c.Stop(ctx); err != nil {
			return err
		}
	}
	if c.port == 0 {
		p, err := ports.Free()
		if err != nil {
			return err
		}
		c.port = p
	} else if err := ports.Available(c.port); err != nil {
		return err
	}
	if err := touchOwned(c.logFile, c.uid, c.gid); err != nil {
		return err
	}
	_, err := c.run(ctx, "pg_ctl", "start", "-D", c.dir, "-w", "-t", "60", "-l", c.logFile,
		"-o", fmt.Sprintf("-p %d", c.port))
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, c.logFile)
	}
	return nil
}

// Stop shuts the server down (fast mode: active sessions are ended, data is
// flushed) and waits for it to exit. Stopping a stopped cluster is a no-op.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.Running(ctx) {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "60")
	return err
}

// Running reports whether a server is running on the data directory.
func (c *Cluster) Running(ctx context.Context) bool {
	if !c.Initialized() {
		return false
	}
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dir)
	return err == nil
}

// PID is the postmaster's process id, or 0 when it is not running.
func (c *Cluster) PID() int {
	b, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, tool), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Own process group: a Ctrl-C in the terminal reaches portiere, which
	// then stops the server in order, instead of killing it mid-flight.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSWORD=")
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("pgcluster: %s %s: %w: %s", tool, args[0], err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

func touchOwned(path string, uid, gid int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	f.Close()
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

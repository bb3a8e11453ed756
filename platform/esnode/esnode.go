// Package esnode runs a single-node Elasticsearch 8 as a child process, on
// 127.0.0.1 only, for `portiere dev --elasticsearch` and the tests. The node
// is deploy/esnode's launcher: a plain JVM running Elasticsearch's Maven
// Central jars, which scripts/bootstrap.sh fetches and builds into
// deploy/esnode/target (the jars are Elastic-licensed and never committed).
//
// A node keeps its PID in its data folder; Start stops a node a killed
// parent left behind on the same folder before starting a new one, and Stop
// stops the node by that PID.
package esnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portiere/portiere/platform/ports"
)

// InstallDir is where scripts/bootstrap.sh builds the launcher, relative to
// the repository root.
const InstallDir = "deploy/esnode/target"

const (
	jarName   = "portiere-esnode.jar"
	mainClass = "org.elasticsearch.node.PortiereNode"
	pidFile   = "esnode.pid"
)

// ErrNotInstalled is returned by Find when the launcher has not been built.
var ErrNotInstalled = errors.New("esnode: Elasticsearch launcher not installed: run `make tools` (builds " + InstallDir + " with Maven)")

// Find returns the install directory: InstallDir under the working
// directory or one of its parents (tests run in package folders), or beside
// the running executable's folder (bin/portiere). It returns ErrNotInstalled
// when none holds the launcher jar and its lib folder.
func Find() (string, error) {
	var candidates []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			candidates = append(candidates, filepath.Join(d, InstallDir))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(filepath.Dir(exe)), InstallDir))
	}
	for _, c := range candidates {
		if installed(c) {
			return c, nil
		}
	}
	return "", ErrNotInstalled
}

func installed(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, jarName)); err != nil {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, "lib"))
	return err == nil && st.IsDir()
}

// Options configure Start.
type Options struct {
	Install string // from Find
	// Dir holds the node's home, data and PID file; it is created if
	// missing and survives Stop, so a restart finds the same indices.
	Dir  string
	Port int // HTTP port on 127.0.0.1; 0 picks a free one
	// Heap is the JVM heap (-Xms and -Xmx); empty means 512m, which holds
	// the full vocabulary's index.
	Heap string
	Log  io.Writer // the node's output; nil discards it
	// StartTimeout bounds the wait for a green or yellow cluster; zero
	// means two minutes (a first start on a busy machine takes 20 s).
	StartTimeout time.Duration
}

// Node is a running node. Its methods are safe for concurrent use.
type Node struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	port int
	dir  string
}

// Start launches a node and waits until its cluster health is yellow or
// green. A port in use is reported as *ports.PortInUseError; a node that
// exits during start-up is reported with the tail of its output when Log is
// nil.
func Start(ctx context.Context, o Options) (*Node, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("esnode: java not found on PATH: run `make tools` (installs openjdk-17-jdk-headless)")
	}
	if !installed(o.Install) {
		return nil, ErrNotInstalled
	}
	if o.Port == 0 {
		if o.Port, err = ports.Free(); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	} else if err := ports.Available(o.Port); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if o.Heap == "" {
		o.Heap = "512m"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if err := stopLeftover(dir); err != nil {
		return nil, err
	}
	install, err := filepath.Abs(o.Install)
	if err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	cmd := exec.Command(java,
		"-Xms"+o.Heap, "-Xmx"+o.Heap,
		"-XX:+UseSerialGC", // one node, two cores: no parallel collector threads
		"-XX:-UsePerfData",
		"-Djava.io.tmpdir="+filepath.Join(dir, "tmp"),
		"-Djava.awt.headless=true",
		"-Dlog4j2.disable.jmx=true",
		"-cp", filepath.Join(install, jarName)+string(os.PathListSeparator)+filepath.Join(install, "lib", "*"),
		mainClass, filepath.Join(dir, "home"), filepath.Join(dir, "data"), strconv.Itoa(o.Port))
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	tail := &tailBuffer{max: 4096}
	var out io.Writer = tail
	if o.Log != nil {
		out = io.MultiWriter(o.Log, tail)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group so a terminal Ctrl-C reaches only our parent, which
	// stops us in order; Pdeathsig so a killed parent never orphans us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("esnode: start java: %w", err)
	}
	n := &Node{cmd: cmd, done: make(chan struct{}), port: o.Port, dir: dir}
	go func() { n.err = cmd.Wait(); close(n.done) }()
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		n.Stop()
		return nil, fmt.Errorf("esnode: %w", err)
	}
	if err := n.waitHealthy(ctx, o.StartTimeout); err != nil {
		n.Stop()
		return nil, fmt.Errorf("%w\n%s", err, tail.String())
	}
	return n, nil
}

func (n *Node) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := n.URL() + "/_cluster/health?wait_for_status=yellow&timeout=1s"
	var last error
	for {
		select {
		case <-n.done:
			return fmt.Errorf("esnode: node exited during start-up: %v", n.err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("cluster health: %s", res.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("esnode: node not healthy after %s: %v", timeout, last)
		case <-n.done:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// URL is the node's HTTP address, for ELASTICSEARCH_URL.
func (n *Node) URL() string { return "http://127.0.0.1:" + strconv.Itoa(n.port) }

// Port is the node's HTTP port.
func (n *Node) Port() int { return n.port }

// PID is the node's process id.
func (n *Node) PID() int { return n.cmd.Process.Pid }

// Stop sends SIGTERM to the node, waits up to 30 s for it to close its
// indices, then kills its process group. It is a no-op on a stopped node.
func (n *Node) Stop() error {
	defer os.Remove(filepath.Join(n.dir, pidFile))
	select {
	case <-n.done:
		return nil
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
		return nil
	case <-time.After(30 * time.Second):
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
	return errors.New("esnode: node did not stop within 30 s and was killed")
}

// stopLeftover stops the node named by dir's PID file, if that process is
// still one of our nodes: it would hold the data folder's lock.
func stopLeftover(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return os.Remove(filepath.Join(dir, pidFile))
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), mainClass) || !strings.Contains(string(cmdline), dir) {
		return os.Remove(filepath.Join(dir, pidFile))
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 300; i++ {
		if syscall.Kill(pid, 0) != nil {
			return os.Remove(filepath.Join(dir, pidFile))
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return os.Remove(filepath.Join(dir, pidFile))
}

// tailBuffer keeps the last max bytes written, for start-up errors.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

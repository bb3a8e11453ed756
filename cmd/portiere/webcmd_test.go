package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWebMapperIsIssue11(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run([]string{"web", "--app=mapper", "--port=3001"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "issue #11") {
		t.Fatalf("portiere web --app=mapper: %v", err)
	}
	if err := run([]string{"web", "--app=shop"}, &out, &errOut); err == nil {
		t.Fatal("an unknown app started")
	}
}

// TestWebServesTheDashboard starts `portiere web --app=cloud` as deployments
// run it and checks it serves the log-in page, then stops on SIGTERM.
func TestWebServesTheDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	setDBEnv(t)
	var out, errOut bytes.Buffer
	if err := run([]string{"migrate"}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	bin := buildBinary(t)
	port := freePort(t)
	cmd := exec.Command(bin, "web", "--app=cloud", "--host=127.0.0.1", fmt.Sprintf("--port=%d", port))
	cmd.Env = append(os.Environ(), "API_KEY_SALT="+cliSalt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, body := get(base + "/login")
		if code == 200 {
			if !strings.Contains(body, "Log in") || !strings.Contains(body, `name="csrf_token"`) {
				t.Fatalf("log-in page: %.300s", body)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("portiere web exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log-in page (last %d)\n%s", code, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The probes of the compose file and the chart hit /.
	c := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/")
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /: %v %v", res, err)
	}
	res.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("portiere web did not stop on SIGTERM")
	}
}

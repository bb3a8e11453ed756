package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWebRefusesABadApp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"web", "--app=shop"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "cloud or mapper") {
		t.Fatalf("an unknown app: %v", err)
	}
}

// TestWebMapperConfiguration: the mapper app refuses to start without its
// KYC key, and with the development sign-in outside dev mode.
func TestWebMapperConfiguration(t *testing.T) {
	setDBEnv(t)
	t.Setenv("API_KEY_SALT", cliSalt)
	var out, errOut bytes.Buffer
	if err := run([]string{"migrate"}, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	err := run([]string{"web", "--app=mapper", "--host=127.0.0.1", "--port=0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "MAPPER_KYC_KEYS") {
		t.Fatalf("no KYC key: %v", err)
	}
	t.Setenv("MAPPER_KYC_KEYS", "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	t.Setenv("MAPPER_DEV_LOGIN", "true")
	err = run([]string{"web", "--app=mapper", "--host=127.0.0.1", "--port=0"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "MAPPER_DEV_LOGIN") {
		t.Fatalf("dev login in production: %v", err)
	}
}

// TestWebServesTheMapper starts `portiere web --app=mapper` as deployments
// run it: the LINE sign-in page, then a stop on SIGTERM.
func TestWebServesTheMapper(t *testing.T) {
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
	cmd := exec.Command(bin, "web", "--app=mapper", "--host=127.0.0.1", fmt.Sprintf("--port=%d", port))
	cmd.Env = append(os.Environ(), "API_KEY_SALT="+cliSalt, "LINE_CHANNEL_ID=1660000001", "NEXT_PUBLIC_LIFF_ID=1660000001-abc",
		"MAPPER_KYC_KEYS=k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
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
			if !strings.Contains(body, "Sign in with LINE") || !strings.Contains(body, `data-liff-id="1660000001-abc"`) || strings.Contains(body, "/login/dev") {
				t.Fatalf("mapper sign-in page: %.1500s", body)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("portiere web --app=mapper exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in page (last %d)\n%s", code, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("portiere web --app=mapper did not stop on SIGTERM")
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

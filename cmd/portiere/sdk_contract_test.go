package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sdkSummary is pytest's last line: "3 failed, 17 passed, 1 skipped in 4.2s".
var sdkSummary = regexp.MustCompile(`(?m)^=*\s*(.*\b(passed|failed|error|errors|skipped)\b.*) in [0-9.]+s`)

// TestSDKContract runs the Python SDK's contract suite (sdktest/: the
// published portiere-health 0.6.0 driving our API, see sdktest/CONTRACT.md)
// against a `portiere dev` it starts, with the demo write key that run
// prints. It fails with pytest's output when any SDK test fails, and when
// any is skipped: the suite skips only without PORTIERE_URL, which this
// test always sets, so a skip means the suite did not really run.
//
// The suite's virtualenv comes from `make tools` (sdktest/setup.sh); this
// test never installs anything. Without it the test skips, unless
// PORTIERE_REQUIRE_TOOLS is set (make test), where it fails.
func TestSDKContract(t *testing.T) {
	if testing.Short() {
		t.Skip("starts portiere dev and the Python SDK")
	}
	dir, err := filepath.Abs("../../sdktest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".venv", ".portiere-sdktest")); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("sdktest/.venv is missing or incomplete (%v): make tools creates it (sdktest/setup.sh)", err)
		}
		t.Skipf("sdktest/.venv is missing: run make tools (or sdktest/setup.sh) to run the SDK contract suite")
	}

	// The suite makes a few hundred calls a minute with the one demo key;
	// the default 60 per minute would refuse most of them. The limit
	// itself is apiserver's TestRateLimit* and the SDK's reading of a 429
	// is test_sdk_errors.py.
	t.Setenv("RATE_LIMIT_PER_MINUTE", "100000")
	d, _ := startDev(t, 120*time.Second)
	m := regexp.MustCompile(`Demo API key\s+(pt_sk_\S+)`).FindStringSubmatch(d.stdout.String())
	if m == nil {
		t.Fatalf("portiere dev printed no demo API key:\n%s", d.stdout.String())
	}

	// Short tracebacks and a closing list of every failed test keep the
	// report readable in go test's output.
	cmd := exec.Command(filepath.Join(dir, "run.sh"), "--tb=short", "-rfEs")
	cmd.Env = append(os.Environ(), "PORTIERE_URL="+d.api, "PORTIERE_API_KEY="+m[1])
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	summary := "no pytest summary"
	if s := sdkSummary.FindAllStringSubmatch(out.String(), -1); s != nil {
		summary = s[len(s)-1][1]
	}
	switch {
	case runErr != nil:
		t.Errorf("SDK contract suite failed (%s): %v\n%s", summary, runErr, out.String())
	case strings.Contains(summary, "skipped") || !strings.Contains(summary, "passed"):
		t.Errorf("SDK contract suite did not run every test (%s): it skips only without PORTIERE_URL\n%s", summary, out.String())
	default:
		t.Logf("SDK contract suite: %s", summary)
	}
	d.stop(t, 60*time.Second)
}

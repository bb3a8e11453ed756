// Package stripetest gives tests a real stripe-mock (platform/stripemock).
//
// URL returns the server named by PORTIERE_TEST_STRIPE_URL (make test
// starts one for the whole run and sets it); without it, the first test
// that asks starts one for the test binary, which Stop stops (call it from
// TestMain). Without stripe-mock installed the tests skip, unless
// PORTIERE_REQUIRE_TOOLS is set, when they fail.
package stripetest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/portiere/portiere/platform/stripemock"
)

// EnvURL names the variable holding a running stripe-mock's address.
const EnvURL = "PORTIERE_TEST_STRIPE_URL"

var shared struct {
	once   sync.Once
	url    string
	server *stripemock.Server
	err    error
}

// URL returns the address of a stripe-mock shared by the tests of this
// run.
func URL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared.url = u
			return
		}
		wd, _ := os.Getwd()
		bin, err := stripemock.Find(wd)
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.err = stripemock.Start(context.Background(), bin, nil)
		if shared.err == nil {
			shared.url = shared.server.URL()
		}
	})
	if shared.err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("stripe-mock: %v (PORTIERE_REQUIRE_TOOLS is set)", shared.err)
		}
		t.Skipf("stripe-mock: %v", shared.err)
	}
	return shared.url
}

// Stop stops the server URL started for this test binary, if any.
func Stop() {
	if shared.server != nil {
		shared.server.Stop()
	}
}

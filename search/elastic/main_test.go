package elastic_test

import (
	"os"
	"testing"

	"github.com/portiere/portiere/platform/esnode/estest"
)

// TestMain stops the Elasticsearch node the tests started when make test
// did not provide one.
func TestMain(m *testing.M) {
	code := m.Run()
	estest.Stop()
	os.Exit(code)
}

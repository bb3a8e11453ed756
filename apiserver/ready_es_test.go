package apiserver_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/platform/esnode/estest"
)

// The readiness probe against a real Elasticsearch node of the test's own:
// 200 while it runs, 503 naming Elasticsearch while it is stopped, 200 once
// it is back on the same port.
func TestReadyFollowsElasticsearch(t *testing.T) {
	node := estest.Start(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{node.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, apiserver.ElasticsearchDependency(es))
	ready := func(want int, failing string) {
		t.Helper()
		res, body := do(t, s, httptest.NewRequest("GET", "/health/ready", nil))
		var r struct {
			Failing []string
			Checks  map[string]struct{ Status, Error string }
		}
		json.Unmarshal(body, &r)
		if res.StatusCode != want || strings.Join(r.Failing, ",") != failing {
			t.Fatalf("status %d, body %s; want %d failing %q", res.StatusCode, body, want, failing)
		}
		if want == 503 && r.Checks["elasticsearch"].Error == "" {
			t.Errorf("no error reported for Elasticsearch: %s", body)
		}
	}
	ready(200, "")
	node.Stop()
	ready(503, "elasticsearch")
	node.Restart()
	ready(200, "")
}

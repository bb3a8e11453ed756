package elastic_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/portiere/portiere/search/elastic"
)

// exchange is one request the code under test must make, in order, and
// the recorded Elasticsearch 8 response it gets.
type exchange struct {
	method, path string
	query        url.Values // parameters that must be present
	check        func(t *testing.T, body []byte)
	status       int
	fixture      string // file under testdata; {{MAPPING_VERSION}} is filled in
}

// recorded returns a Client talking, through the real go-elasticsearch
// client, to a loopback server that plays exchanges in order and fails the
// test on any other request or on an exchange left unplayed.
func recorded(t *testing.T, exchanges ...exchange) *elastic.Client {
	t.Helper()
	var (
		mu   sync.Mutex
		next int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		w.Header().Set("X-Elastic-Product", "Elasticsearch") // else the client refuses the server
		w.Header().Set("Content-Type", "application/json")
		if next >= len(exchanges) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"type":"unexpected_request","reason":"not recorded"},"status":400}`)
			return
		}
		x := exchanges[next]
		next++
		if r.Method != x.method || r.URL.Path != x.path {
			t.Errorf("request %d: got %s %s, want %s %s", next, r.Method, r.URL.Path, x.method, x.path)
		}
		for k := range x.query {
			if got, want := r.URL.Query().Get(k), x.query.Get(k); got != want {
				t.Errorf("request %d: parameter %s = %q, want %q", next, k, got, want)
			}
		}
		if x.check != nil {
			x.check(t, body)
		}
		w.WriteHeader(x.status)
		w.Write(fixture(t, x.fixture))
	}))
	t.Cleanup(func() {
		srv.Close()
		if next != len(exchanges) {
			t.Errorf("%d of %d recorded requests made", next, len(exchanges))
		}
	})
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return elastic.New(es)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("{{MAPPING_VERSION}}"), []byte(elastic.MappingVersion()))
}

// decodeJSON parses a request body, keeping numbers exact.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, b)
	}
	return v
}

// at walks a decoded JSON value along a slash-separated path of object
// keys and array indexes, "query/bool/should/2/term" (field names such as
// "text.ngram" contain dots).
func at(t *testing.T, v any, path string) any {
	t.Helper()
	for _, k := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("%s: no key %q", path, k)
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				t.Fatalf("%s: no element %q in array of %d", path, k, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: %q inside a %T", path, k, v)
		}
	}
	return v
}

// sameJSON fails unless got equals the JSON text want.
func sameJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	w := decodeJSON(t, []byte(want))
	if !reflect.DeepEqual(got, w) {
		g, _ := json.MarshalIndent(got, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\ngot  %s\nwant %s", what, g, wb)
	}
}

package elastic_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portiere/portiere/search/elastic"
)

const (
	newIndex = "portiere-concepts-20260101"
	oldIndex = "portiere-concepts-20251201"
	alias    = "portiere-concepts"
)

// checkBulk asserts that body is NDJSON "index" actions for ids, each
// followed by its document's source.
func checkBulk(ids ...string) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		if !bytes.HasSuffix(body, []byte("\n")) {
			t.Error("bulk body must end with a newline")
		}
		var lines [][]byte
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
		if len(lines) != 2*len(ids) {
			t.Fatalf("%d NDJSON lines, want %d", len(lines), 2*len(ids))
		}
		for i, id := range ids {
			sameJSON(t, "action "+id, decodeJSON(t, lines[2*i]), `{"index": {"_id": "`+id+`"}}`)
			src := decodeJSON(t, lines[2*i+1])
			if got, want := at(t, src, "concept_id").(interface{ String() string }).String(), strings.Split(id, "-")[0]; got != want {
				t.Errorf("document %s has concept_id %s", id, got)
			}
		}
	}
}

func TestBulkIndexItemError(t *testing.T) {
	c := testCorpus(t)
	name, _ := c.Lookup(201826)
	icd, _ := c.Lookup(45533017)
	docs := append(elastic.ConceptDocuments(c, name)[:2], elastic.ConceptDocuments(c, icd)...)
	// A corrupt source row: Lucene refuses keyword terms over 32766 bytes.
	docs[1].ConceptCode = strings.Repeat("x", 40000)
	ids := []string{"201826-0", "201826-1", "45533017-0"}

	cl := recorded(t,
		exchange{
			method: http.MethodPost, path: "/" + newIndex + "/_bulk", check: checkBulk(ids...),
			status: http.StatusOK, fixture: "bulk_item_error.json",
		},
		// The retry sends the same _ids, so it overwrites ("updated")
		// rather than duplicates.
		exchange{
			method: http.MethodPost, path: "/" + newIndex + "/_bulk", check: checkBulk(ids...),
			status: http.StatusOK, fixture: "bulk_ok.json",
		},
	)
	err := cl.BulkIndex(context.Background(), newIndex, docs)
	var be *elastic.BulkError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a *BulkError", err)
	}
	if be.Total != 3 || len(be.Failed) != 1 || be.Failed[0].ID != "201826-1" || be.Failed[0].Status != 400 ||
		be.Failed[0].Type != "document_parsing_exception" {
		t.Errorf("BulkError %+v", be)
	}
	msg := err.Error()
	for _, want := range []string{newIndex, "1 of 3 documents failed", "201826-1", "document_parsing_exception", "immense term", "status 400"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if len(msg) > 600 {
		t.Errorf("error message is %d bytes; Elasticsearch's long reasons should be cut", len(msg))
	}
	if be.Temporary() {
		t.Error("a bad document is not temporary")
	}
	if !strings.Contains(be.Failed[0].Reason, "max_bytes_length_exceeded_exception") {
		t.Errorf("Reason should keep the cause chain: %q", be.Failed[0].Reason)
	}

	docs[1].ConceptCode = name.Code
	if err := cl.BulkIndex(context.Background(), newIndex, docs); err != nil {
		t.Errorf("retry: %v", err)
	}
}

func TestBulkIndexNothing(t *testing.T) {
	cl := recorded(t)
	if err := cl.BulkIndex(context.Background(), newIndex, nil); err != nil {
		t.Error(err)
	}
}

func TestBulkIndexRefusesDocumentWithoutID(t *testing.T) {
	cl := recorded(t)
	err := cl.BulkIndex(context.Background(), newIndex, []elastic.Document{{ConceptID: 201826, Text: "Type 2 diabetes mellitus"}})
	if err == nil || !strings.Contains(err.Error(), "concept 201826") {
		t.Errorf("got %v", err)
	}
}

func TestCount(t *testing.T) {
	cl := recorded(t, exchange{method: http.MethodPost, path: "/" + newIndex + "/_count", status: http.StatusOK, fixture: "count.json"})
	n, err := cl.Count(context.Background(), newIndex)
	if err != nil || n != 4213877 {
		t.Errorf("Count = %d, %v; want 4213877", n, err)
	}
}

func TestSwapAlias(t *testing.T) {
	cl := recorded(t,
		exchange{method: http.MethodGet, path: "/_alias/" + alias, status: http.StatusOK, fixture: "get_alias.json"},
		exchange{
			method: http.MethodPost, path: "/_aliases",
			check: func(t *testing.T, b []byte) {
				// Both actions in one request: the switch is atomic.
				sameJSON(t, "actions", decodeJSON(t, b), `{"actions": [
					{"remove": {"index": "`+oldIndex+`", "alias": "`+alias+`"}},
					{"add": {"index": "`+newIndex+`", "alias": "`+alias+`"}}
				]}`)
			},
			status: http.StatusOK, fixture: "update_aliases_ack.json",
		},
	)
	if err := cl.SwapAlias(context.Background(), alias, newIndex); err != nil {
		t.Fatal(err)
	}
}

func TestSwapAliasFirstPublication(t *testing.T) {
	cl := recorded(t,
		exchange{method: http.MethodGet, path: "/_alias/" + alias, status: http.StatusNotFound, fixture: "get_alias_missing.json"},
		exchange{
			method: http.MethodPost, path: "/_aliases",
			check: func(t *testing.T, b []byte) {
				sameJSON(t, "actions", decodeJSON(t, b), `{"actions": [{"add": {"index": "`+newIndex+`", "alias": "`+alias+`"}}]}`)
			},
			status: http.StatusOK, fixture: "update_aliases_ack.json",
		},
	)
	if err := cl.SwapAlias(context.Background(), alias, newIndex); err != nil {
		t.Fatal(err)
	}
}

func TestSwapAliasAlreadyDone(t *testing.T) {
	// A retried swap that already happened reads the alias and stops.
	cl := recorded(t, exchange{method: http.MethodGet, path: "/_alias/" + alias, status: http.StatusOK, fixture: "get_alias_current.json"})
	if err := cl.SwapAlias(context.Background(), alias, newIndex); err != nil {
		t.Fatal(err)
	}
}

func TestCreateIndex(t *testing.T) {
	cl := recorded(t, exchange{
		method: http.MethodPut, path: "/" + newIndex,
		check: func(t *testing.T, b []byte) {
			body := decodeJSON(t, b)
			sameJSON(t, "_meta", at(t, body, "mappings/_meta"), `{"portiere_mapping": "`+elastic.MappingVersion()+`"}`)
			sameJSON(t, "text", at(t, body, "mappings/properties/text/analyzer"), `"clinical"`)
			sameJSON(t, "text.ngram", at(t, body, "mappings/properties/text/fields/ngram/analyzer"), `"clinical_trigram"`)
			sameJSON(t, "maps_to", at(t, body, "mappings/properties/maps_to/type"), `"nested"`)
			sameJSON(t, "stemmer", at(t, body, "settings/index/analysis/filter/clinical_stemmer"), `{"type": "stemmer", "language": "porter2"}`)
		},
		status: http.StatusOK, fixture: "create_index.json",
	})
	if err := cl.CreateIndex(context.Background(), newIndex); err != nil {
		t.Fatal(err)
	}
}

func TestCreateIndexExistsWithSameMapping(t *testing.T) {
	cl := recorded(t,
		exchange{method: http.MethodPut, path: "/" + newIndex, status: http.StatusBadRequest, fixture: "create_index_exists.json"},
		exchange{method: http.MethodGet, path: "/" + newIndex + "/_mapping", status: http.StatusOK, fixture: "get_mapping.json"},
	)
	if err := cl.CreateIndex(context.Background(), newIndex); err != nil {
		t.Fatalf("a retried CreateIndex should succeed: %v", err)
	}
}

func TestCreateIndexExistsWithOtherMapping(t *testing.T) {
	cl := recorded(t,
		exchange{method: http.MethodPut, path: "/" + newIndex, status: http.StatusBadRequest, fixture: "create_index_exists.json"},
		exchange{method: http.MethodGet, path: "/" + newIndex + "/_mapping", status: http.StatusOK, fixture: "get_mapping_other.json"},
	)
	err := cl.CreateIndex(context.Background(), newIndex)
	if !errors.Is(err, elastic.ErrMappingConflict) || !strings.Contains(err.Error(), "3f1c0a9e5b7d2c44") {
		t.Errorf("got %v, want ErrMappingConflict naming the index's mapping", err)
	}
}

func TestDeleteIndexMissing(t *testing.T) {
	cl := recorded(t, exchange{method: http.MethodDelete, path: "/" + oldIndex, status: http.StatusNotFound, fixture: "delete_index_not_found.json"})
	if err := cl.DeleteIndex(context.Background(), oldIndex); err != nil {
		t.Errorf("deleting a missing index: %v", err)
	}
}

package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// BulkIndex writes docs to index in one _bulk request. Each document is an
// "index" action under its ID, so writing the same documents again
// replaces them: a retried BulkIndex neither fails nor duplicates. When
// some documents are rejected the others are still written and the error
// is a *BulkError naming the rejected ones. Callers pass chunks of a few
// thousand documents (see DocumentsFor); one request holds them all.
func (c *Client) BulkIndex(ctx context.Context, index string, docs []Document) error {
	if len(docs) == 0 {
		return nil
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body) // Encode ends each line with '\n', as NDJSON wants
	enc.SetEscapeHTML(false)
	type meta struct {
		ID string `json:"_id"`
	}
	for i := range docs {
		if docs[i].ID == "" {
			return fmt.Errorf("elastic: bulk into %s: document %d (concept %d) has no ID", index, i, docs[i].ConceptID)
		}
		if err := enc.Encode(map[string]meta{"index": {ID: docs[i].ID}}); err != nil {
			return fmt.Errorf("elastic: bulk into %s: %w", index, err)
		}
		if err := enc.Encode(&docs[i]); err != nil {
			return fmt.Errorf("elastic: bulk into %s: document %s: %w", index, docs[i].ID, err)
		}
	}
	op := "bulk into " + index
	res, err := c.es.Bulk(&body, c.es.Bulk.WithIndex(index), c.es.Bulk.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("elastic: %s: %w", op, err)
	}
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			ID     string      `json:"_id"`
			Status int         `json:"status"`
			Error  *errorCause `json:"error"`
		} `json:"items"`
	}
	if err := decode(op, res, &out); err != nil {
		return err
	}
	if len(out.Items) != len(docs) {
		return fmt.Errorf("elastic: %s: %d results for %d documents", op, len(out.Items), len(docs))
	}
	if !out.Errors {
		return nil
	}
	be := &BulkError{Index: index, Total: len(docs)}
	for _, item := range out.Items {
		for _, r := range item { // one key: the action, "index"
			if r.Error == nil {
				continue
			}
			be.Failed = append(be.Failed, BulkItemError{ID: r.ID, Status: r.Status, Type: r.Error.Type, Reason: r.Error.describe()})
		}
	}
	if len(be.Failed) == 0 {
		return fmt.Errorf("elastic: %s: errors reported but no item failed", op)
	}
	return be
}

// BulkError reports the documents of a BulkIndex call that Elasticsearch
// rejected; the rest were written.
type BulkError struct {
	Index  string
	Total  int // documents sent
	Failed []BulkItemError
}

// BulkItemError is one rejected document.
type BulkItemError struct {
	ID     string // the document's _id, "<concept_id>-<n>"
	Status int    // HTTP status of the item: 400 for a bad document, 429 when the node was overloaded
	Type   string // "document_parsing_exception", "es_rejected_execution_exception", ...
	Reason string
}

func (e *BulkError) Error() string {
	const show = 3
	var b strings.Builder
	fmt.Fprintf(&b, "elastic: bulk into %s: %d of %d documents failed: ", e.Index, len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-show)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		reason := f.Reason
		if len(reason) > 200 { // immense-term reasons run to kilobytes
			reason = reason[:200] + "..."
		}
		fmt.Fprintf(&b, "%s: %s: %s (status %d)", f.ID, f.Type, reason, f.Status)
	}
	return b.String()
}

// Temporary reports whether every rejection was the cluster shedding load
// (status 429), so that sending the same documents again may succeed;
// otherwise some document is bad and a retry fails the same way.
func (e *BulkError) Temporary() bool {
	for _, f := range e.Failed {
		if f.Status != http.StatusTooManyRequests {
			return false
		}
	}
	return true
}

package elastic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Client creates, fills, publishes and searches Portiere's concept indexes
// on one Elasticsearch 8 cluster. It is safe for concurrent use.
type Client struct {
	es *elasticsearch.Client
}

// New wraps es. Connection settings (addresses, credentials, retries) are
// es's; Client adds none of its own.
func New(es *elasticsearch.Client) *Client {
	return &Client{es: es}
}

// ErrIndexNotFound matches (with errors.Is) an *Error saying that the
// index or alias does not exist.
var ErrIndexNotFound = errors.New("elastic: index not found")

// Error is an error response from Elasticsearch.
type Error struct {
	Op     string // what was being done: "search concepts", "create index x", ...
	Status int    // HTTP status
	Type   string // Elasticsearch's error type, "index_not_found_exception"
	Reason string
}

func (e *Error) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("elastic: %s: %s (status %d)", e.Op, e.Reason, e.Status)
	}
	return fmt.Sprintf("elastic: %s: %s: %s (status %d)", e.Op, e.Type, e.Reason, e.Status)
}

// Is reports whether e is an index_not_found_exception when target is
// ErrIndexNotFound.
func (e *Error) Is(target error) bool {
	return target == ErrIndexNotFound && e.Type == "index_not_found_exception"
}

// errorBody is the body of an Elasticsearch error response. "error" is an
// object for exceptions but a bare string for a few APIs (GET _alias/x
// answers {"error":"alias [x] missing","status":404}).
type errorBody struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

type errorCause struct {
	Type     string      `json:"type"`
	Reason   string      `json:"reason"`
	CausedBy *errorCause `json:"caused_by"`
}

// describe is the reason followed by the chain of causes. Elasticsearch
// often repeats a cause's reason inside its parent's; such a cause adds
// only its type.
func (c *errorCause) describe() string {
	s := c.Reason
	for cause := c.CausedBy; cause != nil; cause = cause.CausedBy {
		if strings.Contains(s, cause.Reason) {
			s += " (caused by " + cause.Type + ")"
		} else {
			s += ": caused by " + cause.Type + ": " + cause.Reason
		}
	}
	return s
}

// responseError turns a failed response into an *Error, reading (and so
// consuming) its body.
func responseError(op string, res *esapi.Response) error {
	e := &Error{Op: op, Status: res.StatusCode}
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		e.Reason = fmt.Sprintf("reading error response: %v", err)
		return e
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || len(eb.Error) == 0 {
		e.Reason = string(body)
		if e.Reason == "" {
			e.Reason = res.Status()
		}
		return e
	}
	var cause errorCause
	if json.Unmarshal(eb.Error, &cause) == nil {
		e.Type, e.Reason = cause.Type, cause.describe()
		return e
	}
	var msg string
	if json.Unmarshal(eb.Error, &msg) == nil {
		e.Reason = msg
	}
	return e
}

// decode reads a successful response into v, or turns a failed one into an
// *Error. It closes the body.
func decode(op string, res *esapi.Response, v any) error {
	defer res.Body.Close()
	if res.IsError() {
		return responseError(op, res)
	}
	if v == nil {
		_, err := io.Copy(io.Discard, res.Body)
		return err
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return fmt.Errorf("elastic: %s: decoding response: %w", op, err)
	}
	return nil
}

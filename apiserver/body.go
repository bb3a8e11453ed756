package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Strictness says whether a JSON body may carry fields the route does not
// know. Routes whose bodies come from the SDK's pydantic models (which
// send every key, null when unset, and gain keys between versions) are
// Lenient; routes whose unknown fields would be silently dropped
// decisions (review, settings) are Strict, so a typo is a 422, not a no-op.
type Strictness bool

// The two strictness levels of decodeJSON.
const (
	Lenient Strictness = false
	Strict  Strictness = true
)

// bufferBody reads a streamed request body into memory, up to limit bytes:
// the server streams request bodies (so an upload route can read a large
// file without holding it), and every other route gets its body whole but
// bounded here. It runs after authentication, so an anonymous request's
// body is never read.
func bufferBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, limit)
		if err != nil {
			return err
		}
		if b != nil {
			c.Request().SetBodyRaw(b)
		}
		return c.Next()
	}
}

// readBody reads c's streamed body up to limit bytes; nil when the body is
// not streamed (already in memory). A larger body is a 413 and the
// connection is closed, since the rest of the body is left unread.
func readBody(c *fiber.Ctx, limit int) ([]byte, error) {
	req := c.Request()
	if !req.IsBodyStream() {
		return nil, nil
	}
	tooLarge := &Error{Status: fiber.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("request body exceeds the limit of %d bytes", limit)}
	if req.Header.ContentLength() > limit {
		c.Context().SetConnectionClose()
		return nil, tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(c.Context().RequestBodyStream(), int64(limit)+1))
	if err != nil {
		c.Context().SetConnectionClose()
		return nil, &Error{Status: fiber.StatusBadRequest, Detail: "request body could not be read: " + err.Error()}
	}
	if len(b) > limit {
		c.Context().SetConnectionClose()
		return nil, tooLarge
	}
	return b, nil
}

// decodeJSON decodes the request body into v. An empty body leaves v as
// it is when optional is true. Every failure is a 422 whose detail names
// the problem: not JSON, the field with the wrong type, the unknown field,
// or trailing data.
func decodeJSON(c *fiber.Ctx, v any, strict Strictness, optional bool) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "request body is empty: send a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: describeJSONError(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "request body has data after its JSON value"}
	}
	return nil
}

// describeJSONError turns encoding/json's errors into a sentence naming
// the field and the expected type.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return fmt.Sprintf("request body must be a JSON %s, not %s", jsonKind(te.Type.Kind()), te.Value)
		}
		return fmt.Sprintf("field %q must be %s, not %s", field, jsonKind(te.Type.Kind()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("request body is not valid JSON (at byte %d): %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body is truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "request body is not valid JSON: " + err.Error()
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	}
	return k.String()
}

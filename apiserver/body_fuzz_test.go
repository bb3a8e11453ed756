package apiserver

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// fuzzRequest has the field types the API's request bodies use: strings,
// numbers, a bool pointer, lists, a nested object and free-form metadata.
type fuzzRequest struct {
	Query         string   `json:"query"`
	Limit         int      `json:"limit"`
	Vocabularies  []string `json:"vocabularies"`
	StandardOnly  *bool    `json:"standard_only"`
	AutoThreshold float64  `json:"auto_threshold"`
	TargetConcept int32    `json:"target_concept_id"`
	SourceCodes   []struct {
		Code  string `json:"code"`
		Count int64  `json:"count"`
	} `json:"source_codes"`
	Context struct {
		Category string `json:"category"`
		Specimen string `json:"specimen"`
		Unit     string `json:"unit"`
	} `json:"context"`
	Metadata map[string]any `json:"metadata"`
}

// FuzzDecodeJSON sends arbitrary bodies through a Fiber app with the
// server's error handler to a handler that calls decodeJSON, in each of
// its modes (strict, lenient, optional). The answer is always 200 or 422,
// never a panic or a 500; a 422 is {"detail": "..."} with a non-empty
// detail; decodeJSON accepts a non-blank body exactly when encoding/json's
// Unmarshal does (DisallowUnknownFields aside) and decodes the same value;
// and an accepted body's value re-encodes and decodes to itself.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"query": "Haemoglobin A1c", "limit": 10, "vocabularies": ["LOINC", "SNOMED"], "standard_only": true}`,
		`{"query": "metformin 500 mg tab", "context": {"category": "Medication", "unit": "mg"}, "auto_threshold": 0.9}`,
		`{"target_concept_id": 3004410, "source_codes": [{"code": "LAB001", "count": 12}, {"code": "LAB002", "count": 0}]}`,
		`{"query": null, "metadata": {"site": "north", "rows": 125000, "tags": ["a", null, true]}}`,
		`{"limit": "ten"}`, `{"target_concept_id": 2147483648}`, `{"limit": 1.5}`, `{"limit": 1e400}`,
		`{"quary": "typo"}`, `{"query": "x"} {"query": "y"}`, `{"query": "\ud800"}`, `[1, 2]`, `"text"`, `null`,
		`{"query": `, `api_key=x`, ``, "  \n", "\ufeff{}", `{"source_codes": [{"code": 5}]}`, `{"context": []}`,
	} {
		for mode := range byte(3) {
			f.Add([]byte(seed), mode)
		}
	}
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	app := fiber.New(fiber.Config{ErrorHandler: s.errorHandler, DisableStartupMessage: true})
	modes := []struct {
		strict   Strictness
		optional bool
	}{{Strict, false}, {Lenient, false}, {Lenient, true}}
	app.Post("/decode/:mode", func(c *fiber.Ctx) error {
		m := modes[c.Params("mode")[0]-'0']
		var req fuzzRequest
		if err := decodeJSON(c, &req, m.strict, m.optional); err != nil {
			return err
		}
		return c.JSON(req)
	})
	f.Fuzz(func(t *testing.T, body []byte, mode byte) {
		mode %= 3
		m := modes[mode]
		req := httptest.NewRequest(fiber.MethodPost, "/decode/"+string('0'+mode), bytes.NewReader(body))
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatalf("app.Test: %v", err)
		}
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		blank := len(bytes.TrimSpace(body)) == 0
		var want fuzzRequest
		wantErr := json.Unmarshal(body, &want)
		switch resp.StatusCode {
		case fiber.StatusUnprocessableEntity:
			var e struct{ Detail string }
			if err := json.Unmarshal(out, &e); err != nil || strings.TrimSpace(e.Detail) == "" || !utf8.ValidString(e.Detail) {
				t.Fatalf("422 without a detail: %q (%v)", out, err)
			}
			if !blank && wantErr == nil && m.strict == Lenient {
				t.Fatalf("lenient decode refused %q (%s), which encoding/json accepts", body, e.Detail)
			}
			if blank && m.optional {
				t.Fatalf("optional body %q refused: %s", body, e.Detail)
			}
		case fiber.StatusOK:
			if blank {
				if !m.optional {
					t.Fatalf("blank body %q accepted by a required decode", body)
				}
				return
			}
			if wantErr != nil {
				t.Fatalf("decodeJSON accepted %q, which encoding/json refuses: %v", body, wantErr)
			}
			var got fuzzRequest
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("echo %q: %v", out, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %+v, encoding/json %+v", got, want)
			}
			again, err := json.Marshal(got)
			if err != nil || !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(out)) {
				t.Fatalf("re-encoding %q gives %q (%v)", out, again, err)
			}
		default:
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, out)
		}
	})
}

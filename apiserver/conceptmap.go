package apiserver

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/mapping"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/sourcefile"
)

// DefaultMapSyncMaxCodes is ConceptMapping.MaxCodes when it is 0
// (config.DefaultMapSyncMaxCodes, MAP_SYNC_MAX_CODES).
const DefaultMapSyncMaxCodes = 1000

// ConceptMapping is POST /api/v1/concepts/map: the SDK's synchronous
// mapping of a column's codes. It computes and stores nothing, so any
// member of an organization may call it with a read-scope credential
// (CanRead), like concept search; what it costs is metered (Metering). The
// organization's memory of reviewed decisions is consulted first.
type ConceptMapping struct {
	Search SearchProvider
	// Memory recalls the caller's organization's reviewed decisions; nil
	// maps with search alone.
	Memory mappingjob.Memory
	// MaxCodes bounds one request (MAP_SYNC_MAX_CODES); 0 means
	// DefaultMapSyncMaxCodes. More codes are a 413 pointing to bulk mapping.
	MaxCodes int
	// Metering counts a request's codes as mapped_items against the
	// caller's organization before any search runs (429 QUOTA_EXCEEDED past
	// its plan); nil meters nothing.
	Metering Metering
}

// mapCode is one code of a /concepts/map request. The SDK sends a code
// column's raw cell value, so Code may be a JSON number; it is kept as
// the number's text. Category, Specimen and Unit are the row's optional
// context columns, as `portiere map` and uploads read them: hints to the
// engine, never filters. They stay raw until sourceCode reads them, so
// that a value of the wrong type is reported with the code's index.
type mapCode struct {
	Code        json.RawMessage `json:"code"`
	Description *string         `json:"description"`
	Count       *int64          `json:"count"`
	Category    json.RawMessage `json:"category"`
	Specimen    json.RawMessage `json:"specimen"`
	Unit        json.RawMessage `json:"unit"`
}

// sourceCode reads codes[i] of a request whose source is source: the code
// to map and its count (1, the SDK's default source_count, when absent).
func (rc mapCode) sourceCode(i int, source string) (mappingjob.SourceCode, int64, error) {
	code, ok := codeText(rc.Code)
	if !ok {
		return mappingjob.SourceCode{}, 0, &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("codes[%d].code must be a non-empty string or a number", i)}
	}
	desc := ""
	if rc.Description != nil {
		desc = *rc.Description
	}
	if len(code) > sourcefile.DefaultMaxFieldBytes || len(desc) > sourcefile.DefaultMaxFieldBytes {
		return mappingjob.SourceCode{}, 0, &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf(
			"codes[%d]: a code or description is longer than %d bytes, the limit of one field (as in an uploaded CSV)", i, sourcefile.DefaultMaxFieldBytes)}
	}
	sc := mappingjob.SourceCode{Source: source, Code: code, Description: desc}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		into *string
	}{{"category", rc.Category, &sc.Category}, {"specimen", rc.Specimen, &sc.Specimen}, {"unit", rc.Unit, &sc.Unit}} {
		v, err := contextText(i, f.name, f.raw)
		if err != nil {
			return mappingjob.SourceCode{}, 0, err
		}
		*f.into = v
	}
	count := int64(1)
	if rc.Count != nil {
		if *rc.Count < 0 {
			return mappingjob.SourceCode{}, 0, &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("codes[%d].count must not be negative", i)}
		}
		count = *rc.Count
	}
	return sc, count, nil
}

// contextText reads the context field name of codes[i]: "" when absent or
// null, else a string within the length limit of an uploaded field. It is
// trimmed as an uploaded cell is, so that a blank specimen is no specimen
// (the engine would read any specimen as a lab test).
func contextText(i int, name string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// The body decoded, so raw is valid JSON of another type.
		got := "another type"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			got = te.Value
		}
		return "", &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("codes[%d].%s must be a string or null, not %s", i, name, got)}
	}
	if len(s) > sourcefile.DefaultMaxFieldBytes {
		return "", &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf(
			"codes[%d].%s is longer than %d bytes, the limit of one field (as in an uploaded CSV)", i, name, sourcefile.DefaultMaxFieldBytes)}
	}
	return strings.TrimSpace(s), nil
}

type mapRequest struct {
	SourceID        *string    `json:"source_id"`
	Column          *string    `json:"column"`
	Codes           []mapCode  `json:"codes"`
	Vocabularies    stringList `json:"vocabularies"`
	Domains         stringList `json:"domains"`
	AutoThreshold   *float64   `json:"auto_threshold"`
	ReviewThreshold *float64   `json:"review_threshold"`
	TopK            *int       `json:"top_k"`
}

type mapStats struct {
	Total  int `json:"total"`
	Auto   int `json:"auto"`
	Review int `json:"review"`
	Manual int `json:"manual"`
}

type mapResponse struct {
	Items []conceptItem `json:"items"`
	Stats mapStats      `json:"stats"`
}

// codeText is a code sent as a JSON string or number, as text; ok is false
// for anything else (null, a boolean, an object) or an empty string.
func codeText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// threshold validates an optional threshold: absent, null or 0 take the
// default (0 for search.Thresholds).
func threshold(name string, v *float64) (float64, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 0 || *v > 1 {
		return 0, &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("%s must be between 0 and 1, got %g", name, *v)}
	}
	return *v, nil
}

// Routes registers POST /concepts/map on r's protected group.
func (h *ConceptMapping) Routes(r *Router) {
	if h.MaxCodes <= 0 {
		h.MaxCodes = DefaultMapSyncMaxCodes
	}
	r.Schema("ConceptItem", conceptItemSchema())
	contextField := func(what, example string) openapi.Schema {
		return openapi.Schema{"type": "string", "nullable": true, "example": example, "description": fmt.Sprintf(
			"%s A hint the engine weighs, never a filter; null or absent: none. At most %d bytes.", what, sourcefile.DefaultMaxFieldBytes)}
	}
	r.Protected().Add(fiber.MethodPost, "/concepts/map", openapi.Operation{
		Summary: "Map a column's source codes synchronously",
		Description: fmt.Sprintf("Maps up to %d codes (MAP_SYNC_MAX_CODES) and returns one item per code, in order, with stats by method. "+
			"Codes may be JSON strings or numbers; each may carry its row's context (category, specimen, unit), as `portiere map` and uploaded sources do. "+
			"Thresholds absent, null or 0 take 0.95 (auto) and 0.70 (review). "+
			"An organization's approved and overridden decisions with the same code and description (normalised) are proposed first: "+
			"method `auto`, confidence 1, provenance `{method: \"memory\", project, project_name, reviewer, decided_at, mapping_id}`. "+
			"Nothing is stored (items have an empty id and revision 0); any credential of an organization may call it (read scope is enough).", h.MaxCodes),
		Tags: []string{"concepts"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"codes"}, "properties": map[string]any{
			"source_id": openapi.Schema{"type": "string", "nullable": true},
			"column":    openapi.Schema{"type": "string", "nullable": true},
			"codes": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object", "required": []string{"code"}, "properties": map[string]any{
				"code":        openapi.Schema{"oneOf": []any{openapi.Schema{"type": "string"}, openapi.Schema{"type": "number"}}},
				"description": openapi.Schema{"type": "string", "nullable": true},
				"count":       openapi.Schema{"type": "integer", "nullable": true},
				"category":    contextField("The row's local category (Chemistry, Hematology, Medication, Diagnosis, or an OMOP domain name).", "Chemistry"),
				"specimen":    contextField("The specimen of a lab test; it makes the term read as a lab test.", "Serum"),
				"unit":        contextField("The unit the row's results come in; for a lab test it chooses the LOINC property (moles or mass).", "mmol/L"),
			}}},
			"vocabularies":     openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}, "nullable": true},
			"domains":          openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}, "nullable": true},
			"auto_threshold":   openapi.Schema{"type": "number", "minimum": 0, "maximum": 1, "default": 0.95, "nullable": true},
			"review_threshold": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1, "default": 0.70, "nullable": true},
			"top_k":            openapi.Schema{"type": "integer", "minimum": 1, "maximum": 100, "default": 10, "nullable": true},
		}},
		Responses: map[int]openapi.Response{
			200: {Description: "One item per code", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"items": openapi.Schema{"type": "array", "items": openapi.Ref("ConceptItem")},
				"stats": openapi.Schema{"type": "object", "properties": map[string]any{
					"total": openapi.Schema{"type": "integer"}, "auto": openapi.Schema{"type": "integer"},
					"review": openapi.Schema{"type": "integer"}, "manual": openapi.Schema{"type": "integer"}}},
			}}},
			403: errResp("Not a member of an organization"),
			413: errResp("More codes than MAP_SYNC_MAX_CODES: use bulk mapping"),
			422: errResp("Invalid body (the detail names the field, and the code's index for a field of codes)"),
			503: errResp("The search index is not loaded yet"),
		},
	}, h.mapCodes)
}

func (h *ConceptMapping) mapCodes(c *fiber.Ctx) error {
	p, _ := PrincipalFrom(c.UserContext())
	if !p.Operator {
		if err := p.CanRead(""); err != nil {
			return err
		}
	}
	var req mapRequest
	if err := decodeJSON(c, &req, Lenient, false); err != nil {
		return err
	}
	if req.Codes == nil {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "codes is required: an array of {code, description, count}"}
	}
	if len(req.Codes) > h.MaxCodes {
		return &Error{Status: fiber.StatusRequestEntityTooLarge, Detail: fmt.Sprintf(
			"%d codes exceed the limit of %d for synchronous mapping (MAP_SYNC_MAX_CODES): upload them as a source of a project "+
				"(POST /api/v1/projects/{id}/sources) and use bulk mapping via POST /api/v1/projects/{id}/bulk-mapping", len(req.Codes), h.MaxCodes)}
	}
	auto, err := threshold("auto_threshold", req.AutoThreshold)
	if err != nil {
		return err
	}
	review, err := threshold("review_threshold", req.ReviewThreshold)
	if err != nil {
		return err
	}
	th := search.Thresholds{Auto: auto, Review: review}
	effAuto, effReview := 0.95, 0.70 // search.Thresholds' defaults for zero fields
	if auto != 0 {
		effAuto = auto
	}
	if review != 0 {
		effReview = review
	}
	if effReview > effAuto {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("review_threshold (%g) must not exceed auto_threshold (%g)", effReview, effAuto)}
	}
	topK := 10
	if req.TopK != nil {
		if *req.TopK < 1 || *req.TopK > 100 {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("top_k must be between 1 and 100, got %d", *req.TopK)}
		}
		topK = *req.TopK
	}
	source, column := "", ""
	if req.SourceID != nil {
		source = *req.SourceID
	}
	if req.Column != nil {
		column = *req.Column
	}
	codes := make([]mappingjob.SourceCode, len(req.Codes))
	counts := make([]int64, len(req.Codes))
	for i, rc := range req.Codes {
		if codes[i], counts[i], err = rc.sourceCode(i, source); err != nil {
			return err
		}
	}
	e, err := h.Search.Engine()
	if err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Detail: err.Error()}
	}
	if h.Metering != nil && p.OrganizationID != "" {
		// Every request maps its codes again, so every request counts: the
		// meter's id is made here, never the X-Request-ID a client may send
		// (and repeat, to have one count cover any number of requests).
		if err := h.Metering.Add(c.UserContext(), p.OrganizationID, billing.MappedItems, int64(len(codes)), "map-"+rand.Text()); err != nil {
			return err
		}
	}
	items, err := mappingjob.Propose(c.UserContext(), e, h.Memory, mappingjob.MemoryScope{OrganizationID: p.OrganizationID}, codes,
		mapping.Options{TopK: topK, Thresholds: th, Filter: search.Filter{Vocabularies: req.Vocabularies, Domains: req.Domains}})
	var uv *search.UnknownVocabularyError
	if errors.As(err, &uv) {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("vocabularies: unknown vocabulary %q", uv.Vocabulary)}
	}
	if err != nil {
		return err
	}
	out := mapResponse{Items: make([]conceptItem, len(items))}
	for i, it := range items {
		it.SourceColumn, it.SourceCount = column, counts[i]
		v := conceptItemOf(it)
		v.ID = "" // not stored
		out.Items[i] = v
		out.Stats.Total++
		switch it.Method {
		case mappingjob.MethodAuto:
			out.Stats.Auto++
		case mappingjob.MethodReview:
			out.Stats.Review++
		default:
			out.Stats.Manual++
		}
	}
	return c.JSON(out)
}

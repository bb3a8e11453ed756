package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/platform/cache"
	"github.com/portiere/portiere/search"
)

// SearchProvider returns the engine serving searches now, or
// search.ErrNotReady.
type SearchProvider interface {
	Engine() (*search.Engine, error)
}

// ConceptSearch is the concept search resource: POST
// /api/v1/concepts/search, for any member of an organization.
type ConceptSearch struct {
	Search SearchProvider
	// Cache stores answers (Redis when configured); nil means an
	// in-process cache.
	Cache cache.Cache
	// Metering counts a search against the caller's organization (one
	// concept_searches unit per request id; 429 QUOTA_EXCEEDED past the
	// plan); nil meters nothing.
	Metering Metering
}

// searchCacheTTL bounds how long a cached search answer is served; the key
// also carries the vocabulary fingerprint, so a new release never serves
// stale answers.
const searchCacheTTL = 10 * time.Minute

// stringList accepts a JSON string, an array of strings, or null: the SDK
// sends one vocabulary as a string, other clients send several.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one *string
	if err := json.Unmarshal(b, &one); err == nil {
		if one != nil && strings.TrimSpace(*one) != "" {
			*s = stringList{strings.TrimSpace(*one)}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	for _, m := range many {
		if m = strings.TrimSpace(m); m != "" {
			*s = append(*s, m)
		}
	}
	return nil
}

type searchRequest struct {
	Query          string     `json:"query"`
	Vocabulary     stringList `json:"vocabulary"`
	Domain         stringList `json:"domain"`
	ConceptClass   stringList `json:"concept_class"`
	Limit          *int       `json:"limit"`
	StandardOnly   bool       `json:"standard_only"`
	IncludeInvalid bool       `json:"include_invalid"`
}

type explanationDTO struct {
	LexicalRank  int     `json:"lexical_rank,omitempty"`
	LexicalScore float64 `json:"lexical_score,omitempty"`
	DenseRank    int     `json:"dense_rank,omitempty"`
	DenseScore   float64 `json:"dense_score,omitempty"`
	MatchedText  string  `json:"matched_text,omitempty"`
	MatchedField string  `json:"matched_field,omitempty"`
	// MappedFrom is the non-standard concept whose text matched when this
	// standard concept was reached through "Maps to".
	MappedFrom *int32 `json:"mapped_from,omitempty"`
}

type conceptResultDTO struct {
	ConceptID       int32          `json:"concept_id"`
	ConceptName     string         `json:"concept_name"`
	VocabularyID    string         `json:"vocabulary_id"`
	DomainID        string         `json:"domain_id"`
	ConceptClassID  string         `json:"concept_class_id"`
	StandardConcept *string        `json:"standard_concept"`
	ConceptCode     string         `json:"concept_code"`
	InvalidReason   *string        `json:"invalid_reason"`
	Score           float64        `json:"score"`
	Rank            int            `json:"rank"`
	Explanation     explanationDTO `json:"explanation"`
}

type searchResponse struct {
	Query      string             `json:"query"`
	Results    []conceptResultDTO `json:"results"`
	Confidence float64            `json:"confidence"`
	Route      string             `json:"route"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Routes registers the search route on r.
func (h *ConceptSearch) Routes(r *Router) {
	if h.Cache == nil {
		h.Cache = cache.NewMemory(10_000)
	}
	r.Schema("ConceptSearchRequest", openapi.Schema{
		"type": "object", "required": []string{"query"},
		"properties": map[string]any{
			"query":           openapi.Schema{"type": "string", "maxLength": MaxQueryBytes, "description": "at most 1000 bytes (422 past it)", "example": "paracetamol 500mg"},
			"vocabulary":      openapi.Schema{"description": "vocabulary_id or list of them", "oneOf": []any{openapi.Schema{"type": "string"}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}}, "nullable": true},
			"domain":          openapi.Schema{"description": "domain_id or list of them", "oneOf": []any{openapi.Schema{"type": "string"}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}}, "nullable": true},
			"concept_class":   openapi.Schema{"description": "concept_class_id or list of them", "oneOf": []any{openapi.Schema{"type": "string"}, openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}}}, "nullable": true},
			"limit":           openapi.Schema{"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
			"standard_only":   openapi.Schema{"type": "boolean", "default": false},
			"include_invalid": openapi.Schema{"type": "boolean", "default": false},
		},
	})
	r.Schema("ConceptSearchResponse", openapi.Schema{
		"type": "object", "required": []string{"results"},
		"properties": map[string]any{
			"query":      openapi.Schema{"type": "string"},
			"confidence": openapi.Schema{"type": "number", "description": "calibrated probability that the first result is right"},
			"route":      openapi.Schema{"type": "string", "enum": []string{"auto", "review", "manual"}},
			"results": openapi.Schema{"type": "array", "items": openapi.Schema{
				"type": "object",
				"properties": map[string]any{
					"concept_id": openapi.Schema{"type": "integer"}, "concept_name": openapi.Schema{"type": "string"},
					"vocabulary_id": openapi.Schema{"type": "string"}, "domain_id": openapi.Schema{"type": "string"},
					"concept_class_id": openapi.Schema{"type": "string"}, "standard_concept": openapi.Schema{"type": "string", "nullable": true},
					"concept_code": openapi.Schema{"type": "string"}, "invalid_reason": openapi.Schema{"type": "string", "nullable": true},
					"score": openapi.Schema{"type": "number"}, "rank": openapi.Schema{"type": "integer"},
					"explanation": openapi.Schema{"type": "object"},
				},
			}},
		},
	})
	r.Protected(RequireReader()).Add(fiber.MethodPost, "/concepts/search", openapi.Operation{
		Summary: "Search standard concepts by text or code", Tags: []string{"concepts"},
		Description: "Any member of an organization (viewers and read-scope keys included) or the operator.",
		RequestBody: openapi.Ref("ConceptSearchRequest"),
		Responses: map[int]openapi.Response{
			200: {Description: "Ranked concepts", Schema: openapi.Ref("ConceptSearchResponse")},
			403: {Description: "The credential has no role in an organization", Schema: openapi.Ref("Error")},
			422: {Description: "Invalid request", Schema: openapi.Ref("Error")},
			429: {Description: "Rate limit, or the organization's monthly concept_searches quota (error_code QUOTA_EXCEEDED)", Schema: openapi.Ref("Error")},
			503: {Description: "The search index is not loaded yet", Schema: openapi.Ref("Error")},
		},
	}, h.search)
}

// MaxQueryBytes bounds a concept search's query text (and the text filter
// of the results listing). The longest Athena concept name is 255
// characters; a longer query only costs analysis and BM25 time, so it is
// refused (422) rather than searched.
const MaxQueryBytes = 1000

func (h *ConceptSearch) search(c *fiber.Ctx) error {
	var req searchRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "invalid JSON body: " + err.Error()}
	}
	req.Query = strings.TrimSpace(req.Query)
	if req.Query == "" {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "query must not be empty"}
	}
	if len(req.Query) > MaxQueryBytes {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("query is %d bytes long, over the limit of %d bytes for a search query", len(req.Query), MaxQueryBytes)}
	}
	limit := 10
	if req.Limit != nil {
		limit = *req.Limit
	}
	if limit < 1 || limit > 1000 {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("limit must be between 1 and 1000, got %d", limit)}
	}
	e, err := h.Search.Engine()
	if err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Detail: err.Error()}
	}
	if p, ok := PrincipalFrom(c.UserContext()); ok && h.Metering != nil && p.OrganizationID != "" {
		// Counted before searching (cached answers too): the search that
		// crosses the quota is refused. The id is made here: a client
		// repeating its X-Request-ID must still be counted each time.
		if err := h.Metering.Add(c.UserContext(), p.OrganizationID, billing.ConceptSearches, 1, "search-"+rand.Text()); err != nil {
			return err
		}
	}
	q := search.Query{Text: req.Query, Limit: limit, Filter: search.Filter{
		Vocabularies: req.Vocabulary, Domains: req.Domain, Classes: req.ConceptClass,
		StandardOnly: req.StandardOnly, IncludeInvalid: req.IncludeInvalid,
	}}
	return cachedJSON(c, h.Cache, searchCacheKey(e.Corpus().Fingerprint, q), searchCacheTTL, func() (any, error) {
		res, err := e.Search(c.UserContext(), q)
		var uv *search.UnknownVocabularyError
		switch {
		case errors.As(err, &uv):
			return nil, &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("unknown vocabulary %q", uv.Vocabulary)}
		case errors.Is(err, search.ErrEmptyQuery):
			return nil, &Error{Status: fiber.StatusUnprocessableEntity, Detail: "query has no searchable text"}
		case err != nil:
			return nil, err
		}
		return toSearchResponse(req.Query, res), nil
	})
}

// cachedJSON answers from the cache under key, or computes the response,
// caches its JSON for ttl and sends it. X-Cache says which. Errors are not
// cached.
func cachedJSON(c *fiber.Ctx, store cache.Cache, key string, ttl time.Duration, compute func() (any, error)) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if b, ok := store.Get(c.UserContext(), key); ok {
		c.Set("X-Cache", "hit")
		return c.Send(b)
	}
	v, err := compute()
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	store.Set(context.WithoutCancel(c.UserContext()), key, b, ttl)
	c.Set("X-Cache", "miss")
	return c.Send(b)
}

func searchCacheKey(fingerprint string, q search.Query) string {
	b, _ := json.Marshal(q)
	h := sha256.Sum256(append([]byte(fingerprint+"\x00"), b...))
	return "search:" + hex.EncodeToString(h[:16])
}

func toSearchResponse(query string, res search.Result) searchResponse {
	out := searchResponse{Query: query, Results: make([]conceptResultDTO, 0, len(res.Candidates)), Confidence: res.Confidence, Route: string(res.Route)}
	for i, cand := range res.Candidates {
		con := cand.Concept
		r := conceptResultDTO{
			ConceptID: con.ID, ConceptName: con.Name, VocabularyID: con.Vocabulary, DomainID: con.Domain,
			ConceptClassID: con.Class, StandardConcept: nullable(con.Standard), ConceptCode: con.Code,
			InvalidReason: nullable(con.InvalidReason), Score: cand.Score, Rank: i + 1,
			Explanation: explanationDTO{
				LexicalRank: cand.LexicalRank, LexicalScore: cand.LexicalScore,
				DenseRank: cand.DenseRank, DenseScore: cand.DenseScore,
				MatchedText: cand.MatchedText, MatchedField: cand.MatchedField,
			},
		}
		if cand.Via != nil {
			id := cand.Via.ID
			r.Explanation.MappedFrom = &id
		}
		out.Results = append(out.Results, r)
	}
	return out
}

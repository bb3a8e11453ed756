package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/platform/cache"
	"github.com/portiere/portiere/vocab"
)

// ConceptReader returns one concept of the live vocabulary with its
// synonyms and relationships, or vocab.ErrNotFound. vocabstore.Store is
// one.
type ConceptReader interface {
	Concept(ctx context.Context, id int32) (vocab.ConceptDetail, error)
}

// ConceptDetail is the concept detail resource: GET /api/v1/concepts/{id},
// for any member of an organization.
type ConceptDetail struct {
	Concepts ConceptReader
	// Cache stores answers (Redis when configured); nil means an
	// in-process cache.
	Cache cache.Cache
}

// conceptCacheTTL bounds how long a cached concept is served, so a new
// vocabulary release shows within this long of its import.
const conceptCacheTTL = 10 * time.Minute

// dateLayout is how the API writes CDM dates.
const dateLayout = "2006-01-02"

type synonymDTO struct {
	ConceptSynonymName string `json:"concept_synonym_name"`
	LanguageConceptID  int32  `json:"language_concept_id"`
}

type relationshipDTO struct {
	RelationshipID string `json:"relationship_id"`
	Direction      string `json:"direction"`
	Reversed       bool   `json:"reversed"`
	ConceptID      int32  `json:"concept_id"`
	// The other concept's fields are null when the vocabulary lacks it.
	ConceptName          *string `json:"concept_name"`
	DomainID             *string `json:"domain_id"`
	VocabularyID         *string `json:"vocabulary_id"`
	ConceptClassID       *string `json:"concept_class_id"`
	StandardConcept      *string `json:"standard_concept"`
	ConceptInvalidReason *string `json:"concept_invalid_reason"`
	ValidStartDate       string  `json:"valid_start_date"`
	ValidEndDate         string  `json:"valid_end_date"`
	InvalidReason        *string `json:"invalid_reason"`
	Valid                bool    `json:"valid"`
}

type conceptDetailDTO struct {
	ConceptID              int32             `json:"concept_id"`
	ConceptName            string            `json:"concept_name"`
	DomainID               string            `json:"domain_id"`
	VocabularyID           string            `json:"vocabulary_id"`
	ConceptClassID         string            `json:"concept_class_id"`
	StandardConcept        *string           `json:"standard_concept"`
	ConceptCode            string            `json:"concept_code"`
	ValidStartDate         string            `json:"valid_start_date"`
	ValidEndDate           string            `json:"valid_end_date"`
	InvalidReason          *string           `json:"invalid_reason"`
	Synonyms               []synonymDTO      `json:"synonyms"`
	Relationships          []relationshipDTO `json:"relationships"`
	RelationshipsTotal     int               `json:"relationships_total"`
	RelationshipsTruncated bool              `json:"relationships_truncated"`
}

// Routes registers the detail route on r.
func (h *ConceptDetail) Routes(r *Router) {
	if h.Cache == nil {
		h.Cache = cache.NewMemory(10_000)
	}
	str := openapi.Schema{"type": "string"}
	nullStr := func(desc string) openapi.Schema {
		return openapi.Schema{"type": "string", "nullable": true, "description": desc}
	}
	date := openapi.Schema{"type": "string", "format": "date", "example": "2099-12-31"}
	r.Schema("ConceptSynonym", openapi.Schema{
		"type": "object", "required": []string{"concept_synonym_name", "language_concept_id"},
		"properties": map[string]any{
			"concept_synonym_name": str,
			"language_concept_id":  openapi.Schema{"type": "integer", "format": "int32"},
		},
	})
	r.Schema("ConceptRelationship", openapi.Schema{
		"type":        "object",
		"description": "One concept_relationship row seen from the concept.",
		"required":    []string{"relationship_id", "direction", "reversed", "concept_id", "valid_start_date", "valid_end_date", "valid"},
		"properties": map[string]any{
			"relationship_id": openapi.Schema{"type": "string", "description": "How the row reads from this concept: the row's relationship_id " +
				"when outgoing; when incoming, the relationship's reverse_relationship_id if the vocabulary has one (reversed is then true), " +
				"else the row's own relationship_id.", "example": "Maps to"},
			"direction": openapi.Schema{"type": "string", "enum": []string{string(vocab.Outgoing), string(vocab.Incoming)},
				"description": "outgoing: this concept is concept_id_1; incoming: it is concept_id_2."},
			"reversed": openapi.Schema{"type": "boolean", "description": "relationship_id is the reverse of the stored one, " +
				"so the row reads 'this concept relationship_id other concept'. An incoming row that is not reversed reads " +
				"'other concept relationship_id this concept'."},
			"concept_id":             openapi.Schema{"type": "integer", "format": "int32", "description": "the concept at the other end"},
			"concept_name":           nullStr("null when the vocabulary lacks the other concept"),
			"domain_id":              nullStr("null when the vocabulary lacks the other concept"),
			"vocabulary_id":          nullStr("null when the vocabulary lacks the other concept"),
			"concept_class_id":       nullStr("null when the vocabulary lacks the other concept"),
			"standard_concept":       nullStr("the other concept's standard_concept: S, C or null"),
			"concept_invalid_reason": nullStr("the other concept's invalid_reason: D, U or null"),
			"valid_start_date":       date,
			"valid_end_date":         date,
			"invalid_reason":         nullStr("the relationship row's invalid_reason; null while valid"),
			"valid":                  openapi.Schema{"type": "boolean", "description": "the relationship row has no invalid_reason"},
		},
	})
	r.Schema("ConceptDetail", openapi.Schema{
		"type": "object",
		"required": []string{"concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id", "concept_code",
			"valid_start_date", "valid_end_date", "synonyms", "relationships", "relationships_total", "relationships_truncated"},
		"properties": map[string]any{
			"concept_id":       openapi.Schema{"type": "integer", "format": "int32", "example": 201826},
			"concept_name":     openapi.Schema{"type": "string", "example": "Type 2 diabetes mellitus"},
			"domain_id":        str,
			"vocabulary_id":    str,
			"concept_class_id": str,
			"standard_concept": nullStr("S, C or null for a non-standard concept"),
			"concept_code":     str,
			"valid_start_date": date,
			"valid_end_date":   date,
			"invalid_reason":   nullStr("D, U or null while valid"),
			"synonyms": openapi.Schema{"type": "array", "items": openapi.Ref("ConceptSynonym"),
				"description": "ordered by language_concept_id, then name"},
			"relationships": openapi.Schema{"type": "array", "items": openapi.Ref("ConceptRelationship"),
				"description": fmt.Sprintf("Both directions, at most %d: outgoing first, valid before invalid, then by "+
					"relationship_id and the other concept's id. An incoming row whose reverse the vocabulary also "+
					"lists as outgoing is left out.", vocab.MaxRelationships)},
			"relationships_total":     openapi.Schema{"type": "integer", "description": "relationships before the cap"},
			"relationships_truncated": openapi.Schema{"type": "boolean", "description": "relationships holds fewer than relationships_total"},
		},
	})
	r.Protected(RequireReader()).Add(fiber.MethodGet, "/concepts/:id", openapi.Operation{
		Summary:     "One concept with its synonyms and relationships",
		Description: "id is a concept_id: a positive 32-bit integer. Answers are cached for 10 minutes. Any member of an organization (viewers and read-scope keys included) or the operator.",
		Tags:        []string{"concepts"},
		Responses: map[int]openapi.Response{
			200: {Description: "The concept", Schema: openapi.Ref("ConceptDetail")},
			403: {Description: "The credential has no role in an organization", Schema: openapi.Ref("Error")},
			404: {Description: "No such concept in the vocabulary", Schema: openapi.Ref("Error")},
			422: {Description: "id is not a positive 32-bit integer", Schema: openapi.Ref("Error")},
		},
	}, h.get)
}

func (h *ConceptDetail) get(c *fiber.Ctx) error {
	raw := c.Params("id")
	id, err := strconv.ParseInt(raw, 10, 32)
	if err != nil || id < 1 {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("concept id must be a positive 32-bit integer, got %q", raw)}
	}
	return cachedJSON(c, h.Cache, "concept:"+strconv.FormatInt(id, 10), conceptCacheTTL, func() (any, error) {
		d, err := h.Concepts.Concept(c.UserContext(), int32(id))
		if errors.Is(err, vocab.ErrNotFound) {
			return nil, &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("concept %d not found", id)}
		}
		if err != nil {
			return nil, err
		}
		return toConceptDetailDTO(d), nil
	})
}

func toConceptDetailDTO(d vocab.ConceptDetail) conceptDetailDTO {
	out := conceptDetailDTO{
		ConceptID: d.ID, ConceptName: d.Name, DomainID: d.DomainID, VocabularyID: d.VocabularyID,
		ConceptClassID: d.ClassID, StandardConcept: nullable(d.StandardConcept), ConceptCode: d.Code,
		ValidStartDate: d.ValidStart.Format(dateLayout), ValidEndDate: d.ValidEnd.Format(dateLayout),
		InvalidReason:      nullable(d.InvalidReason),
		Synonyms:           make([]synonymDTO, 0, len(d.Synonyms)),
		Relationships:      make([]relationshipDTO, 0, len(d.Relationships)),
		RelationshipsTotal: d.RelationshipsTotal, RelationshipsTruncated: d.RelationshipsTruncated(),
	}
	for _, syn := range d.Synonyms {
		out.Synonyms = append(out.Synonyms, synonymDTO{ConceptSynonymName: syn.Name, LanguageConceptID: syn.LanguageConceptID})
	}
	for _, r := range d.Relationships {
		o := r.Other
		dto := relationshipDTO{
			RelationshipID: r.RelationshipID, Direction: string(r.Direction), Reversed: r.Reversed, ConceptID: o.ID,
			StandardConcept: nullable(o.StandardConcept), ConceptInvalidReason: nullable(o.InvalidReason),
			ValidStartDate: r.ValidStart.Format(dateLayout), ValidEndDate: r.ValidEnd.Format(dateLayout),
			InvalidReason: nullable(r.InvalidReason), Valid: r.InvalidReason == "",
		}
		if r.OtherKnown {
			dto.ConceptName, dto.DomainID, dto.VocabularyID, dto.ConceptClassID = &o.Name, &o.DomainID, &o.VocabularyID, &o.ClassID
		}
		out.Relationships = append(out.Relationships, dto)
	}
	return out
}

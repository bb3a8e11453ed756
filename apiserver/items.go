package apiserver

import (
	"strconv"
	"time"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/mappingjob"
)

// conceptItem is a concept mapping item as every route returns it: the
// Portiere SDK's ConceptMappingItem (all of its keys, null when unset; see
// sdktest/CONTRACT.md §2.7), plus the server's id (the mapping_id of the
// review routes), revision (for optimistic concurrency), review metadata
// and error. The SDK's pydantic models ignore the extra keys.
type conceptItem struct {
	ID                 string                 `json:"id"`
	Source             string                 `json:"source"`
	SourceCode         string                 `json:"source_code"`
	SourceDescription  *string                `json:"source_description"`
	SourceColumn       *string                `json:"source_column"`
	SourceCount        int64                  `json:"source_count"`
	TargetConceptID    *int32                 `json:"target_concept_id"`
	TargetConceptName  *string                `json:"target_concept_name"`
	TargetVocabularyID *string                `json:"target_vocabulary_id"`
	TargetDomainID     *string                `json:"target_domain_id"`
	Confidence         float64                `json:"confidence"`
	Method             string                 `json:"method"`
	InferenceMethod    *string                `json:"inference_method"`
	ReviewDecision     *string                `json:"review_decision"`
	Candidates         []mappingjob.Candidate `json:"candidates"`
	Provenance         mappingjob.Provenance  `json:"provenance"`
	Revision           int                    `json:"revision"`
	DecidedBy          *string                `json:"decided_by"`
	DecidedAt          *time.Time             `json:"decided_at"`
	Error              *string                `json:"error"`
	// The second-reviewer rule: open, awaiting_second_review, flagged
	// (two reviewers disagree) or final, with the votes kept meanwhile.
	ReviewState    string   `json:"review_state"`
	Flagged        bool     `json:"flagged"`
	FirstDecision  *voteDTO `json:"first_decision"`
	SecondDecision *voteDTO `json:"second_decision"`
}

// voteDTO is one reviewer's vote kept on an item under the second-reviewer
// rule.
type voteDTO struct {
	Reviewer     string    `json:"reviewer"`
	Action       string    `json:"action"`
	ConceptID    *int32    `json:"concept_id"`
	ConceptName  *string   `json:"concept_name"`
	VocabularyID *string   `json:"vocabulary_id"`
	DomainID     *string   `json:"domain_id"`
	Comment      string    `json:"comment"`
	At           time.Time `json:"at"`
}

func voteOf(v *mappingjob.Vote) *voteDTO {
	if v == nil {
		return nil
	}
	d := &voteDTO{Reviewer: v.Reviewer, Action: string(v.Action), ConceptName: nullable(v.ConceptName),
		VocabularyID: nullable(v.VocabularyID), DomainID: nullable(v.DomainID), Comment: v.Comment, At: v.At}
	if v.ConceptID != 0 {
		id := v.ConceptID
		d.ConceptID = &id
	}
	return d
}

// sdkMethod is the item's method in the SDK's ConceptMappingMethod enum,
// which has no "crowd": the SDK's pydantic model refuses an item carrying
// it. An item the Portiere Mapper crowd decided reads as a reviewed item —
// "override" when the crowd chose another concept, otherwise the band the
// engine put it in (its inference method) — with the crowd's votes in
// provenance["crowd"]; `?method=crowd` still finds it.
func sdkMethod(it mappingjob.Item) mappingjob.Method {
	if it.Method != mappingjob.MethodCrowd {
		return it.Method
	}
	switch {
	case it.Review == mappingjob.ReviewOverridden:
		return mappingjob.MethodOverride
	case it.InferenceMethod != "" && it.InferenceMethod != mappingjob.MethodCrowd:
		return it.InferenceMethod
	default:
		return mappingjob.MethodReview
	}
}

// conceptItemOf is the response DTO of it.
func conceptItemOf(it mappingjob.Item) conceptItem {
	v := conceptItem{
		ID: strconv.FormatInt(it.ID, 10), Source: it.Source, SourceCode: it.Code,
		SourceDescription: nullable(it.Description), SourceColumn: nullable(it.SourceColumn), SourceCount: it.SourceCount,
		TargetConceptName: nullable(it.TargetName), TargetVocabularyID: nullable(it.TargetVocabulary), TargetDomainID: nullable(it.TargetDomain),
		Confidence: it.Confidence, Method: string(sdkMethod(it)), InferenceMethod: nullable(string(it.InferenceMethod)),
		ReviewDecision: nullable(string(it.Review)), Candidates: it.Candidates, Provenance: it.Provenance,
		Revision: it.Revision, DecidedBy: nullable(it.DecidedBy), DecidedAt: it.DecidedAt, Error: nullable(it.Error),
		ReviewState: string(it.State()), Flagged: it.Flagged, FirstDecision: voteOf(it.FirstDecision), SecondDecision: voteOf(it.SecondDecision),
	}
	if it.ConceptID != 0 {
		id := it.ConceptID
		v.TargetConceptID = &id
	}
	if v.Candidates == nil {
		v.Candidates = []mappingjob.Candidate{}
	}
	if v.Provenance == nil {
		v.Provenance = mappingjob.Provenance{}
	}
	return v
}

// conceptItemSchema documents conceptItem.
func conceptItemSchema() openapi.Schema {
	str := openapi.Schema{"type": "string"}
	nstr := openapi.Schema{"type": "string", "nullable": true}
	methods := []string{"auto", "review", "manual", "override", "unmapped"}
	return openapi.Schema{"type": "object", "required": []string{"id", "source_code", "method", "candidates", "revision"},
		"properties": map[string]any{
			"id": str, "source": str, "source_code": str, "source_description": nstr, "source_column": nstr,
			"source_count":        openapi.Schema{"type": "integer"},
			"target_concept_id":   openapi.Schema{"type": "integer", "nullable": true},
			"target_concept_name": nstr, "target_vocabulary_id": nstr, "target_domain_id": nstr,
			"confidence":       openapi.Schema{"type": "number"},
			"method":           openapi.Schema{"type": "string", "enum": methods},
			"inference_method": openapi.Schema{"type": "string", "enum": methods, "nullable": true},
			"review_decision":  openapi.Schema{"type": "string", "enum": []string{"pending", "approved", "rejected", "overridden"}, "nullable": true},
			"candidates": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object", "properties": map[string]any{
				"concept_id": openapi.Schema{"type": "integer"}, "concept_name": str, "vocabulary_id": str, "domain_id": str,
				"concept_class_id": str, "standard_concept": str, "score": openapi.Schema{"type": "number"},
				"rrf_score": openapi.Schema{"type": "number"}, "cross_encoder_score": openapi.Schema{"type": "number"},
				"explanation": openapi.Schema{"type": "object"}}}},
			"provenance": openapi.Schema{"type": "object"},
			"revision":   openapi.Schema{"type": "integer"},
			"decided_by": nstr, "decided_at": openapi.Schema{"type": "string", "format": "date-time", "nullable": true},
			"error":          nstr,
			"review_state":   openapi.Schema{"type": "string", "enum": []string{"open", "awaiting_second_review", "flagged", "final"}},
			"flagged":        openapi.Schema{"type": "boolean"},
			"first_decision": voteSchema(), "second_decision": voteSchema(),
		}}
}

// voteSchema documents voteDTO.
func voteSchema() openapi.Schema {
	nstr := openapi.Schema{"type": "string", "nullable": true}
	return openapi.Schema{"type": "object", "nullable": true, "properties": map[string]any{
		"reviewer": openapi.Schema{"type": "string"}, "action": openapi.Schema{"type": "string", "enum": []string{"approve", "reject", "override"}},
		"concept_id": openapi.Schema{"type": "integer", "nullable": true}, "concept_name": nstr, "vocabulary_id": nstr, "domain_id": nstr,
		"comment": openapi.Schema{"type": "string"}, "at": openapi.Schema{"type": "string", "format": "date-time"},
	}}
}

package apiserver

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/schemamap"
)

// maxSuggestColumns bounds one suggest request; a data set with more
// columns is suggested in several calls.
const maxSuggestColumns = 10000

// SchemaSuggest is POST /api/v1/schema-mapping/suggest: ranked OMOP CDM
// v5.4 table/column targets for source columns, from the CDM's field list
// shipped with the binary. It stores nothing: the SDK pushes the items it
// keeps through the sync routes (SchemaMappings).
type SchemaSuggest struct {
	CDM *schemamap.Model
}

// Routes registers the suggest route on r's protected group.
func (h *SchemaSuggest) Routes(r *Router) {
	str := openapi.Schema{"type": "string"}
	nstr := openapi.Schema{"type": "string", "nullable": true}
	r.Schema("SchemaSuggestion", openapi.Schema{"type": "object",
		"required": []string{"source_column", "source_table", "target_table", "target_column", "confidence", "status", "candidates"},
		"properties": map[string]any{
			"source_column": str, "source_table": str, "target_table": nstr, "target_column": nstr,
			"confidence": openapi.Schema{"type": "number"},
			"status":     openapi.Schema{"type": "string", "enum": []string{"auto_accepted", "needs_review", "unmapped"}},
			"candidates": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object", "properties": map[string]any{
				"target_table": str, "target_column": str, "confidence": openapi.Schema{"type": "number"},
				"reasons": openapi.Schema{"type": "array", "items": str}}}},
		}})
	g := r.Group("/schema-mapping").Protected()
	g.Add(fiber.MethodPost, "/suggest", openapi.Operation{
		Summary: "Suggest OMOP CDM targets for source columns",
		Description: "Ranks OMOP CDM v5.4 table/column targets for each source column (best first, at most 5) from the column's name, " +
			"its table's name and sample values. Columns come in the Portiere SDK's profile shape `{name, type, nullable, n_unique, sample_values}` " +
			"or as `{table, column, sample_values}`; unknown keys (and `target_schema`, `target_descriptions`) are ignored. " +
			"`status` routes the best target's confidence as the SDK does: ≥ 0.95 `auto_accepted`, ≥ 0.70 `needs_review`, else `unmapped` " +
			"(a column with no target is `unmapped` with null targets). `target_model` must be `omop_cdm_v5.4` (null means it). " +
			"Any credential of an organization may call it; nothing is stored.",
		Tags: []string{"schema mapping"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"columns"}, "properties": map[string]any{
			"columns": openapi.Schema{"type": "array", "maxItems": maxSuggestColumns, "items": openapi.Schema{"type": "object", "properties": map[string]any{
				"name": str, "column": str, "table": str, "type": str,
				"sample_values": openapi.Schema{"type": "array", "items": openapi.Schema{}}}}},
			"target_model":        nstr,
			"target_schema":       openapi.Schema{"type": "object", "nullable": true},
			"target_descriptions": openapi.Schema{"type": "object", "nullable": true},
		}},
		Responses: map[int]openapi.Response{
			200: {Description: "One mapping per column, in input order", Schema: openapi.Schema{"type": "object", "required": []string{"mappings"},
				"properties": map[string]any{"mappings": openapi.Schema{"type": "array", "items": openapi.Ref("SchemaSuggestion")}}}},
			403: errResp("The credential acts for no organization"),
			422: errResp("Invalid body, or an unsupported target_model (the detail names the supported ones)"),
		},
	}, h.suggest)
}

// suggestColumn accepts both column shapes: the SDK's profile
// {name, type, nullable, n_unique, sample_values} and issue #8's
// {table, column, sample_values}. Sample values may be any JSON scalar
// (the SDK profiles numeric columns too).
type suggestColumn struct {
	Name         looseText         `json:"name"`
	Column       looseText         `json:"column"`
	Table        looseText         `json:"table"`
	SampleValues []json.RawMessage `json:"sample_values"`
}

// looseText is a JSON string, or a number or boolean taken as written:
// the SDK sends a data frame's column names as they are, and pandas names
// the columns of a headerless file 0, 1, 2, ... Null is "".
type looseText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *looseText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = looseText(s)
		return nil
	}
	v := strings.TrimSpace(string(b))
	if v == "" || v[0] == '{' || v[0] == '[' {
		return fmt.Errorf("a column name must be a string, not %s", v)
	}
	if v != "null" {
		*t = looseText(v)
	}
	return nil
}

type suggestCandidate struct {
	TargetTable  string   `json:"target_table"`
	TargetColumn string   `json:"target_column"`
	Confidence   float64  `json:"confidence"`
	Reasons      []string `json:"reasons"`
}

// suggestedMapping is one column's answer, in the shape the SDK's
// SchemaMapping.from_api_response reads.
type suggestedMapping struct {
	SourceColumn string             `json:"source_column"`
	SourceTable  string             `json:"source_table"`
	TargetTable  *string            `json:"target_table"`
	TargetColumn *string            `json:"target_column"`
	Confidence   float64            `json:"confidence"`
	Status       string             `json:"status"`
	Candidates   []suggestCandidate `json:"candidates"`
}

func (h *SchemaSuggest) suggest(c *fiber.Ctx) error {
	if p, _ := PrincipalFrom(c.UserContext()); !p.Operator {
		if err := p.CanRead(""); err != nil {
			return err
		}
	}
	var body struct {
		Columns     []suggestColumn `json:"columns"`
		TargetModel *string         `json:"target_model"`
	}
	if err := decodeJSON(c, &body, Lenient, false); err != nil {
		return err
	}
	if body.Columns == nil {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: `field "columns" is required: a list of {name, sample_values} or {table, column, sample_values}`}
	}
	if len(body.Columns) > maxSuggestColumns {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("%d columns: at most %d per request", len(body.Columns), maxSuggestColumns)}
	}
	cols := make([]schemamap.Column, len(body.Columns))
	for i, bc := range body.Columns {
		col := string(bc.Column)
		if col == "" {
			col = string(bc.Name)
		}
		if strings.TrimSpace(col) == "" {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("columns[%d] has no name: send name (or column)", i)}
		}
		cols[i] = schemamap.Column{Table: string(bc.Table), Column: col, SampleValues: sampleStrings(bc.SampleValues)}
	}
	res, err := h.CDM.Suggest(cols, deref(body.TargetModel))
	if err != nil {
		return err
	}
	out := make([]suggestedMapping, len(res))
	for i, r := range res {
		m := suggestedMapping{SourceColumn: r.Source.Column, SourceTable: r.Source.Table, Status: string(schemamap.StatusUnmapped),
			Candidates: make([]suggestCandidate, len(r.Suggestions))}
		for j, s := range r.Suggestions {
			m.Candidates[j] = suggestCandidate{TargetTable: s.Table, TargetColumn: s.Column, Confidence: s.Confidence, Reasons: s.Reasons}
			if m.Candidates[j].Reasons == nil {
				m.Candidates[j].Reasons = []string{}
			}
		}
		if len(r.Suggestions) > 0 {
			best := r.Suggestions[0]
			m.TargetTable, m.TargetColumn, m.Confidence = &best.Table, &best.Column, best.Confidence
			m.Status = string(schemamap.StatusFor(best.Confidence))
		}
		out[i] = m
	}
	return c.JSON(fiber.Map{"mappings": out})
}

// textOrEmpty is *s, or "" for an absent key or the SDK's null.
// sampleStrings turns sample values into text: strings as they are,
// numbers and booleans as written; nulls, objects and arrays are dropped.
func sampleStrings(raw []json.RawMessage) []string {
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, s)
			continue
		}
		t := strings.TrimSpace(string(v))
		if t == "" || t == "null" || t[0] == '{' || t[0] == '[' {
			continue
		}
		out = append(out, t)
	}
	return out
}

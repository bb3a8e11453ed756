// Package openapi builds the OpenAPI 3 document of the Portiere API from the
// routes as they are registered, so the document cannot drift from the
// router.
package openapi

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Schema is a JSON Schema object as OpenAPI 3.0 embeds it.
type Schema map[string]any

// Ref points at a named schema under components/schemas.
func Ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// Response describes one status code of an operation. A nil Schema means
// the body is not JSON (ContentType says what it is) or absent.
type Response struct {
	Description string
	ContentType string // defaults to application/json when Schema is set
	Schema      Schema
}

// Operation describes one method on one path.
type Operation struct {
	Summary     string
	Description string
	Tags        []string
	RequestBody Schema // JSON request body, if any
	// RequestForms are request bodies in other media types (e.g.
	// multipart/form-data for an upload), beside or instead of the JSON
	// one; keyed by media type.
	RequestForms map[string]Schema
	Responses    map[int]Response
	// Secured marks an operation that needs credentials (Authorization:
	// Bearer or X-Portiere-API-Key); the router sets it on protected groups.
	Secured bool
}

// Document accumulates operations. It is not safe for concurrent use; build
// it at start-up, then serve the output of JSON.
type Document struct {
	title, version string
	paths          map[string]map[string]Operation // OpenAPI path → lower-case method → op
	schemas        map[string]Schema
}

// New starts an empty document.
func New(title, version string) *Document {
	return &Document{title: title, version: version, paths: map[string]map[string]Operation{}, schemas: map[string]Schema{}}
}

// AddSchema registers a named component schema.
func (d *Document) AddSchema(name string, s Schema) { d.schemas[name] = s }

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// Path converts a Fiber route path ("/api/v1/concepts/:id") to its OpenAPI
// form ("/api/v1/concepts/{id}"); a trailing wildcard becomes {path}.
func Path(fiberPath string) string {
	p := fiberParam.ReplaceAllString(fiberPath, "{$1}")
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "{path}"
	}
	return p
}

// Add records op for method on a Fiber-style path.
func (d *Document) Add(method, fiberPath string, op Operation) {
	p := Path(fiberPath)
	if d.paths[p] == nil {
		d.paths[p] = map[string]Operation{}
	}
	d.paths[p][strings.ToLower(method)] = op
}

// Has reports whether method on the Fiber-style path is documented.
func (d *Document) Has(method, fiberPath string) bool {
	_, ok := d.paths[Path(fiberPath)][strings.ToLower(method)]
	return ok
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// JSON renders the OpenAPI 3.0.3 document.
func (d *Document) JSON() ([]byte, error) {
	paths := map[string]any{}
	for p, methods := range d.paths {
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true, "schema": Schema{"type": "string"},
			})
		}
		item := map[string]any{}
		if len(params) > 0 {
			item["parameters"] = params
		}
		for m, op := range methods {
			item[m] = d.operation(p, m, op)
		}
		paths[p] = item
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   d.title,
			"version": d.version,
			"description": "Portiere maps clinical source codes and terms to standard vocabularies " +
				"(SNOMED CT, ICD-10-CM, RxNorm, LOINC in OMOP/Athena form).",
		},
		"paths": paths,
	}
	components := map[string]any{"securitySchemes": map[string]any{
		"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"},
		"apiKeyAuth": map[string]any{"type": "apiKey", "in": "header", "name": "X-Portiere-API-Key"},
	}}
	if len(d.schemas) > 0 {
		components["schemas"] = d.schemas
	}
	doc["components"] = components
	return json.MarshalIndent(doc, "", "  ")
}

func (d *Document) operation(path, method string, op Operation) map[string]any {
	out := map[string]any{
		"summary":     op.Summary,
		"operationId": operationID(method, path),
	}
	if op.Description != "" {
		out["description"] = op.Description
	}
	if len(op.Tags) > 0 {
		out["tags"] = op.Tags
	}
	if op.Secured {
		out["security"] = []any{map[string]any{"bearerAuth": []string{}}, map[string]any{"apiKeyAuth": []string{}}}
	}
	if op.RequestBody != nil || len(op.RequestForms) > 0 {
		content := map[string]any{}
		if op.RequestBody != nil {
			content["application/json"] = map[string]any{"schema": op.RequestBody}
		}
		for mediaType, s := range op.RequestForms {
			content[mediaType] = map[string]any{"schema": s}
		}
		out["requestBody"] = map[string]any{"required": true, "content": content}
	}
	codes := make([]int, 0, len(op.Responses))
	for c := range op.Responses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	responses := map[string]any{}
	for _, c := range codes {
		r := op.Responses[c]
		body := map[string]any{"description": r.Description}
		ct := r.ContentType
		if ct == "" && r.Schema != nil {
			ct = "application/json"
		}
		if ct != "" {
			s := r.Schema
			if s == nil {
				s = Schema{"type": "string"}
			}
			body["content"] = map[string]any{ct: map[string]any{"schema": s}}
		}
		responses[strconv.Itoa(c)] = body
	}
	out["responses"] = responses
	return out
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(method)
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

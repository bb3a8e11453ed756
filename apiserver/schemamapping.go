package apiserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/schemamap"
	"github.com/portiere/portiere/tenancy"
)

// SchemaMappings is a project's schema mapping items: the SDK's sync push
// and pull (/sync/projects/{id}/schema-mappings[/bulk]), the ETL runner's
// read (/schema-mapping/projects/{id}/schema-mapping), and the Review API's
// approve / reject / override, under /api/v1 and /v1 alike.
type SchemaMappings struct {
	Projects ProjectFinder
	Items    schemamap.Store
	// CDM is the field list an override's target must exist in.
	CDM *schemamap.Model
}

// Routes registers the schema mapping item routes on r's protected groups
// and on the /v1 group the Review API documentation writes.
func (h *SchemaMappings) Routes(r *Router) {
	r.Schema("SchemaMappingItem", schemaItemSchema())
	r.Schema("FieldErrors", fieldErrorsSchema())

	sync := r.Group("/sync/projects").Protected()
	sync.Add(fiber.MethodPost, "/:id/schema-mappings/bulk", openapi.Operation{
		Summary: "Push schema mapping items (SDK sync)",
		Description: "Writes the Portiere SDK's SchemaMappingItems (every key, null when unset), keyed by (source_table, source_column): " +
			"an item already stored is replaced when anything differs (its revision grows) and left alone otherwise, so pushing the same items " +
			"twice changes nothing. An item carrying a `revision` that is not the stored one fails the whole push with 409 naming it; nothing " +
			"of that push is written. Each created or changed item gets an audit row. Needs a write credential of the project's organization.",
		Tags: []string{"sync"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"items"}, "properties": map[string]any{
			"items": openapi.Schema{"type": "array", "items": openapi.Ref("SchemaMappingItem")}}},
		Responses: map[int]openapi.Response{
			200: {Description: "What the push did, and the stored items", Schema: syncPushResultSchema("SchemaMappingItem")},
			403: errResp("Read-only credential"), 404: errResp("No such project"),
			409: errResp("An item's revision is stale"), 422: errResp("Invalid body or item"),
		},
	}, h.push)
	pull := openapi.Operation{
		Summary:     "Pull a project's schema mapping items (SDK sync)",
		Description: "Every schema mapping item of the project in the SDK's SchemaMappingItem shape, plus the server's `id` (the review routes' mapping_id), `revision`, `decided_by` and `decided_at`.",
		Tags:        []string{"sync"},
		Responses: map[int]openapi.Response{
			200: {Description: "The items", Schema: syncItemsSchema("SchemaMappingItem")},
			403: errResp("The credential cannot read this project"), 404: errResp("No such project"),
		},
	}
	sync.Add(fiber.MethodGet, "/:id/schema-mappings", pull, h.pull)
	etl := pull
	etl.Summary, etl.Tags = "A project's schema mapping items (the SDK's ETL runner)", []string{"schema mapping"}
	r.Group("/schema-mapping/projects").Protected().Add(fiber.MethodGet, "/:id/schema-mapping", etl, h.pull)

	for _, g := range []*Router{r.Group("/projects").Protected(), r.Legacy().Group("/projects").Protected()} {
		h.reviewRoutes(g)
	}
}

func (h *SchemaMappings) reviewRoutes(g *Router) {
	decision := openapi.Schema{"type": "object", "properties": map[string]any{
		"comment":  openapi.Schema{"type": "string"},
		"revision": openapi.Schema{"type": "integer", "description": "The revision the reviewer saw; 409 when the item has changed since"},
	}}
	responses := func(extra map[int]openapi.Response) map[int]openapi.Response {
		out := map[int]openapi.Response{
			200: {Description: "The updated item", Schema: openapi.Ref("SchemaMappingDecision")},
			403: errResp("The credential may not review (viewer or read scope)"),
			404: errResp("No such project, or `Schema mapping {mapping_id} not found in project {project_id}`"),
			409: errResp("The item changed since `revision`"),
			422: {Description: "Invalid body: `{detail: [{loc, msg, type}]}`", Schema: openapi.Ref("FieldErrors")},
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	g.Schema("SchemaMappingDecision", openapi.Schema{"type": "object",
		"required": []string{"id", "source_column", "target_table", "target_column", "confidence", "status"},
		"properties": map[string]any{
			"id": openapi.Schema{"type": "string"}, "source_column": openapi.Schema{"type": "string"}, "source_table": openapi.Schema{"type": "string"},
			"target_table":  openapi.Schema{"type": "string", "nullable": true, "description": "The effective target (the override when there is one); null when rejected"},
			"target_column": openapi.Schema{"type": "string", "nullable": true},
			"confidence":    openapi.Schema{"type": "number"}, "status": openapi.Schema{"type": "string"},
			"revision":   openapi.Schema{"type": "integer"},
			"decided_by": openapi.Schema{"type": "string"}, "decided_at": openapi.Schema{"type": "string", "format": "date-time"},
		}})
	g.Add(fiber.MethodPost, "/:id/schema-mapping/:mid/approve", openapi.Operation{
		Summary:     "Approve a schema mapping",
		Description: "Accepts the item's target (the override when there is one). No body needed; optional `{comment, revision}`. Members, admins and owners with a write credential; writes an audit row.",
		Tags:        []string{"review"}, RequestBody: decision,
		Responses: responses(nil),
	}, h.decide(schemamap.StatusApproved))
	g.Add(fiber.MethodPost, "/:id/schema-mapping/:mid/reject", openapi.Operation{
		Summary:     "Reject a schema mapping",
		Description: "Marks the column as not mappable to the target model (the answer's targets are null; the suggestion is kept for the audit trail and the SDK). No body needed; optional `{comment, revision}`.",
		Tags:        []string{"review"}, RequestBody: decision,
		Responses: responses(nil),
	}, h.decide(schemamap.StatusRejected))
	g.Add(fiber.MethodPost, "/:id/schema-mapping/:mid/override", openapi.Operation{
		Summary:     "Override a schema mapping",
		Description: "Replaces the suggestion with `target_table`.`target_column` (both required; they must exist in OMOP CDM v5.4). Optional `comment`, `revision`.",
		Tags:        []string{"review"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"target_table", "target_column"}, "properties": map[string]any{
			"target_table": openapi.Schema{"type": "string"}, "target_column": openapi.Schema{"type": "string"},
			"comment": openapi.Schema{"type": "string"}, "revision": openapi.Schema{"type": "integer"},
		}},
		Responses: responses(nil),
	}, h.override)
}

// schemaItem is a schema mapping item as the sync and ETL routes return
// it: the SDK's SchemaMappingItem (all nine keys, null when unset; see
// sdktest/CONTRACT.md §2.7) plus the server's id, revision and review
// metadata, which the SDK's pydantic model ignores.
type schemaItem struct {
	ID                   string            `json:"id"`
	SourceColumn         string            `json:"source_column"`
	SourceTable          string            `json:"source_table"`
	TargetTable          *string           `json:"target_table"`
	TargetColumn         *string           `json:"target_column"`
	Confidence           float64           `json:"confidence"`
	Status               string            `json:"status"`
	Candidates           []json.RawMessage `json:"candidates"`
	OverrideTargetTable  *string           `json:"override_target_table"`
	OverrideTargetColumn *string           `json:"override_target_column"`
	Revision             int               `json:"revision"`
	DecidedBy            *string           `json:"decided_by"`
	DecidedAt            *time.Time        `json:"decided_at"`
}

func schemaItemOf(it schemamap.Item) schemaItem {
	v := schemaItem{
		ID: strconv.FormatInt(it.ID, 10), SourceColumn: it.SourceColumn, SourceTable: it.SourceTable,
		TargetTable: nullable(it.TargetTable), TargetColumn: nullable(it.TargetColumn),
		Confidence: it.Confidence, Status: string(it.Status), Candidates: it.Candidates,
		OverrideTargetTable: nullable(it.OverrideTargetTable), OverrideTargetColumn: nullable(it.OverrideTargetColumn),
		Revision: it.Revision, DecidedBy: nullable(it.DecidedBy), DecidedAt: it.DecidedAt,
	}
	if v.Candidates == nil {
		v.Candidates = []json.RawMessage{}
	}
	return v
}

func schemaItemSchema() openapi.Schema {
	str := openapi.Schema{"type": "string"}
	nstr := openapi.Schema{"type": "string", "nullable": true}
	return openapi.Schema{"type": "object", "required": []string{"source_column"},
		"properties": map[string]any{
			"id": openapi.Schema{"type": "string", "readOnly": true}, "source_column": str, "source_table": str,
			"target_table": nstr, "target_column": nstr, "confidence": openapi.Schema{"type": "number"},
			"status":                openapi.Schema{"type": "string", "enum": []string{"auto_accepted", "needs_review", "approved", "rejected", "overridden", "unmapped"}},
			"candidates":            openapi.Schema{"type": "array", "items": openapi.Schema{"type": "object"}},
			"override_target_table": nstr, "override_target_column": nstr,
			"revision":   openapi.Schema{"type": "integer", "nullable": true, "description": "On push: the revision last pulled (409 when stale); omit or null to overwrite"},
			"decided_by": openapi.Schema{"type": "string", "nullable": true, "readOnly": true},
			"decided_at": openapi.Schema{"type": "string", "format": "date-time", "nullable": true, "readOnly": true},
		}}
}

func syncItemsSchema(item string) openapi.Schema {
	return openapi.Schema{"type": "object", "required": []string{"items"}, "properties": map[string]any{
		"items": openapi.Schema{"type": "array", "items": openapi.Ref(item)}}}
}

func syncPushResultSchema(item string) openapi.Schema {
	n := openapi.Schema{"type": "integer"}
	return openapi.Schema{"type": "object", "required": []string{"created", "updated", "unchanged", "items"}, "properties": map[string]any{
		"created": n, "updated": n, "unchanged": n,
		"items": openapi.Schema{"type": "array", "items": openapi.Ref(item)}}}
}

// schemaItemBody is one pushed SchemaMappingItem. Every key may be null
// (the SDK sends them all); id and unknown keys are ignored, revision is
// the server extension for optimistic concurrency.
type schemaItemBody struct {
	SourceColumn         *string           `json:"source_column"`
	SourceTable          *string           `json:"source_table"`
	TargetTable          *string           `json:"target_table"`
	TargetColumn         *string           `json:"target_column"`
	Confidence           *float64          `json:"confidence"`
	Status               *string           `json:"status"`
	Candidates           []json.RawMessage `json:"candidates"`
	OverrideTargetTable  *string           `json:"override_target_table"`
	OverrideTargetColumn *string           `json:"override_target_column"`
	Revision             *int              `json:"revision"`
}

// item validates b (item i of the push) into a schemamap.Item with the
// SDK's defaults: source_table "" and status needs_review when null.
func (b schemaItemBody) item(i int) (schemamap.Item, error) {
	it := schemamap.Item{
		SourceColumn: deref(b.SourceColumn), SourceTable: deref(b.SourceTable),
		TargetTable: deref(b.TargetTable), TargetColumn: deref(b.TargetColumn),
		Status: schemamap.StatusNeedsReview, Candidates: b.Candidates,
		OverrideTargetTable: deref(b.OverrideTargetTable), OverrideTargetColumn: deref(b.OverrideTargetColumn),
	}
	if b.Confidence != nil {
		it.Confidence = *b.Confidence
	}
	if b.Status != nil {
		it.Status = schemamap.Status(*b.Status)
	}
	var err error
	if it.Revision, err = pushedRevision(i, b.Revision); err != nil {
		return it, err
	}
	if err = it.Validate(); err != nil {
		return it, pushItemError(i, "%v", err)
	}
	return it, nil
}

func (h *SchemaMappings) push(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanWrite)
	if err != nil {
		return err
	}
	items, err := decodePushItems(c, itemsRequired, schemaItemBody.item)
	if err != nil {
		return err
	}
	res, err := h.Items.Push(c.UserContext(), project.ID, actorOf(p), items)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged, "items": viewsOf(res.Items, schemaItemOf)})
}

func (h *SchemaMappings) pull(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	items, err := h.Items.Items(c.UserContext(), project.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": viewsOf(items, schemaItemOf)})
}

// schemaDecision is the review routes' answer: the Review API doc's item
// {id, source_column, target_table, target_column, confidence, status},
// whose target is the effective one (the override when there is one, null
// when rejected), plus the revision to send with the next decision.
type schemaDecision struct {
	ID           string     `json:"id"`
	SourceColumn string     `json:"source_column"`
	SourceTable  string     `json:"source_table"`
	TargetTable  *string    `json:"target_table"`
	TargetColumn *string    `json:"target_column"`
	Confidence   float64    `json:"confidence"`
	Status       string     `json:"status"`
	Revision     int        `json:"revision"`
	DecidedBy    *string    `json:"decided_by"`
	DecidedAt    *time.Time `json:"decided_at"`
}

func schemaDecisionOf(it schemamap.Item) schemaDecision {
	v := schemaDecision{ID: strconv.FormatInt(it.ID, 10), SourceColumn: it.SourceColumn, SourceTable: it.SourceTable,
		Confidence: it.Confidence, Status: string(it.Status), Revision: it.Revision,
		DecidedBy: nullable(it.DecidedBy), DecidedAt: it.DecidedAt}
	if it.Status != schemamap.StatusRejected {
		t, col := it.EffectiveTarget()
		v.TargetTable, v.TargetColumn = nullable(t), nullable(col)
	}
	return v
}

// reviewTarget resolves a review route's project and item id and checks
// the caller may decide. An id that is not a number names no item: 404
// like any unknown id.
func (h *SchemaMappings) reviewTarget(c *fiber.Ctx) (project string, id int64, p tenancy.Principal, err error) {
	proj, p, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanDecide)
	if err != nil {
		return "", 0, p, err
	}
	id, perr := strconv.ParseInt(c.Params("mid"), 10, 64)
	if perr != nil || id <= 0 {
		return "", 0, p, &schemamap.NotFoundError{Project: proj.ID, ID: c.Params("mid")}
	}
	return proj.ID, id, p, nil
}

type schemaDecisionBody struct {
	Comment  *string `json:"comment"`
	Revision *int    `json:"revision"`
}

func (h *SchemaMappings) decide(status schemamap.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		project, id, p, err := h.reviewTarget(c)
		if err != nil {
			return err
		}
		var body schemaDecisionBody
		if err := decodeJSON(c, &body, Strict, true); err != nil {
			return asValidationErrors(err)
		}
		it, err := h.Items.Decide(c.UserContext(), project, schemamap.Decision{ID: id, Status: status, Actor: actorOf(p),
			Comment: deref(body.Comment), Revision: revisionOf(body.Revision)})
		if err != nil {
			return err
		}
		return c.JSON(schemaDecisionOf(it))
	}
}

func revisionOf(v *int) int {
	if v == nil {
		return 0
	}
	return *v
}

func (h *SchemaMappings) override(c *fiber.Ctx) error {
	project, id, p, err := h.reviewTarget(c)
	if err != nil {
		return err
	}
	var body struct {
		TargetTable  *string `json:"target_table"`
		TargetColumn *string `json:"target_column"`
		schemaDecisionBody
	}
	if err := decodeJSON(c, &body, Strict, true); err != nil {
		return asValidationErrors(err)
	}
	table, column := strings.ToLower(strings.TrimSpace(deref(body.TargetTable))), strings.ToLower(strings.TrimSpace(deref(body.TargetColumn)))
	var bad FieldErrors
	for _, f := range []struct {
		name  string
		given *string
		value string
	}{{"target_table", body.TargetTable, table}, {"target_column", body.TargetColumn, column}} {
		switch {
		case f.given == nil:
			bad = append(bad, FieldError{Loc: []string{"body", f.name}, Msg: "field required", Type: "value_error.missing"})
		case f.value == "":
			bad = append(bad, FieldError{Loc: []string{"body", f.name}, Msg: "must not be empty", Type: "value_error.any_str.min_length"})
		}
	}
	if bad == nil {
		if _, ok := h.CDM.Table(table); !ok {
			bad = append(bad, FieldError{Loc: []string{"body", "target_table"},
				Msg: fmt.Sprintf("%q is not a table of %s", table, h.CDM.Name()), Type: "value_error"})
		} else if _, ok := h.CDM.Field(table, column); !ok {
			bad = append(bad, FieldError{Loc: []string{"body", "target_column"},
				Msg: fmt.Sprintf("table %s of %s has no column %q", table, h.CDM.Name(), column), Type: "value_error"})
		}
	}
	if bad != nil {
		return bad
	}
	it, err := h.Items.Decide(c.UserContext(), project, schemamap.Decision{ID: id, Status: schemamap.StatusOverridden,
		TargetTable: table, TargetColumn: column, Actor: actorOf(p), Comment: deref(body.Comment), Revision: revisionOf(body.Revision)})
	if err != nil {
		return err
	}
	return c.JSON(schemaDecisionOf(it))
}

package apiserver

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/crossmap"
	"github.com/portiere/portiere/tenancy"
)

// CrossMappings is a project's cross-mapping runs, pushed and pulled by the
// SDK's CloudStorageBackend (/sync/projects/{id}/cross-mappings[/bulk]).
type CrossMappings struct {
	Projects ProjectFinder
	Runs     crossmap.Store
}

// Routes registers the cross-mapping sync routes on r's protected group.
func (h *CrossMappings) Routes(r *Router) {
	str := openapi.Schema{"type": "string"}
	nstr := openapi.Schema{"type": "string", "nullable": true}
	r.Schema("CrossMappingRun", openapi.Schema{"type": "object", "required": []string{"source_standard", "target_standard", "source_entity"},
		"properties": map[string]any{
			"id": openapi.Schema{"type": "string", "readOnly": true}, "source_standard": str, "target_standard": str, "source_entity": str,
			"target_entity": nstr, "record_count": openapi.Schema{"type": "integer", "minimum": 0}, "status": str,
			"crossmap_file": nstr, "created_at": openapi.Schema{"type": "string", "nullable": true, "description": "The run's time as the SDK wrote it, kept as text"},
			"revision": openapi.Schema{"type": "integer", "nullable": true, "description": "On push: the revision last pulled (409 when stale); omit or null to overwrite"},
		}})
	g := r.Group("/sync/projects").Protected()
	g.Add(fiber.MethodPost, "/:id/cross-mappings/bulk", openapi.Operation{
		Summary: "Push cross-mapping runs (SDK sync)",
		Description: "Writes the SDK's CrossMappingRuns (every key, null when unset). A run is identified by (source_standard, target_standard, " +
			"source_entity, created_at): pushing the same runs again updates them instead of adding copies. A run carrying a `revision` that is " +
			"not the stored one fails the whole push with 409 naming it; nothing of that push is written. Needs a write credential of the project's organization.",
		Tags: []string{"sync"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"items"}, "properties": map[string]any{
			"items": openapi.Schema{"type": "array", "items": openapi.Ref("CrossMappingRun")}}},
		Responses: map[int]openapi.Response{
			200: {Description: "What the push did, and the stored runs", Schema: syncPushResultSchema("CrossMappingRun")},
			403: errResp("Read-only credential"), 404: errResp("No such project"),
			409: errResp("A run's revision is stale"), 422: errResp("Invalid body or run"),
		},
	}, h.push)
	g.Add(fiber.MethodGet, "/:id/cross-mappings", openapi.Operation{
		Summary:     "Pull a project's cross-mapping runs (SDK sync)",
		Description: "Every run of the project in the SDK's CrossMappingRun shape, plus the server's `id` and `revision`.",
		Tags:        []string{"sync"},
		Responses: map[int]openapi.Response{
			200: {Description: "The runs", Schema: syncItemsSchema("CrossMappingRun")},
			403: errResp("The credential cannot read this project"), 404: errResp("No such project"),
		},
	}, h.pull)
}

// crossRun is a run as the sync routes return it: the SDK's
// CrossMappingRun (all eight keys, null when unset) plus id and revision.
type crossRun struct {
	ID             string  `json:"id"`
	SourceStandard string  `json:"source_standard"`
	TargetStandard string  `json:"target_standard"`
	SourceEntity   string  `json:"source_entity"`
	TargetEntity   *string `json:"target_entity"`
	RecordCount    int64   `json:"record_count"`
	Status         string  `json:"status"`
	CrossmapFile   *string `json:"crossmap_file"`
	CreatedAt      *string `json:"created_at"`
	Revision       int     `json:"revision"`
}

func crossRunOf(r crossmap.Run) crossRun {
	return crossRun{ID: strconv.FormatInt(r.ID, 10), SourceStandard: r.SourceStandard, TargetStandard: r.TargetStandard,
		SourceEntity: r.SourceEntity, TargetEntity: nullable(r.TargetEntity), RecordCount: r.RecordCount, Status: r.Status,
		CrossmapFile: nullable(r.CrossmapFile), CreatedAt: r.RunCreatedAt, Revision: r.Revision}
}

// crossRunBody is one pushed CrossMappingRun; id and unknown keys are
// ignored.
type crossRunBody struct {
	SourceStandard *string `json:"source_standard"`
	TargetStandard *string `json:"target_standard"`
	SourceEntity   *string `json:"source_entity"`
	TargetEntity   *string `json:"target_entity"`
	RecordCount    *int64  `json:"record_count"`
	Status         *string `json:"status"`
	CrossmapFile   *string `json:"crossmap_file"`
	CreatedAt      *string `json:"created_at"`
	Revision       *int    `json:"revision"`
}

// run validates b (run i of the push) with the SDK's defaults:
// record_count 0 and status "completed" when null.
func (b crossRunBody) run(i int) (crossmap.Run, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"source_standard", b.SourceStandard}, {"target_standard", b.TargetStandard}, {"source_entity", b.SourceEntity}} {
		if f.v == nil {
			return crossmap.Run{}, pushItemError(i, "field %q is required", f.name)
		}
	}
	r := crossmap.Run{SourceStandard: *b.SourceStandard, TargetStandard: *b.TargetStandard, SourceEntity: *b.SourceEntity,
		TargetEntity: deref(b.TargetEntity), Status: "completed", CrossmapFile: deref(b.CrossmapFile), RunCreatedAt: b.CreatedAt}
	if b.RecordCount != nil {
		r.RecordCount = *b.RecordCount
	}
	if b.Status != nil {
		r.Status = *b.Status
	}
	var err error
	if r.Revision, err = pushedRevision(i, b.Revision); err != nil {
		return r, err
	}
	if err = r.Validate(); err != nil {
		return r, pushItemError(i, "%v", err)
	}
	return r, nil
}

func (h *CrossMappings) push(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanWrite)
	if err != nil {
		return err
	}
	runs, err := decodePushItems(c, itemsRequired, crossRunBody.run)
	if err != nil {
		return err
	}
	res, err := h.Runs.Push(c.UserContext(), project.ID, runs)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged, "items": viewsOf(res.Runs, crossRunOf)})
}

func (h *CrossMappings) pull(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	runs, err := h.Runs.Runs(c.UserContext(), project.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": viewsOf(runs, crossRunOf)})
}

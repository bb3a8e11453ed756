package apiserver

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/workflows"
)

// BulkMappingStarter starts a project's bulk mapping; *workflows.Client is
// one.
type BulkMappingStarter interface {
	StartBulkMapping(ctx context.Context, in workflows.BulkMappingInput) (workflows.Run, error)
}

// Projects is the project resource: today the start of a project's bulk
// mapping (POST /api/v1/projects/{id}/bulk-mapping), for the operator and
// for the project's organization's members with a write credential.
type Projects struct {
	Projects  ProjectFinder
	Workflows BulkMappingStarter
}

// Routes registers the project routes on r's protected group.
func (h *Projects) Routes(r *Router) {
	g := r.Group("/projects").Protected()
	g.Add(fiber.MethodPost, "/:id/bulk-mapping", openapi.Operation{
		Summary:     "Map every source code of a project",
		Description: "Starts the project's BulkMappingWorkflow, or returns the one running. Allowed to the operator (`Authorization: Bearer <ADMIN_TOKEN>`) and to members, admins and owners of the project's organization with a write-scope key (or its access token) not restricted to another project; viewers and read-scope keys get 403, another organization's credentials 404.",
		Tags:        []string{"projects"},
		RequestBody: openapi.Schema{"type": "object", "properties": map[string]any{
			"chunk_size": openapi.Schema{"type": "integer", "minimum": 1, "maximum": 10000},
			"top_k":      openapi.Schema{"type": "integer", "minimum": 1, "maximum": 100},
		}},
		Responses: startedResponses(map[int]openapi.Response{404: errResp("No such project"), 422: errResp("Invalid body")}),
	}, h.startBulkMapping)
}

func (h *Projects) startBulkMapping(c *fiber.Ctx) error {
	var body struct {
		ChunkSize int `json:"chunk_size"`
		TopK      int `json:"top_k"`
	}
	if err := decodeJSON(c, &body, Strict, true); err != nil {
		return err
	}
	if body.ChunkSize < 0 || body.ChunkSize > 10000 || body.TopK < 0 || body.TopK > 100 {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "chunk_size must be in 1..10000 and top_k in 1..100"}
	}
	project, p, err := projectAccess(c, h.Projects, "id")
	if err != nil {
		return err
	}
	id := project.ID
	if !p.Operator {
		if err := p.CanWrite(id); err != nil {
			return err
		}
	}
	r, err := h.Workflows.StartBulkMapping(c.UserContext(), workflows.BulkMappingInput{ProjectID: id, ChunkSize: body.ChunkSize, TopK: body.TopK})
	if err != nil {
		return err
	}
	return accepted(c, r)
}

package apiserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/workflows"
)

// Workflows starts and inspects the Temporal workflows; *workflows.Client
// is one.
type Workflows interface {
	StartIndexBuild(ctx context.Context, in workflows.IndexBuildInput) (workflows.Run, error)
	StartESPopulate(ctx context.Context, in workflows.ESPopulateInput) (workflows.Run, error)
	StartBulkMapping(ctx context.Context, in workflows.BulkMappingInput) (workflows.Run, error)
	State(ctx context.Context, id string) (workflows.State, error)
	Cancel(ctx context.Context, id string) error
}

// Projects says whether a project exists; mappingjobstore.Store is one.
type Projects interface {
	ProjectExists(ctx context.Context, id string) (bool, error)
}

type runDTO struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

type progressDTO struct {
	Total  int64  `json:"total"`
	Done   int64  `json:"done"`
	Auto   int64  `json:"auto"`
	Review int64  `json:"review"`
	Manual int64  `json:"manual"`
	Failed int64  `json:"failed"`
	Status string `json:"status"`
}

type workflowStateDTO struct {
	WorkflowID string       `json:"workflow_id"`
	RunID      string       `json:"run_id"`
	Type       string       `json:"type"`
	Status     string       `json:"status"`
	StartedAt  string       `json:"started_at"`
	ClosedAt   *string      `json:"closed_at"`
	Progress   *progressDTO `json:"progress,omitempty"`
}

func (s *Server) workflowRoutes() {
	str := openapi.Schema{"type": "string"}
	s.doc.AddSchema("WorkflowRun", openapi.Schema{
		"type": "object", "required": []string{"workflow_id", "run_id"},
		"properties": map[string]any{"workflow_id": str, "run_id": str},
	})
	count := openapi.Schema{"type": "integer", "format": "int64"}
	s.doc.AddSchema("WorkflowProgress", openapi.Schema{
		"type": "object",
		"properties": map[string]any{
			"total": count, "done": count, "auto": count, "review": count, "manual": count, "failed": count,
			"status": openapi.Schema{"type": "string", "enum": []string{"running", "completed", "cancelled", "failed"}},
		},
	})
	s.doc.AddSchema("WorkflowState", openapi.Schema{
		"type": "object", "required": []string{"workflow_id", "run_id", "type", "status", "started_at"},
		"properties": map[string]any{
			"workflow_id": str, "run_id": str, "type": str,
			"status":     openapi.Schema{"type": "string", "enum": []string{"running", "completed", "failed", "canceled", "terminated", "continued_as_new", "timed_out"}},
			"started_at": openapi.Schema{"type": "string", "format": "date-time"},
			"closed_at":  openapi.Schema{"type": "string", "format": "date-time", "nullable": true},
			"progress":   openapi.Ref("WorkflowProgress"),
		},
	})
	errResp := func(d string) openapi.Response { return openapi.Response{Description: d, Schema: openapi.Ref("Error")} }
	started := map[int]openapi.Response{
		202: {Description: "Started, or the run already running under the same id", Schema: openapi.Ref("WorkflowRun")},
		401: errResp("Missing or wrong admin token"),
		503: errResp("Temporal is not reachable or not configured"),
	}
	with := func(base map[int]openapi.Response, extra map[int]openapi.Response) map[int]openapi.Response {
		out := map[int]openapi.Response{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	const auth = " Requires `Authorization: Bearer <ADMIN_TOKEN>`."
	s.route(fiber.MethodPost, "/api/v1/workflows/index-build", openapi.Operation{
		Summary:     "Build the dense search index from the live vocabulary",
		Description: "Starts IndexBuildWorkflow; API replicas switch to the new index when it is saved." + auth,
		Tags:        []string{"workflows"}, Responses: started,
	}, s.admin(s.startIndexBuild))
	s.route(fiber.MethodPost, "/api/v1/workflows/es-populate", openapi.Operation{
		Summary:     "Populate Elasticsearch with the live vocabulary and move the alias",
		Description: "Starts ESPopulateWorkflow (needs ELASTICSEARCH_URL)." + auth,
		Tags:        []string{"workflows"},
		Responses:   with(started, map[int]openapi.Response{409: errResp("Elasticsearch is not configured")}),
	}, s.admin(s.startESPopulate))
	s.route(fiber.MethodPost, "/api/v1/projects/:id/bulk-mapping", openapi.Operation{
		Summary:     "Map every source code of a project",
		Description: "Starts the project's BulkMappingWorkflow, or returns the one running." + auth,
		Tags:        []string{"workflows"},
		RequestBody: openapi.Schema{"type": "object", "properties": map[string]any{
			"chunk_size": openapi.Schema{"type": "integer", "minimum": 1, "maximum": 10000},
			"top_k":      openapi.Schema{"type": "integer", "minimum": 1, "maximum": 100},
		}},
		Responses: with(started, map[int]openapi.Response{404: errResp("No such project"), 422: errResp("Invalid body")}),
	}, s.admin(s.startBulkMapping))
	s.route(fiber.MethodGet, "/api/v1/workflows/:id", openapi.Operation{
		Summary: "Status of a workflow, with a bulk mapping's progress", Description: auth[1:],
		Tags: []string{"workflows"},
		Responses: map[int]openapi.Response{
			200: {Description: "The latest run's state", Schema: openapi.Ref("WorkflowState")},
			401: errResp("Missing or wrong admin token"), 404: errResp("No such workflow"),
			503: errResp("Temporal is not reachable or not configured"),
		},
	}, s.admin(s.workflowState))
	s.route(fiber.MethodPost, "/api/v1/workflows/:id/cancel", openapi.Operation{
		Summary:     "Cancel a workflow",
		Description: "A bulk mapping stops after its current chunk and reports status cancelled." + auth,
		Tags:        []string{"workflows"},
		Responses: map[int]openapi.Response{
			202: {Description: "Cancellation requested", Schema: openapi.Ref("WorkflowRun")},
			401: errResp("Missing or wrong admin token"), 404: errResp("No running workflow with this id"),
			503: errResp("Temporal is not reachable or not configured"),
		},
	}, s.admin(s.cancelWorkflow))
}

// admin guards h with the admin token.
func (s *Server) admin(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		want := s.cfg.AdminToken
		got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if want == "" || !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			return &Error{Status: fiber.StatusUnauthorized, Detail: "a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)"}
		}
		if s.cfg.Workflows == nil {
			return &Error{Status: fiber.StatusServiceUnavailable, Detail: "no Temporal client is configured"}
		}
		return h(c)
	}
}

// temporalError hides Temporal's errors behind a 503 (logged by the error
// handler's caller through the returned wrapper).
func (s *Server) temporalError(c *fiber.Ctx, err error) error {
	if errors.Is(err, workflows.ErrNotFound) {
		return &Error{Status: fiber.StatusNotFound, Detail: "no running workflow with id " + c.Params("id")}
	}
	s.cfg.Logger.Error("temporal request failed", "request_id", requestID(c), "path", c.Path(), "error", err)
	return &Error{Status: fiber.StatusServiceUnavailable, Detail: "Temporal is not reachable"}
}

func (s *Server) accepted(c *fiber.Ctx, r workflows.Run) error {
	return c.Status(fiber.StatusAccepted).JSON(runDTO{WorkflowID: r.WorkflowID, RunID: r.RunID})
}

func (s *Server) startIndexBuild(c *fiber.Ctx) error {
	r, err := s.cfg.Workflows.StartIndexBuild(c.UserContext(), workflows.IndexBuildInput{})
	if err != nil {
		return s.temporalError(c, err)
	}
	return s.accepted(c, r)
}

func (s *Server) startESPopulate(c *fiber.Ctx) error {
	if !s.cfg.ElasticsearchConfigured {
		return &Error{Status: fiber.StatusConflict, Detail: "ELASTICSEARCH_URL is not set: the lexical tier is the embedded BM25 index"}
	}
	r, err := s.cfg.Workflows.StartESPopulate(c.UserContext(), workflows.ESPopulateInput{Alias: ElasticsearchAlias})
	if err != nil {
		return s.temporalError(c, err)
	}
	return s.accepted(c, r)
}

func (s *Server) startBulkMapping(c *fiber.Ctx) error {
	var body struct {
		ChunkSize int `json:"chunk_size"`
		TopK      int `json:"top_k"`
	}
	if len(c.Body()) > 0 {
		if err := c.BodyParser(&body); err != nil {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "body must be a JSON object with optional chunk_size and top_k"}
		}
	}
	if body.ChunkSize < 0 || body.ChunkSize > 10000 || body.TopK < 0 || body.TopK > 100 {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "chunk_size must be in 1..10000 and top_k in 1..100"}
	}
	id := c.Params("id")
	if s.cfg.Projects != nil {
		ok, err := s.cfg.Projects.ProjectExists(c.UserContext(), id)
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Status: fiber.StatusNotFound, Detail: "project " + id + " not found"}
		}
	}
	r, err := s.cfg.Workflows.StartBulkMapping(c.UserContext(), workflows.BulkMappingInput{ProjectID: id, ChunkSize: body.ChunkSize, TopK: body.TopK})
	if err != nil {
		return s.temporalError(c, err)
	}
	return s.accepted(c, r)
}

func (s *Server) workflowState(c *fiber.Ctx) error {
	st, err := s.cfg.Workflows.State(c.UserContext(), c.Params("id"))
	if err != nil {
		if errors.Is(err, workflows.ErrNotFound) {
			return &Error{Status: fiber.StatusNotFound, Detail: "no workflow with id " + c.Params("id")}
		}
		return s.temporalError(c, err)
	}
	dto := workflowStateDTO{
		WorkflowID: st.WorkflowID, RunID: st.RunID, Type: st.Type, Status: st.Status,
		StartedAt: st.StartedAt.UTC().Format(time.RFC3339),
	}
	if st.ClosedAt != nil {
		t := st.ClosedAt.UTC().Format(time.RFC3339)
		dto.ClosedAt = &t
	}
	if p := st.Progress; p != nil {
		dto.Progress = &progressDTO{Total: p.Total, Done: p.Done, Auto: p.Auto, Review: p.Review, Manual: p.Manual, Failed: p.Failed, Status: p.Status}
	}
	return c.JSON(dto)
}

func (s *Server) cancelWorkflow(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.cfg.Workflows.Cancel(c.UserContext(), id); err != nil {
		return s.temporalError(c, err)
	}
	return c.Status(fiber.StatusAccepted).JSON(runDTO{WorkflowID: id})
}

package apiserver

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/tenancy"
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

// WorkflowRuns is the workflow resource: starting the index build and
// the Elasticsearch population, and the state and cancellation of any
// workflow. Its routes are the operator's (RequireOperator); an
// organization's owner or admin passes that check too, so the state and
// cancel routes scope them to their own projects' bulk mappings.
type WorkflowRuns struct {
	Workflows Workflows
	// ElasticsearchAlias is the alias the population workflow moves; empty
	// means Elasticsearch is not configured and the population route
	// answers 409.
	ElasticsearchAlias string
	// Projects finds the project a bulk mapping's workflow id names, so an
	// organization's owner reaches only its own projects' mappings; nil
	// leaves bulk mappings to the operator.
	Projects ProjectFinder
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

// Routes registers the workflow routes on r's protected group.
func (h *WorkflowRuns) Routes(r *Router) {
	g := r.Group("/workflows").Protected(RequireOperator())
	str := openapi.Schema{"type": "string"}
	r.Schema("WorkflowRun", openapi.Schema{
		"type": "object", "required": []string{"workflow_id", "run_id"},
		"properties": map[string]any{"workflow_id": str, "run_id": str},
	})
	count := openapi.Schema{"type": "integer", "format": "int64"}
	r.Schema("WorkflowProgress", openapi.Schema{
		"type": "object",
		"properties": map[string]any{
			"total": count, "done": count, "auto": count, "review": count, "manual": count, "failed": count,
			"status": openapi.Schema{"type": "string", "enum": []string{"running", "completed", "cancelled", "failed"}},
		},
	})
	r.Schema("WorkflowState", openapi.Schema{
		"type": "object", "required": []string{"workflow_id", "run_id", "type", "status", "started_at"},
		"properties": map[string]any{
			"workflow_id": str, "run_id": str, "type": str,
			"status":     openapi.Schema{"type": "string", "enum": []string{"running", "completed", "failed", "canceled", "terminated", "continued_as_new", "timed_out"}},
			"started_at": openapi.Schema{"type": "string", "format": "date-time"},
			"closed_at":  openapi.Schema{"type": "string", "format": "date-time", "nullable": true},
			"progress":   openapi.Ref("WorkflowProgress"),
		},
	})
	const auth = " Operator routes: the operator token (`Authorization: Bearer <ADMIN_TOKEN>`), or an organization owner or admin API key with write scope not restricted to a project (or its access token), as `Authorization: Bearer` or `X-Portiere-API-Key`; others get 403."
	g.Add(fiber.MethodPost, "/index-build", openapi.Operation{
		Summary:     "Build the dense search index from the live vocabulary",
		Description: "Starts IndexBuildWorkflow; API replicas switch to the new index when it is saved." + auth,
		Tags:        []string{"workflows"}, Responses: startedResponses(nil),
	}, h.startIndexBuild)
	g.Add(fiber.MethodPost, "/es-populate", openapi.Operation{
		Summary:     "Populate Elasticsearch with the live vocabulary and move the alias",
		Description: "Starts ESPopulateWorkflow (needs ELASTICSEARCH_URL)." + auth,
		Tags:        []string{"workflows"},
		Responses:   startedResponses(map[int]openapi.Response{409: errResp("Elasticsearch is not configured")}),
	}, h.startESPopulate)
	const scoped = " An organization's owner or admin reaches the deployment-wide workflows and its own projects' bulk mappings (`bulk-mapping-{project id}`, and `bulk-mapping-{project id}-source-{source id}` for one source's); any other id is 404 for them."
	g.Add(fiber.MethodGet, "/:id", openapi.Operation{
		Summary: "Status of a workflow, with a bulk mapping's progress", Description: auth[1:] + scoped,
		Tags: []string{"workflows"},
		Responses: map[int]openapi.Response{
			200: {Description: "The latest run's state", Schema: openapi.Ref("WorkflowState")},
			403: errResp("The credentials are not the operator's"), 404: errResp("No such workflow"),
			503: errResp("Temporal is not reachable"),
		},
	}, h.state)
	g.Add(fiber.MethodPost, "/:id/cancel", openapi.Operation{
		Summary:     "Cancel a workflow",
		Description: "A bulk mapping stops after its current chunk and reports status cancelled." + auth + scoped,
		Tags:        []string{"workflows"},
		Responses: map[int]openapi.Response{
			202: {Description: "Cancellation requested", Schema: openapi.Ref("WorkflowRun")},
			403: errResp("The credentials are not the operator's"), 404: errResp("No running workflow with this id"),
			503: errResp("Temporal is not reachable"),
		},
	}, h.cancel)
}

func errResp(d string) openapi.Response {
	return openapi.Response{Description: d, Schema: openapi.Ref("Error")}
}

// startedResponses are the answers of a route that starts a workflow, plus
// extra.
func startedResponses(extra map[int]openapi.Response) map[int]openapi.Response {
	out := map[int]openapi.Response{
		202: {Description: "Started, or the run already running under the same id", Schema: openapi.Ref("WorkflowRun")},
		403: errResp("The credentials are not the operator's"),
		503: errResp("Temporal is not reachable"),
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func accepted(c *fiber.Ctx, r workflows.Run) error {
	return c.Status(fiber.StatusAccepted).JSON(runDTO{WorkflowID: r.WorkflowID, RunID: r.RunID})
}

func (h *WorkflowRuns) startIndexBuild(c *fiber.Ctx) error {
	r, err := h.Workflows.StartIndexBuild(c.UserContext(), workflows.IndexBuildInput{})
	if err != nil {
		return err
	}
	return accepted(c, r)
}

func (h *WorkflowRuns) startESPopulate(c *fiber.Ctx) error {
	if h.ElasticsearchAlias == "" {
		return &Error{Status: fiber.StatusConflict, Detail: "ELASTICSEARCH_URL is not set: the lexical tier is the embedded BM25 index"}
	}
	r, err := h.Workflows.StartESPopulate(c.UserContext(), workflows.ESPopulateInput{Alias: h.ElasticsearchAlias})
	if err != nil {
		return err
	}
	return accepted(c, r)
}

// errNoWorkflow answers a workflow id the caller may not reach exactly as
// one that does not exist.
var errNoWorkflow = &Error{Status: fiber.StatusNotFound, Detail: "workflows: no such workflow"}

// runAccess lets the operator reach every workflow, and an organization's
// owner or admin the deployment-wide ones (index build, Elasticsearch
// population) and the bulk mappings of its own projects. Any other id is
// 404 for them, as if it did not exist: one organization can neither read
// nor cancel another's mapping, nor learn that it exists.
func (h *WorkflowRuns) runAccess(c *fiber.Ctx) error {
	p, _ := PrincipalFrom(c.UserContext())
	id := c.Params("id")
	if p.Operator || id == workflows.IndexBuildWorkflowID || id == workflows.ESPopulateWorkflowID {
		return nil
	}
	project, ok := strings.CutPrefix(id, workflows.BulkMappingWorkflowID(""))
	if !ok || h.Projects == nil {
		return errNoWorkflow
	}
	// A per-source run (workflows.BulkMappingSourceWorkflowID) names its
	// project before "-source-"; project ids are UUIDs, which never hold it.
	project, _, _ = strings.Cut(project, "-source-")
	pr, err := h.Projects.Project(c.UserContext(), project)
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		return errNoWorkflow
	case err != nil:
		return err
	case pr.OrganizationID != p.OrganizationID:
		return errNoWorkflow
	}
	return nil
}

func (h *WorkflowRuns) state(c *fiber.Ctx) error {
	if err := h.runAccess(c); err != nil {
		return err
	}
	st, err := h.Workflows.State(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
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

func (h *WorkflowRuns) cancel(c *fiber.Ctx) error {
	if err := h.runAccess(c); err != nil {
		return err
	}
	id := c.Params("id")
	if err := h.Workflows.Cancel(c.UserContext(), id); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(runDTO{WorkflowID: id})
}

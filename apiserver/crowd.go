package apiserver

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/tenancy"
)

// CrowdService is what the crowd routes need; crowd.Service is one.
type CrowdService interface {
	Submit(ctx context.Context, sub crowd.Submission) ([]crowd.ItemStatus, error)
	Status(ctx context.Context, project string, ids []int64) ([]crowd.ItemStatus, error)
}

// Crowd is the organization's side of Portiere Mapper: a project sends
// open concept-mapping items to the crowd (by id, or its review band of
// confidence) and reads their crowd status; a resolved item comes back
// into the project with method crowd. Sending needs CanDecide (it settles
// items like a reviewer's decision would); reading needs CanRead; another
// organization's project is 404.
type Crowd struct {
	Projects ProjectFinder
	Crowd    CrowdService
}

// Routes registers the crowd routes on r's protected /projects group.
func (h *Crowd) Routes(r *Router) {
	g := r.Group("/projects").Protected()
	tags := []string{"crowd"}
	status := openapi.Schema{"type": "object", "required": []string{"items"}, "properties": map[string]any{
		"items": openapi.Schema{"type": "array", "items": crowdStatusSchema()}}}
	g.Add(fiber.MethodPost, "/:pid/crowd/submissions", openapi.Operation{
		Summary: "Send concept-mapping items to the Portiere Mapper crowd", Tags: tags,
		Description: "Sends `item_ids` (at most 1000), or when absent every open item whose confidence lies in [`min_confidence`, `max_confidence`] " +
			"(the review band), to the crowd. Only open items go (not decided, not awaiting a second reviewer, not flagged); an item sent before " +
			"keeps its task. Approved mappers vote; a reputation-weighted consensus (70 % by default, escalated to experts) decides the item " +
			"with method `crowd`, its provenance under `crowd` and an audit event by `crowd` — unless a reviewer decided it first.",
		RequestBody: openapi.Schema{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"item_ids":       openapi.Schema{"type": "array", "maxItems": crowd.MaxSubmission, "items": openapi.Schema{"type": "integer"}},
			"min_confidence": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1},
			"max_confidence": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1},
		}},
		Responses: map[int]openapi.Response{
			200: {Description: "The crowd status of the items sent", Schema: status},
			403: errResp("Viewer or read-scope credential"), 404: errResp("No such project or item"),
			422: errResp("No ids and no band, an invalid band, too many items, or items already decided (named)"),
		},
	}, h.submit)
	g.Add(fiber.MethodGet, "/:pid/crowd/items", openapi.Operation{
		Summary: "The crowd status of a project's items", Tags: tags,
		Description: "Every item of the project sent to the crowd, or those of `ids` (comma-separated item ids): `state` open, escalated " +
			"(to expert reviewers) or resolved, votes, the leading answer's weighted agreement, the resolution (`concept_id` 0: no valid " +
			"mapping) and whether it was written back to the item.",
		Responses: map[int]openapi.Response{
			200: {Description: "The statuses", Schema: status},
			404: errResp("No such project"), 422: errResp("An id that is not an integer"),
		},
	}, h.status)
}

func crowdStatusSchema() openapi.Schema {
	return openapi.Schema{"type": "object", "properties": map[string]any{
		"item_id": openapi.Schema{"type": "integer"}, "task_id": openapi.Schema{"type": "integer"},
		"state":     openapi.Schema{"type": "string", "enum": []string{"open", "escalated", "resolved"}},
		"votes":     openapi.Schema{"type": "integer"},
		"agreement": openapi.Schema{"type": "number"},
		"resolution": openapi.Schema{"type": "object", "nullable": true, "properties": map[string]any{
			"concept_id": openapi.Schema{"type": "integer"}}},
		"resolved_at":  openapi.Schema{"type": "string", "format": "date-time", "nullable": true},
		"written_back": openapi.Schema{"type": "boolean"},
	}}
}

type crowdStatusDTO struct {
	ItemID      int64           `json:"item_id"`
	TaskID      int64           `json:"task_id"`
	State       string          `json:"state"`
	Votes       int             `json:"votes"`
	Agreement   float64         `json:"agreement"`
	Resolution  *crowdAnswerDTO `json:"resolution"`
	ResolvedAt  any             `json:"resolved_at"`
	WrittenBack bool            `json:"written_back"`
}

type crowdAnswerDTO struct {
	ConceptID int32 `json:"concept_id"`
}

func crowdStatuses(in []crowd.ItemStatus) fiber.Map {
	out := make([]crowdStatusDTO, len(in))
	for i, s := range in {
		d := crowdStatusDTO{ItemID: s.ItemID, TaskID: s.TaskID, State: string(s.State), Votes: s.Votes, Agreement: s.Agreement, WrittenBack: s.WrittenBack}
		if s.Resolution != nil {
			d.Resolution = &crowdAnswerDTO{ConceptID: s.Resolution.ConceptID}
		}
		if s.ResolvedAt != nil {
			d.ResolvedAt = s.ResolvedAt.UTC()
		}
		out[i] = d
	}
	return fiber.Map{"items": out}
}

func (h *Crowd) submit(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanDecide)
	if err != nil {
		return err
	}
	var body struct {
		ItemIDs       []int64  `json:"item_ids"`
		MinConfidence *float64 `json:"min_confidence"`
		MaxConfidence *float64 `json:"max_confidence"`
	}
	if err := decodeJSON(c, &body, Strict, false); err != nil {
		return err
	}
	sub := crowd.Submission{OrganizationID: project.OrganizationID, ProjectID: project.ID, ItemIDs: body.ItemIDs, SubmittedBy: actorOf(p)}
	if len(body.ItemIDs) == 0 {
		if body.MinConfidence == nil || body.MaxConfidence == nil {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "send item_ids, or min_confidence and max_confidence (the review band)"}
		}
		sub.MinConfidence, sub.MaxConfidence = *body.MinConfidence, *body.MaxConfidence
	} else if body.MinConfidence != nil || body.MaxConfidence != nil {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "send item_ids or a confidence band, not both"}
	}
	st, err := h.Crowd.Submit(c.UserContext(), sub)
	if err != nil {
		return err
	}
	return c.JSON(crowdStatuses(st))
}

func (h *Crowd) status(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "pid", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	var ids []int64
	if q := strings.TrimSpace(c.Query("ids")); q != "" {
		for _, s := range strings.Split(q, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || id <= 0 {
				return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf("ids: %q is not an item id", s)}
			}
			ids = append(ids, id)
		}
	}
	st, err := h.Crowd.Status(c.UserContext(), project.ID, ids)
	if err != nil {
		return err
	}
	return c.JSON(crowdStatuses(st))
}

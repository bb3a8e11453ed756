package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/workflows"
)

// ProjectStore is what the project routes need of tenancy;
// tenancystore.Store is one.
type ProjectStore interface {
	ProjectFinder
	CreateProject(ctx context.Context, p tenancy.Project) (tenancy.Project, error)
	Projects(ctx context.Context, orgID string) ([]tenancy.Project, error)
	UpdateProjectSettings(ctx context.Context, id string, s tenancy.Settings) (tenancy.Project, error)
	DeleteProject(ctx context.Context, id string) error
}

// ProjectCatalog is the project resource itself, in the Portiere SDK's
// shapes: create, list, read and delete projects, and read and change
// their mapping settings.
type ProjectCatalog struct {
	Projects ProjectStore
	// Metering, when set, checks the plan's project count before a project
	// is created (429 QUOTA_EXCEEDED); nil creates without a limit.
	Metering Metering
}

// projectDTO is a project as the SDK reads it (Client.get_project,
// list_projects; CloudStorageBackend reads task, source_standard and
// created_at), with its settings.
type projectDTO struct {
	ID             string      `json:"id"`
	OrganizationID string      `json:"organization_id"`
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	TargetModel    string      `json:"target_model"`
	Vocabularies   []string    `json:"vocabularies"`
	Task           string      `json:"task"`
	SourceStandard *string     `json:"source_standard"`
	Status         string      `json:"status"`
	CreatedAt      time.Time   `json:"created_at"`
	Settings       settingsDTO `json:"settings"`
}

// settingsDTO is a project's mapping settings.
type settingsDTO struct {
	Vocabularies    []string `json:"vocabularies"`
	Domains         []string `json:"domains"`
	AutoThreshold   float64  `json:"auto_threshold"`
	ReviewThreshold float64  `json:"review_threshold"`
	SecondReviewer  string   `json:"second_reviewer"`
}

func settingsOf(s tenancy.Settings) settingsDTO {
	rule := string(s.SecondReviewer)
	if rule == "" {
		rule = string(tenancy.SecondReviewerNone)
	}
	return settingsDTO{Vocabularies: nonNil(s.Vocabularies), Domains: nonNil(s.Domains),
		AutoThreshold: s.AutoThreshold, ReviewThreshold: s.ReviewThreshold, SecondReviewer: rule}
}

func projectOf(p tenancy.Project) projectDTO {
	d := projectDTO{ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Description: p.Description,
		TargetModel: p.TargetModel, Vocabularies: nonNil(p.Settings.Vocabularies), Task: p.Task, Status: p.Status,
		CreatedAt: p.CreatedAt, Settings: settingsOf(p.Settings)}
	if p.SourceStandard != "" {
		d.SourceStandard = &p.SourceStandard
	}
	return d
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

var (
	settingsSchema = openapi.Schema{"type": "object", "properties": map[string]any{
		"vocabularies":     openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}, "description": "vocabulary ids the search is restricted to; empty: any"},
		"domains":          openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}, "description": "domain ids the search is restricted to; empty: any"},
		"auto_threshold":   openapi.Schema{"type": "number", "minimum": 0, "maximum": 1},
		"review_threshold": openapi.Schema{"type": "number", "minimum": 0, "maximum": 1, "description": "at most auto_threshold; both 0: the engine's calibrated routing"},
		"second_reviewer":  openapi.Schema{"type": "string", "enum": []string{"none", "overrides", "all"}},
	}}
	projectSchema = openapi.Schema{"type": "object", "required": []string{"id", "name", "target_model", "vocabularies"}, "properties": map[string]any{
		"id": openapi.Schema{"type": "string"}, "organization_id": openapi.Schema{"type": "string"},
		"name": openapi.Schema{"type": "string"}, "description": openapi.Schema{"type": "string"},
		"target_model": openapi.Schema{"type": "string", "enum": tenancy.TargetModels()},
		"vocabularies": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}},
		"task":         openapi.Schema{"type": "string"}, "source_standard": openapi.Schema{"type": "string", "nullable": true},
		"status": openapi.Schema{"type": "string"}, "created_at": openapi.Schema{"type": "string", "format": "date-time"},
		"settings": settingsSchema,
	}}
)

// Routes registers the project routes on r's protected group.
func (h *ProjectCatalog) Routes(r *Router) {
	g := r.Group("/projects").Protected()
	g.Add(fiber.MethodPost, "", openapi.Operation{
		Summary: "Create a project",
		Description: "The SDK's Client.create_project / CloudStorageBackend.create_project body; every key but name may be null or absent. " +
			"target_model defaults to omop_cdm_v5.4, task to standardize; vocabularies become the project's search restriction. " +
			"Allowed to members, admins and owners with a write-scope credential that is not restricted to one project " +
			"(a project key cannot create projects: it would reach nothing it creates); viewers, read-scope keys, project keys " +
			"and the operator token (which acts for no organization) get 403. A name the organization already uses is 409.",
		Tags: []string{"projects"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"name"}, "properties": map[string]any{
			"name":            openapi.Schema{"type": "string"},
			"target_model":    openapi.Schema{"type": "string", "enum": tenancy.TargetModels(), "nullable": true},
			"vocabularies":    openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}, "nullable": true},
			"description":     openapi.Schema{"type": "string", "nullable": true},
			"task":            openapi.Schema{"type": "string", "nullable": true},
			"source_standard": openapi.Schema{"type": "string", "nullable": true},
		}},
		Responses: map[int]openapi.Response{
			201: {Description: "The project", Schema: projectSchema},
			403: errResp("Viewer, read-scope key, project key or operator token"),
			409: errResp("The organization has a project with this name"),
			422: errResp("Invalid body: the detail names the field"),
			429: errResp("The plan's project limit is reached"),
		},
	}, h.create)
	g.Add(fiber.MethodGet, "", openapi.Operation{
		Summary:     "List the organization's projects",
		Description: "Every project of the caller's organization, by name; a key restricted to one project sees only that project. Any member may list.",
		Tags:        []string{"projects"},
		Responses: map[int]openapi.Response{
			200: {Description: "Projects", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"projects": openapi.Schema{"type": "array", "items": projectSchema}}}},
			403: errResp("The operator token acts for no organization"),
		},
	}, h.list)
	g.Add(fiber.MethodGet, "/:id", openapi.Operation{
		Summary: "A project", Description: "Any member of the project's organization; another organization's project is 404.",
		Tags: []string{"projects"},
		Responses: map[int]openapi.Response{
			200: {Description: "The project", Schema: projectSchema},
			403: errResp("A key restricted to another project"), 404: errResp("No such project"),
		},
	}, h.get)
	g.Add(fiber.MethodDelete, "/:id", openapi.Operation{
		Summary: "Delete a project with everything it owns",
		Description: "Deletes the project, its sources and source codes, mapping items, review history and project-restricted API keys, in one statement. " +
			"Admins and owners with a write-scope credential, and the operator. Answers the deleted project's id (JSON: the SDK decodes every answer). " +
			"A bulk mapping still running for it stops at its next chunk, finding no codes.",
		Tags: []string{"projects"},
		Responses: map[int]openapi.Response{
			200: {Description: "Deleted", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"id": openapi.Schema{"type": "string"}, "deleted": openapi.Schema{"type": "boolean"}}}},
			403: errResp("Not an admin or owner, or a read-scope key"), 404: errResp("No such project"),
		},
	}, h.delete)
	g.Add(fiber.MethodGet, "/:id/settings", openapi.Operation{
		Summary: "A project's mapping settings", Description: "Any member of the project's organization.",
		Tags: []string{"projects"},
		Responses: map[int]openapi.Response{
			200: {Description: "Settings", Schema: settingsSchema}, 404: errResp("No such project"),
		},
	}, h.settings)
	g.Add(fiber.MethodPatch, "/:id/settings", openapi.Operation{
		Summary: "Change a project's mapping settings",
		Description: "Strict body: unknown fields are 422. Absent or null fields keep their value. Thresholds lie in 0..1 with review_threshold <= auto_threshold. " +
			"Admins and owners with a write-scope credential, and the operator.",
		Tags:        []string{"projects"},
		RequestBody: settingsSchema,
		Responses: map[int]openapi.Response{
			200: {Description: "The settings now", Schema: settingsSchema},
			403: errResp("Not an admin or owner, or a read-scope key"), 404: errResp("No such project"),
			422: errResp("Invalid body: the detail names the field"),
		},
	}, h.updateSettings)
}

func unprocessable(format string, args ...any) *Error {
	return &Error{Status: fiber.StatusUnprocessableEntity, Detail: fmt.Sprintf(format, args...)}
}

func forbiddenDetail(detail string) *Error {
	return &Error{Status: fiber.StatusForbidden, Detail: detail}
}

// maxNameLength bounds project and source names.
const maxNameLength = 200

func (h *ProjectCatalog) create(c *fiber.Ctx) error {
	p, _ := PrincipalFrom(c.UserContext())
	// Members and above write; CanWrite("") lets a project-restricted key
	// through (organization-level reads are allowed to it), so that one
	// is refused here: a project it creates would be out of its reach.
	if err := p.CanWrite(""); err != nil {
		return err
	}
	if p.ProjectID != "" {
		return forbiddenDetail("this API key is restricted to one project and cannot create projects")
	}
	var body struct {
		Name           *string  `json:"name"`
		TargetModel    *string  `json:"target_model"`
		Vocabularies   []string `json:"vocabularies"`
		Description    *string  `json:"description"`
		Task           *string  `json:"task"`
		SourceStandard *string  `json:"source_standard"`
	}
	if err := decodeJSON(c, &body, Lenient, false); err != nil {
		return err
	}
	name := strings.TrimSpace(deref(body.Name))
	switch {
	case name == "":
		return unprocessable("field \"name\" is required and must not be empty")
	case len(name) > maxNameLength:
		return unprocessable("field \"name\" is longer than %d bytes", maxNameLength)
	}
	target := strings.TrimSpace(deref(body.TargetModel))
	if target == "" {
		target = tenancy.TargetOMOP54
	}
	if !slices.Contains(tenancy.TargetModels(), target) {
		return unprocessable("field \"target_model\" must be one of %s, not %q", strings.Join(tenancy.TargetModels(), ", "), target)
	}
	vocabularies, err := cleanList("vocabularies", body.Vocabularies)
	if err != nil {
		return err
	}
	if h.Metering != nil && p.OrganizationID != "" {
		if err := h.Metering.Check(c.UserContext(), p.OrganizationID, billing.Projects, 1); err != nil {
			return err
		}
	}
	created, err := h.Projects.CreateProject(c.UserContext(), tenancy.Project{
		OrganizationID: p.OrganizationID, Name: name, Description: deref(body.Description),
		TargetModel: target, Task: strings.TrimSpace(deref(body.Task)), SourceStandard: strings.TrimSpace(deref(body.SourceStandard)),
		Settings: tenancy.Settings{Vocabularies: vocabularies}, CreatedBy: p.UserID,
	})
	if errors.Is(err, tenancy.ErrConflict) {
		return &Error{Status: fiber.StatusConflict, Detail: fmt.Sprintf("a project named %q already exists in this organization", name)}
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(projectOf(created))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// cleanList trims the entries of a list field and refuses empty ones.
func cleanList(field string, l []string) ([]string, error) {
	out := make([]string, 0, len(l))
	for i, v := range l {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, unprocessable("field %q: entry %d is empty", field, i)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (h *ProjectCatalog) list(c *fiber.Ctx) error {
	p, _ := PrincipalFrom(c.UserContext())
	if err := p.CanRead(""); err != nil {
		return err
	}
	all, err := h.Projects.Projects(c.UserContext(), p.OrganizationID)
	if err != nil {
		return err
	}
	out := make([]projectDTO, 0, len(all))
	for _, pr := range all {
		if p.ProjectID == "" || p.ProjectID == pr.ID {
			out = append(out, projectOf(pr))
		}
	}
	return c.JSON(fiber.Map{"projects": out})
}

func (h *ProjectCatalog) get(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	return c.JSON(projectOf(project))
}

func (h *ProjectCatalog) delete(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanAdminProject)
	if err != nil {
		return err
	}
	if err := h.Projects.DeleteProject(c.UserContext(), project.ID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": project.ID, "deleted": true})
}

func (h *ProjectCatalog) settings(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	return c.JSON(settingsOf(project.Settings))
}

func (h *ProjectCatalog) updateSettings(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanAdminProject)
	if err != nil {
		return err
	}
	var body struct {
		Vocabularies    *[]string `json:"vocabularies"`
		Domains         *[]string `json:"domains"`
		AutoThreshold   *float64  `json:"auto_threshold"`
		ReviewThreshold *float64  `json:"review_threshold"`
		SecondReviewer  *string   `json:"second_reviewer"`
	}
	if err := decodeJSON(c, &body, Strict, false); err != nil {
		return err
	}
	s := project.Settings
	if body.Vocabularies != nil {
		if s.Vocabularies, err = cleanList("vocabularies", *body.Vocabularies); err != nil {
			return err
		}
	}
	if body.Domains != nil {
		if s.Domains, err = cleanList("domains", *body.Domains); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		field string
		v     *float64
		dst   *float64
	}{{"auto_threshold", body.AutoThreshold, &s.AutoThreshold}, {"review_threshold", body.ReviewThreshold, &s.ReviewThreshold}} {
		if t.v == nil {
			continue
		}
		if *t.v < 0 || *t.v > 1 {
			return unprocessable("field %q must be between 0 and 1, not %g", t.field, *t.v)
		}
		*t.dst = *t.v
	}
	if s.ReviewThreshold > s.AutoThreshold {
		return unprocessable("field \"review_threshold\" (%g) must not exceed auto_threshold (%g)", s.ReviewThreshold, s.AutoThreshold)
	}
	if body.SecondReviewer != nil {
		rule := tenancy.SecondReviewer(*body.SecondReviewer)
		switch rule {
		case tenancy.SecondReviewerNone, tenancy.SecondReviewerOverrides, tenancy.SecondReviewerAll:
			s.SecondReviewer = rule
		default:
			return unprocessable("field \"second_reviewer\" must be none, overrides or all, not %q", *body.SecondReviewer)
		}
	}
	updated, err := h.Projects.UpdateProjectSettings(c.UserContext(), project.ID, s)
	if err != nil {
		return err
	}
	return c.JSON(settingsOf(updated.Settings))
}

// BulkMappingStarter starts a project's bulk mapping; *workflows.Client is
// one.
type BulkMappingStarter interface {
	StartBulkMapping(ctx context.Context, in workflows.BulkMappingInput) (workflows.Run, error)
}

// SourceFinder returns a project's source; mappingjobstore.Store is one.
type SourceFinder interface {
	Source(ctx context.Context, project, id string) (mappingjob.Source, error)
}

// Projects is the start of a project's bulk mapping (POST
// /api/v1/projects/{id}/bulk-mapping), for the operator and for the
// project's organization's members with a write credential. It needs
// Temporal, so the composition root lists it only when Temporal is
// configured; ProjectCatalog holds the rest of the project routes.
type Projects struct {
	Projects  ProjectFinder
	Workflows BulkMappingStarter
	// Sources resolves the body's source_id; nil refuses source_id.
	Sources SourceFinder
}

// Routes registers the project routes on r's protected group.
func (h *Projects) Routes(r *Router) {
	g := r.Group("/projects").Protected()
	g.Add(fiber.MethodPost, "/:id/bulk-mapping", openapi.Operation{
		Summary: "Map the source codes of a project, or of one of its sources",
		Description: "Starts the project's BulkMappingWorkflow, or returns the one running. With source_id only that source's codes are mapped, " +
			"in a run of its own (workflow id bulk-mapping-{project}-source-{source}); without it every code of the project. " +
			"Allowed to the operator (`Authorization: Bearer <ADMIN_TOKEN>`) and to members, admins and owners of the project's organization with a write-scope key (or its access token) not restricted to another project; viewers and read-scope keys get 403, another organization's credentials 404.",
		Tags: []string{"projects"},
		RequestBody: openapi.Schema{"type": "object", "properties": map[string]any{
			"chunk_size": openapi.Schema{"type": "integer", "minimum": 1, "maximum": 10000},
			"top_k":      openapi.Schema{"type": "integer", "minimum": 1, "maximum": 100},
			"source_id":  openapi.Schema{"type": "string", "nullable": true, "description": "map only this uploaded source's codes"},
		}},
		Responses: startedResponses(map[int]openapi.Response{404: errResp("No such project or source"), 422: errResp("Invalid body")}),
	}, h.startBulkMapping)
}

func (h *Projects) startBulkMapping(c *fiber.Ctx) error {
	var body struct {
		ChunkSize int     `json:"chunk_size"`
		TopK      int     `json:"top_k"`
		SourceID  *string `json:"source_id"`
	}
	if err := decodeJSON(c, &body, Strict, true); err != nil {
		return err
	}
	if body.ChunkSize < 0 || body.ChunkSize > 10000 || body.TopK < 0 || body.TopK > 100 {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "chunk_size must be in 1..10000 and top_k in 1..100"}
	}
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanWrite)
	if err != nil {
		return err
	}
	id := project.ID
	in := workflows.BulkMappingInput{ProjectID: id, OrganizationID: project.OrganizationID, ChunkSize: body.ChunkSize, TopK: body.TopK}
	if sid := strings.TrimSpace(deref(body.SourceID)); sid != "" {
		if h.Sources == nil {
			return unprocessable("field \"source_id\" is not supported by this server")
		}
		src, err := h.Sources.Source(c.UserContext(), id, sid)
		if errors.Is(err, mappingjob.ErrNotFound) {
			return &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("project has no source %q", sid)}
		}
		if err != nil {
			return err
		}
		if src.Kind != mappingjob.SourceUpload {
			return unprocessable("source %q is a registration of a client-side file: the server holds none of its codes (upload the CSV, or map it with the SDK)", src.Name)
		}
		in.SourceID = src.ID
	}
	r, err := h.Workflows.StartBulkMapping(c.UserContext(), in)
	if err != nil {
		return err
	}
	return accepted(c, r)
}

package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/sourcefile"
	"github.com/portiere/portiere/tenancy"
)

// SourceStore keeps a project's sources; mappingjobstore.Store is one.
type SourceStore interface {
	SourceFinder
	CreateSource(ctx context.Context, src mappingjob.Source, codes []mappingjob.SourceCode) (mappingjob.Source, error)
	Sources(ctx context.Context, project string) ([]mappingjob.Source, error)
}

// Sources is a project's sources: the upload of a CSV of source codes
// (multipart, streamed, parsed by sourcefile, stored in one transaction)
// and the SDK's registration of a client-side file (JSON), both on POST
// /projects/{id}/sources, dispatched on Content-Type; and their listing.
type Sources struct {
	Projects ProjectFinder
	Sources  SourceStore
	// MaxBytes bounds an uploaded file (UPLOAD_MAX_BYTES); 0 means
	// sourcefile.DefaultMaxBytes.
	MaxBytes int64
	// Slots bounds each organization's uploads in progress (429 past
	// it); the composition root shares one with the dashboard. Nil uses
	// a set of the handler's own with the default limit.
	Slots *mappingjob.UploadSlots

	ownSlots mappingjob.UploadSlots
}

// multipartOverhead is what a multipart body may hold beside the file:
// boundaries, part headers and the small form fields.
const multipartOverhead = 64 << 10

// maxFormField bounds one non-file form field.
const maxFormField = 1 << 10

// sourceDTO is a source as the API answers it; the SDK's add_source reads
// id.
type sourceDTO struct {
	ID            string            `json:"id"`
	ProjectID     string            `json:"project_id"`
	Name          string            `json:"name"`
	Format        string            `json:"format"`
	Kind          string            `json:"kind"`
	Path          *string           `json:"path"`
	Rows          int64             `json:"rows"`
	DistinctCodes int64             `json:"distinct_codes"`
	TotalCount    int64             `json:"total_count"`
	Delimiter     *string           `json:"delimiter"`
	Header        []string          `json:"header"`
	Columns       map[string]string `json:"columns"`
	CreatedAt     time.Time         `json:"created_at"`
}

func sourceOf(s mappingjob.Source) sourceDTO {
	d := sourceDTO{ID: s.ID, ProjectID: s.ProjectID, Name: s.Name, Format: s.Format, Kind: s.Kind,
		Rows: s.Rows, DistinctCodes: s.DistinctCodes, TotalCount: s.TotalCount, Header: nonNil(s.Header),
		Columns: map[string]string{}, CreatedAt: s.CreatedAt}
	if s.Path != "" {
		d.Path = &s.Path
	}
	if s.Delimiter != "" {
		d.Delimiter = &s.Delimiter
	}
	for role, name := range map[string]string{
		"code": s.Columns.Code, "description": s.Columns.Description, "count": s.Columns.Count, "specimen": s.Columns.Specimen,
		"unit": s.Columns.Unit, "domain": s.Columns.DomainHint, "category": s.Columns.Category,
	} {
		if name != "" {
			d.Columns[role] = name
		}
	}
	return d
}

var sourceSchema = openapi.Schema{"type": "object", "required": []string{"id"}, "properties": map[string]any{
	"id": openapi.Schema{"type": "string"}, "project_id": openapi.Schema{"type": "string"}, "name": openapi.Schema{"type": "string"},
	"format":         openapi.Schema{"type": "string", "enum": []string{"csv", "parquet", "json"}},
	"kind":           openapi.Schema{"type": "string", "enum": []string{mappingjob.SourceUpload, mappingjob.SourceRegistration}},
	"path":           openapi.Schema{"type": "string", "nullable": true},
	"rows":           openapi.Schema{"type": "integer", "description": "data rows read (blank rows skipped)"},
	"distinct_codes": openapi.Schema{"type": "integer"},
	"total_count":    openapi.Schema{"type": "integer", "description": "sum of the codes' counts (the count column, or 1 a row)"},
	"delimiter":      openapi.Schema{"type": "string", "nullable": true},
	"header":         openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}},
	"columns": openapi.Schema{"type": "object", "description": "header column used for each role: code, description, count, specimen, unit, domain, category",
		"additionalProperties": openapi.Schema{"type": "string"}},
	"created_at": openapi.Schema{"type": "string", "format": "date-time"},
}}

// uploadFields are the optional form fields of an upload naming a column
// for a role; they must come before the file part, since the file is
// parsed as it streams in.
var uploadFields = map[string]func(*sourcefile.Columns) *string{
	"code_column":        func(c *sourcefile.Columns) *string { return &c.Code },
	"description_column": func(c *sourcefile.Columns) *string { return &c.Description },
	"count_column":       func(c *sourcefile.Columns) *string { return &c.Count },
	"specimen_column":    func(c *sourcefile.Columns) *string { return &c.Specimen },
	"unit_column":        func(c *sourcefile.Columns) *string { return &c.Unit },
	"domain_column":      func(c *sourcefile.Columns) *string { return &c.DomainHint },
	"category_column":    func(c *sourcefile.Columns) *string { return &c.Category },
}

// uploadFieldOrder lists uploadFields for messages and documentation.
var uploadFieldOrder = []string{"code_column", "description_column", "count_column", "specimen_column", "unit_column", "domain_column", "category_column"}

// Routes registers the source routes on r's protected group.
func (h *Sources) Routes(r *Router) {
	g := r.Group("/projects").Protected()
	formProps := map[string]any{
		"file": openapi.Schema{"type": "string", "format": "binary", "description": "the CSV: UTF-8 with or without BOM; comma, semicolon or tab (detected); a header naming a code and a description column"},
		"name": openapi.Schema{"type": "string", "description": "the source's name, unique in the project; default: the file's name"},
	}
	for _, f := range uploadFieldOrder {
		formProps[f] = openapi.Schema{"type": "string", "description": "header of the column holding this field (default: detected from common names); send before file"}
	}
	formProps["description_as_code"] = openapi.Schema{"type": "boolean", "description": "a row without a code uses its description as the code (free-text sources); send before file"}
	g.AddStreamed(fiber.MethodPost, "/:id/sources", openapi.Operation{
		Summary: "Upload a CSV of source codes, or register a client-side file",
		Description: "Two forms, by Content-Type. multipart/form-data: field `file` is a CSV of source codes, streamed and parsed as it arrives " +
			"(UTF-8 with or without BOM; comma, semicolon or tab detected; a code and a description column, optional count, specimen, unit, " +
			"domain and category columns, recognised by common header names or named by the *_column fields, which must precede the file). " +
			"The answer counts rows, distinct codes and summed counts. The whole upload is stored in one transaction: a malformed row " +
			"(422 naming every bad line), a wrong encoding (422), a missing column (422), an empty file (422) or a file above UPLOAD_MAX_BYTES (413) stores nothing. " +
			"application/json `{name, path, format}` is the SDK's Project.add_source: it registers a file the SDK keeps client-side (no codes are stored); " +
			"registering the same name, path and format again answers the existing source. " +
			"Members, admins and owners with a write-scope credential, and the operator; a name the project already has is 409.",
		Tags: []string{"sources"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"name"}, "properties": map[string]any{
			"name":   openapi.Schema{"type": "string"},
			"path":   openapi.Schema{"type": "string", "nullable": true},
			"format": openapi.Schema{"type": "string", "enum": []string{"csv", "parquet", "json"}, "nullable": true},
		}},
		RequestForms: map[string]openapi.Schema{"multipart/form-data": {"type": "object", "required": []string{"file"}, "properties": formProps}},
		Responses: map[int]openapi.Response{
			200: {Description: "The registration already existed", Schema: sourceSchema},
			201: {Description: "The source", Schema: sourceSchema},
			403: errResp("Viewer or read-scope key"), 404: errResp("No such project"),
			409: errResp("The project has a source with this name"),
			413: errResp("The file exceeds UPLOAD_MAX_BYTES, or has more rows or columns than sourcefile's limits"),
			429: errResp("The organization already has its limit of uploads in progress (Retry-After)"),
			415: errResp("Neither multipart/form-data nor JSON"),
			422: errResp("Malformed rows (by line), wrong encoding, missing column, empty file, or an invalid field"),
		},
	}, h.create)
	g.Add(fiber.MethodGet, "/:id/sources", openapi.Operation{
		Summary: "A project's sources", Description: "Oldest first. Any member of the project's organization.",
		Tags: []string{"sources"},
		Responses: map[int]openapi.Response{
			200: {Description: "Sources", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"sources": openapi.Schema{"type": "array", "items": sourceSchema}}}},
			404: errResp("No such project"),
		},
	}, h.list)
	g.Add(fiber.MethodGet, "/:id/sources/:source_id", openapi.Operation{
		Summary: "A source", Description: "Any member of the project's organization.",
		Tags: []string{"sources"},
		Responses: map[int]openapi.Response{
			200: {Description: "The source", Schema: sourceSchema}, 404: errResp("No such project or source"),
		},
	}, h.get)
}

func (h *Sources) create(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanWrite)
	if err != nil {
		return err
	}
	mediaType, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	switch mediaType {
	case fiber.MIMEMultipartForm:
		slots := h.Slots
		if slots == nil {
			slots = &h.ownSlots
		}
		release, err := slots.Acquire(project.OrganizationID)
		if err != nil {
			// The body is left unread: the connection cannot carry
			// another request.
			c.Context().SetConnectionClose()
			c.Set(fiber.HeaderRetryAfter, "5")
			return &Error{Status: fiber.StatusTooManyRequests, Detail: strings.TrimPrefix(err.Error(), "mappingjob: ")}
		}
		defer release()
		return h.upload(c, project.ID, p.UserID)
	case fiber.MIMEApplicationJSON, "":
		return h.register(c, project.ID, p.UserID)
	}
	return &Error{Status: fiber.StatusUnsupportedMediaType,
		Detail: fmt.Sprintf("Content-Type %q: send multipart/form-data with a file field (a CSV upload) or application/json {name, path, format} (a registration)", mediaType)}
}

// register is the SDK's Project.add_source: a name, a client-side path
// and a format, no codes.
func (h *Sources) register(c *fiber.Ctx, project, user string) error {
	b, err := readBody(c, jsonBodyLimit)
	if err != nil {
		return err
	}
	if b != nil {
		c.Request().SetBodyRaw(b)
	}
	var body struct {
		Name   *string `json:"name"`
		Path   *string `json:"path"`
		Format *string `json:"format"`
	}
	if err := decodeJSON(c, &body, Lenient, false); err != nil {
		return err
	}
	name, err := sourceName(deref(body.Name))
	if err != nil {
		return err
	}
	p := strings.TrimSpace(deref(body.Path))
	format := strings.ToLower(strings.TrimSpace(deref(body.Format)))
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(path.Ext(p)), ".")
	}
	switch format {
	case "csv", "parquet", "json":
	case "":
		format = "csv"
	default:
		return unprocessable("field \"format\" must be csv, parquet or json, not %q", format)
	}
	src, err := h.Sources.CreateSource(c.UserContext(), mappingjob.Source{ProjectID: project, Name: name, Format: format,
		Kind: mappingjob.SourceRegistration, Path: p, CreatedBy: user}, nil)
	if errors.Is(err, mappingjob.ErrSourceExists) {
		// The SDK registers again whenever its script runs again: the same
		// registration is the existing source, not a conflict.
		if same, ok := h.sameRegistration(c.UserContext(), project, name, p, format); ok {
			return c.JSON(sourceOf(same))
		}
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sourceOf(src))
}

func (h *Sources) sameRegistration(ctx context.Context, project, name, p, format string) (mappingjob.Source, bool) {
	all, err := h.Sources.Sources(ctx, project)
	if err != nil {
		return mappingjob.Source{}, false
	}
	for _, s := range all {
		if s.Name == name && s.Kind == mappingjob.SourceRegistration && s.Path == p && s.Format == format {
			return s, true
		}
	}
	return mappingjob.Source{}, false
}

func sourceName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", unprocessable("field \"name\" is required and must not be empty")
	case len(name) > maxNameLength:
		return "", unprocessable("field \"name\" is longer than %d bytes", maxNameLength)
	}
	return name, nil
}

// upload reads a multipart body as a stream: small form fields, then the
// file part, parsed by sourcefile as it arrives (never held whole), then
// stores the source and its codes in one transaction.
func (h *Sources) upload(c *fiber.Ctx, project, user string) error {
	limit := h.MaxBytes
	if limit <= 0 {
		limit = sourcefile.DefaultMaxBytes
	}
	tooLarge := &Error{Status: fiber.StatusRequestEntityTooLarge,
		Detail: fmt.Sprintf("sourcefile: file too large: the upload exceeds the limit of %d bytes", limit)}
	if cl := c.Request().Header.ContentLength(); cl > 0 && int64(cl) > limit+multipartOverhead {
		c.Context().SetConnectionClose()
		return tooLarge
	}
	boundary := string(c.Request().Header.MultipartFormBoundary())
	if boundary == "" {
		return unprocessable("multipart/form-data without a boundary")
	}
	var body io.Reader
	if c.Request().IsBodyStream() {
		body = c.Context().RequestBodyStream()
	} else {
		body = bytes.NewReader(c.Body())
	}
	// The whole body is bounded too, so a stream of form fields cannot go
	// on forever; the file alone is bounded by sourcefile's limit, which
	// reports it precisely.
	mr := multipart.NewReader(io.LimitReader(body, limit+multipartOverhead+1), boundary)

	var (
		opts     = sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: limit}}
		res      *sourcefile.Result
		name     string
		filename string
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.Context().SetConnectionClose()
			return &Error{Status: fiber.StatusBadRequest, Detail: "malformed multipart body: " + err.Error()}
		}
		field := part.FormName()
		switch {
		case field == "file":
			if res != nil {
				return unprocessable("multipart body has more than one \"file\" field: upload one CSV at a time")
			}
			filename = part.FileName()
			res, err = sourcefile.Parse(c.UserContext(), part, opts)
			if err != nil {
				c.Context().SetConnectionClose() // the rest of the body is left unread
				return uploadError(err)
			}
		case field == "description_as_code":
			if res != nil {
				return unprocessable("form field %q must come before the file field: the file is parsed as it arrives", field)
			}
			v, err := formValue(part)
			if err != nil {
				return err
			}
			if opts.DescriptionAsCode, err = strconv.ParseBool(v); err != nil {
				return unprocessable("form field \"description_as_code\" must be true or false, not %q", v)
			}
		case field == "name":
			if name, err = formValue(part); err != nil {
				return err
			}
		case uploadFields[field] != nil:
			if res != nil {
				return unprocessable("form field %q must come before the file field: the file is parsed as it arrives", field)
			}
			v, err := formValue(part)
			if err != nil {
				return err
			}
			*uploadFields[field](&opts.Columns) = v
		default:
			return unprocessable("unknown form field %q (want file, name, %s, description_as_code)", field, strings.Join(uploadFieldOrder, ", "))
		}
	}
	if res == nil {
		return unprocessable("multipart body has no \"file\" field: send the CSV as file")
	}
	if name == "" {
		name = strings.TrimSpace(path.Base(strings.ReplaceAll(filename, "\\", "/")))
		if name == "." || name == "/" {
			name = ""
		}
	}
	name, err := sourceName(name)
	if err != nil {
		return unprocessable("the source needs a name: send the form field \"name\", or a file name")
	}
	return h.store(c, project, user, name, res)
}

// formValue reads a small form field.
func formValue(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
	if err != nil {
		return "", &Error{Status: fiber.StatusBadRequest, Detail: "malformed multipart body: " + err.Error()}
	}
	if len(b) > maxFormField {
		return "", unprocessable("form field %q is longer than %d bytes", part.FormName(), maxFormField)
	}
	return strings.TrimSpace(string(b)), nil
}

// uploadError answers a sourcefile error: its sentinels map to statuses in
// errors.go and their text names the problem (and the lines); anything
// else is the body failing to arrive.
func uploadError(err error) error {
	for _, known := range []error{sourcefile.ErrEmpty, sourcefile.ErrTooLarge, sourcefile.ErrEncoding, sourcefile.ErrMissingColumn, sourcefile.ErrMalformed} {
		if errors.Is(err, known) {
			return err
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Status: fiber.StatusBadRequest, Detail: "the upload could not be read: " + strings.TrimPrefix(err.Error(), "sourcefile: read upload: ")}
}

func (h *Sources) store(c *fiber.Ctx, project, user, name string, res *sourcefile.Result) error {
	src, codes := mappingjob.UploadedSource(project, name, user, res)
	src, err := h.Sources.CreateSource(c.UserContext(), src, codes)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sourceOf(src))
}

func (h *Sources) list(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	all, err := h.Sources.Sources(c.UserContext(), project.ID)
	if err != nil {
		return err
	}
	out := make([]sourceDTO, len(all))
	for i, s := range all {
		out[i] = sourceOf(s)
	}
	return c.JSON(fiber.Map{"sources": out})
}

func (h *Sources) get(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	src, err := h.Sources.Source(c.UserContext(), project.ID, c.Params("source_id"))
	if errors.Is(err, mappingjob.ErrNotFound) {
		return &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("project has no source %q", c.Params("source_id"))}
	}
	if err != nil {
		return err
	}
	return c.JSON(sourceOf(src))
}

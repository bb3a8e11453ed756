package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/session"
	"github.com/portiere/portiere/sourcefile"
	"github.com/portiere/portiere/tenancy"
)

// multipartOverhead is what an upload's body may hold beside the file:
// boundaries, part headers and the small form fields.
const multipartOverhead = 64 << 10

// maxFormField bounds one non-file field of an upload.
const maxFormField = 1 << 10

// csrfPeekBytes is how much of an upload's body is read to find its
// csrf_token field, which the form sends first.
const csrfPeekBytes = 4 << 10

// sourceRoutes registers a project's sources, bulk mapping and results.
func (s *Server) sourceRoutes(mux *http.ServeMux) {
	mux.Handle("GET /projects/{id}/sources", s.member(s.sourcesPage))
	mux.Handle("POST /projects/{id}/sources/preview", s.member(s.previewSource))
	mux.Handle("POST /projects/{id}/sources", s.member(s.importSource))
	mux.Handle("POST /projects/{id}/sources/{source}/mapping", s.member(s.startMapping))
	mux.Handle("GET /projects/{id}/sources/{source}/mapping", s.member(s.mappingPage))
	mux.Handle("GET /projects/{id}/sources/{source}/mapping/progress", s.member(s.mappingProgress))
	mux.Handle("POST /projects/{id}/sources/{source}/mapping/cancel", s.member(s.cancelMapping))
	mux.Handle("GET /projects/{id}/results", s.member(s.results))
}

func (s *Server) uploadLimit() int64 {
	if s.cfg.App == AppMapper {
		return s.cfg.Mappers.MaxDocumentBytes() // a KYC document
	}
	if s.cfg.UploadMaxBytes > 0 {
		return s.cfg.UploadMaxBytes
	}
	return sourcefile.DefaultMaxBytes
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// checkUploadCSRF checks the token of a multipart body without parsing it:
// htmx sends the token as X-CSRF-Token; a form sent without script sends
// it as its first field, read from the body's first bytes, which are put
// back for the handler. The body is bounded by the upload limit.
func (s *Server) checkUploadCSRF(w http.ResponseWriter, r *http.Request, cookieToken string) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadLimit()+multipartOverhead)
	sent := r.Header.Get("X-CSRF-Token")
	if sent == "" {
		sent = peekCSRF(r)
	}
	want := cookieToken
	if v := visitorFrom(r); v != nil {
		want = v.Session.CSRFToken
	}
	if !session.SameToken(sent, want) {
		return errCSRF
	}
	return nil
}

// peekCSRF returns the csrf_token field when it is the first part of r's
// multipart body, and leaves the body as it was.
func peekCSRF(r *http.Request) string {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return ""
	}
	head := make([]byte, csrfPeekBytes)
	n, _ := io.ReadFull(r.Body, head)
	head = head[:n]
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	part, err := multipart.NewReader(bytes.NewReader(head), params["boundary"]).NextPart()
	if err != nil || part.FormName() != "csrf_token" {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(part, 256))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// sourceRow is a stored source as the sources page lists it.
type sourceRow struct {
	mappingjob.Source
	Mapping string // the bulk mapping's status: "" when never started or unknown
}

type sourcesData struct {
	Project   tenancy.Project
	Sources   []sourceRow
	CanWrite  bool
	CanUpload bool // CanWrite and a source store is configured
	CanMap    bool // Temporal is configured
	MaxBytes  int64
	Notice    string
	Upload    *uploadResult // the preview or the error of an upload, when the page answers one
}

// uploadResult is the answer to an upload: a preview of the parsed file
// (nothing stored) or the problem that stopped it.
type uploadResult struct {
	ProjectID string
	Name      string
	FileName  string
	Error     string
	Preview   *sourcePreview
}

// sourcePreview is what a parsed file holds: the columns detected for each
// role, its counts and its first codes.
type sourcePreview struct {
	Columns    []columnRole
	Header     []string
	Delimiter  string
	Rows       int
	Distinct   int
	TotalCount int64
	Sample     []sourcefile.Code
	More       int  // distinct codes not in Sample
	HasContext bool // a specimen, unit, domain or category column was found
	Exists     bool // the project has a source with this name already
}

type columnRole struct{ Role, Column string }

func previewOf(res *sourcefile.Result) *sourcePreview {
	p := &sourcePreview{Header: res.Header, Rows: res.Rows, Distinct: len(res.Codes), TotalCount: res.TotalCount}
	switch res.Delimiter {
	case '\t':
		p.Delimiter = "tab"
	default:
		p.Delimiter = string(res.Delimiter)
	}
	c := res.Columns
	count := c.Count
	if count == "" {
		count = "(none: each row counts 1)"
	}
	p.Columns = []columnRole{{"Code", c.Code}, {"Description", c.Description}, {"Count", count}}
	for _, ctx := range []columnRole{{"Specimen", c.Specimen}, {"Unit", c.Unit}, {"Domain", c.DomainHint}, {"Category", c.Category}} {
		if ctx.Column != "" {
			p.Columns = append(p.Columns, columnRole{ctx.Role + " (context)", ctx.Column})
			p.HasContext = true
		}
	}
	p.Sample = res.Codes[:min(len(res.Codes), 5)]
	p.More = len(res.Codes) - len(p.Sample)
	return p
}

// writableProject loads the route's project for a visitor who may change
// it (members and above).
func (s *Server) writableProject(r *http.Request, v *visitor) (tenancy.Project, error) {
	project, err := s.projectOf(r, v)
	if err != nil {
		return project, err
	}
	return project, v.Principal().CanWrite(project.ID)
}

func (s *Server) readableProject(r *http.Request, v *visitor) (tenancy.Project, error) {
	project, err := s.projectOf(r, v)
	if err != nil {
		return project, err
	}
	return project, v.Principal().CanRead(project.ID)
}

func (s *Server) sourcesData(ctx context.Context, v *visitor, project tenancy.Project) (sourcesData, error) {
	canWrite := v.Principal().CanWrite(project.ID) == nil
	d := sourcesData{Project: project, CanWrite: canWrite, CanUpload: canWrite && s.cfg.Sources != nil,
		CanMap: s.cfg.Mapping != nil, MaxBytes: s.uploadLimit()}
	if s.cfg.Sources == nil {
		return d, nil
	}
	list, err := s.cfg.Sources.Sources(ctx, project.ID)
	if err != nil {
		return d, err
	}
	// One time limit for the whole list: a Temporal that does not answer
	// delays the page once, not once per source.
	sctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	ask := s.cfg.Mapping != nil
	for _, src := range list {
		row := sourceRow{Source: src}
		if ask && src.Kind == mappingjob.SourceUpload {
			row.Mapping, ask = s.mappingStatus(sctx, project.ID, src.ID)
		}
		d.Sources = append(d.Sources, row)
	}
	return d, nil
}

func (s *Server) sourcesPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.readableProject(r, v)
	if err != nil {
		return err
	}
	d, err := s.sourcesData(r.Context(), v, project)
	if err != nil {
		return err
	}
	if n := r.URL.Query().Get("imported"); n != "" {
		d.Notice = "Source “" + n + "” imported. Start its bulk mapping below."
	}
	return s.render(w, r, http.StatusOK, "sources", "Sources · "+project.Name, "projects", d)
}

// uploadSlot takes one of the project's organization's upload slots; past
// the limit the page says so (429) and the body is left unread.
func (s *Server) uploadSlot(project tenancy.Project) (release func(), err error) {
	slots := s.cfg.UploadSlots
	if slots == nil {
		slots = &s.ownSlots
	}
	release, err = slots.Acquire(project.OrganizationID)
	var tm *mappingjob.TooManyUploadsError
	if errors.As(err, &tm) {
		return nil, &pageError{Status: http.StatusTooManyRequests, Message: fmt.Sprintf(
			"Your organization already has %d uploads in progress, the most at once. Try again when one has finished.", tm.Limit)}
	}
	return release, err
}

// uploadFile reads an upload's form as it streams in: the name field and
// the file, parsed by sourcefile as it arrives (never held whole).
func (s *Server) uploadFile(r *http.Request) (name, filename string, res *sourcefile.Result, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", "", nil, &pageError{Status: http.StatusBadRequest, Message: "Send the file with the upload form."}
	}
	opts := sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: s.uploadLimit()}}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", "", nil, &pageError{Status: http.StatusRequestEntityTooLarge, Message: tooLargeMessage(s.uploadLimit())}
			}
			return "", "", nil, &pageError{Status: http.StatusBadRequest, Message: "The upload could not be read; try again."}
		}
		switch part.FormName() {
		case "file":
			if res != nil {
				return "", "", nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "Upload one CSV at a time."}
			}
			filename = part.FileName()
			if filename == "" {
				return "", "", nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "Choose a CSV file to upload."}
			}
			if res, err = sourcefile.Parse(r.Context(), part, opts); err != nil {
				return "", filename, nil, uploadProblem(err, s.uploadLimit())
			}
		case "name":
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil || len(b) > maxFormField {
				return "", "", nil, &pageError{Status: http.StatusUnprocessableEntity, Message: fmt.Sprintf("The name can have at most %d characters.", maxFormField)}
			}
			name = strings.TrimSpace(string(b))
		}
	}
	if res == nil {
		return "", "", nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "Choose a CSV file to upload."}
	}
	if name == "" {
		name = strings.TrimSpace(path.Base(strings.ReplaceAll(filename, "\\", "/")))
	}
	if name == "" || name == "." || name == "/" || len(name) > 200 {
		return "", filename, nil, &pageError{Status: http.StatusUnprocessableEntity, Message: "Give the source a name (at most 200 characters)."}
	}
	return name, filename, res, nil
}

func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("The file is too large: the limit is %s. Split it, or ask your administrator to raise UPLOAD_MAX_BYTES.", byteSize(limit))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// uploadProblem turns sourcefile's errors into the page's: their text
// names the problem (and the lines); the package prefix is dropped.
func uploadProblem(err error, limit int64) error {
	text := strings.TrimPrefix(err.Error(), "sourcefile: ")
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, sourcefile.ErrTooLarge):
		return &pageError{Status: http.StatusRequestEntityTooLarge, Message: "The file is too large: " + strings.TrimPrefix(text, "file too large: ") + "."}
	case errors.As(err, &mbe):
		return &pageError{Status: http.StatusRequestEntityTooLarge, Message: tooLargeMessage(limit)}
	case errors.Is(err, sourcefile.ErrEmpty):
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "The file is empty: it needs a header row and at least one row of codes."}
	case errors.Is(err, sourcefile.ErrEncoding):
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "The file is not UTF-8: " + strings.TrimPrefix(text, "not UTF-8: ")}
	case errors.Is(err, sourcefile.ErrMissingColumn):
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "A column is missing: " + strings.TrimPrefix(text, "missing column: ")}
	case errors.Is(err, sourcefile.ErrMalformed):
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "Some rows are malformed: " + strings.TrimPrefix(text, "malformed rows: ")}
	case errors.Is(err, context.Canceled):
		return err
	}
	return &pageError{Status: http.StatusBadRequest, Message: "The upload could not be read; try again."}
}

// answerUpload shows an upload's preview or problem: the upload panel
// alone to htmx, the sources page around it otherwise.
func (s *Server) answerUpload(w http.ResponseWriter, r *http.Request, v *visitor, project tenancy.Project, status int, up *uploadResult) error {
	up.ProjectID = project.ID
	if isHTMX(r) {
		w.WriteHeader(status)
		return s.fragmentStatus(w, "sources", "upload-result", up)
	}
	d, err := s.sourcesData(r.Context(), v, project)
	if err != nil {
		return err
	}
	d.Upload = up
	return s.render(w, r, status, "sources", "Sources · "+project.Name, "projects", d)
}

// fragmentStatus is fragment after the status was written.
func (s *Server) fragmentStatus(w http.ResponseWriter, page, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", page, name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// uploadFailed answers a problem of the upload itself (a pageError) as the
// upload panel's error; other errors go to the error page.
func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, v *visitor, project tenancy.Project, filename string, err error) error {
	var pe *pageError
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Status == http.StatusRequestEntityTooLarge || pe.Status == http.StatusBadRequest || pe.Status == http.StatusTooManyRequests {
		// The rest of the body is left unread.
		w.Header().Set("Connection", "close")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.answerUpload(w, r, v, project, pe.Status, &uploadResult{FileName: filename, Error: pe.Message})
}

// withUpload runs fn on the route's project (the visitor must be able to
// write to it) and the uploaded file, parsed, while holding one of the
// organization's upload slots; a file that does not parse, or no free slot,
// is shown on the sources page.
func (s *Server) withUpload(w http.ResponseWriter, r *http.Request, v *visitor,
	fn func(project tenancy.Project, name, filename string, res *sourcefile.Result) error) error {
	project, err := s.writableProject(r, v)
	if err != nil {
		return err
	}
	if s.cfg.Sources == nil {
		return &pageError{Status: http.StatusNotFound}
	}
	release, err := s.uploadSlot(project)
	if err != nil {
		return s.uploadFailed(w, r, v, project, "", err)
	}
	defer release()
	name, filename, res, err := s.uploadFile(r)
	if err != nil {
		return s.uploadFailed(w, r, v, project, filename, err)
	}
	return fn(project, name, filename, res)
}

// previewSource parses an uploaded CSV and shows what it holds. It stores
// nothing: the confirmation sends the file again to importSource.
func (s *Server) previewSource(w http.ResponseWriter, r *http.Request, v *visitor) error {
	return s.withUpload(w, r, v, func(project tenancy.Project, name, filename string, res *sourcefile.Result) error {
		p := previewOf(res)
		list, err := s.cfg.Sources.Sources(r.Context(), project.ID)
		if err != nil {
			return err
		}
		for _, src := range list {
			p.Exists = p.Exists || src.Name == name
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		return s.answerUpload(w, r, v, project, http.StatusOK, &uploadResult{Name: name, FileName: filename, Preview: p})
	})
}

// importSource parses an uploaded CSV and stores it as a source of the
// project with its codes, in one transaction; a bad file stores nothing.
func (s *Server) importSource(w http.ResponseWriter, r *http.Request, v *visitor) error {
	return s.withUpload(w, r, v, func(project tenancy.Project, name, filename string, res *sourcefile.Result) error {
		src, codes := mappingjob.UploadedSource(project.ID, name, v.User.ID, res)
		src, err := s.cfg.Sources.CreateSource(r.Context(), src, codes)
		if errors.Is(err, mappingjob.ErrSourceExists) {
			return s.uploadFailed(w, r, v, project, filename, &pageError{Status: http.StatusConflict,
				Message: "The project has a source called “" + name + "” already: give this one another name."})
		}
		if err != nil {
			return err
		}
		s.cfg.Logger.Info("web source imported", "project_id", project.ID, "source_id", src.ID, "codes", len(codes), "user_id", v.User.ID)
		to := "/projects/" + project.ID + "/sources?imported=" + url.QueryEscape(src.Name)
		if isHTMX(r) {
			w.Header().Set("HX-Redirect", to)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	})
}

package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/web"
	"github.com/portiere/portiere/workflows"
)

// fakeMapping stands in for Temporal and the worker: a started mapping
// advances by step codes each time its state is asked, and when it
// reaches the end it writes an item for every code of the source, as the
// bulk mapping's activities do, so the results page has data.
type fakeMapping struct {
	jobs *mappingjobstore.Store
	step int64

	mu      sync.Mutex
	runs    map[string]*fakeRun
	started []workflows.BulkMappingInput
	down    bool // Temporal does not answer
}

var errDown = fmt.Errorf("%w: connection refused", workflows.ErrUnavailable)

type fakeRun struct {
	in          workflows.BulkMappingInput
	total, done int64
	status      string
	started     time.Time
	closed      *time.Time
}

func (f *fakeMapping) StartBulkMapping(ctx context.Context, in workflows.BulkMappingInput) (workflows.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return workflows.Run{}, errDown
	}
	id := workflows.BulkMappingSourceWorkflowID(in.ProjectID, in.SourceID)
	if r := f.runs[id]; r != nil && r.status == "running" {
		return workflows.Run{WorkflowID: id, RunID: "run"}, nil
	}
	n, err := f.jobs.CountSourceCodes(ctx, in.ProjectID, in.SourceID)
	if err != nil {
		return workflows.Run{}, err
	}
	f.runs[id] = &fakeRun{in: in, total: n, status: "running", started: time.Now().Add(-time.Minute)}
	f.started = append(f.started, in)
	return workflows.Run{WorkflowID: id, RunID: "run"}, nil
}

func (f *fakeMapping) State(ctx context.Context, id string) (workflows.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return workflows.State{}, errDown
	}
	r := f.runs[id]
	if r == nil {
		return workflows.State{}, workflows.ErrNotFound
	}
	if r.status == "running" {
		r.done = min(r.total, r.done+f.step)
		if r.done == r.total {
			if err := f.finish(ctx, r); err != nil {
				return workflows.State{}, err
			}
		}
	}
	p := &workflows.Progress{Total: r.total, Done: r.done, Status: r.status, Runs: 1}
	p.Auto, p.Review = r.done/2, r.done-r.done/2
	status := "running"
	if r.status != "running" {
		status = "completed"
	}
	return workflows.State{WorkflowID: id, RunID: "run", Type: "BulkMappingWorkflow", Status: status, StartedAt: r.started, ClosedAt: r.closed, Progress: p}, nil
}

// finish writes the items: confidence spread over the bins, alternate
// codes in the Measurement and Condition domains.
func (f *fakeMapping) finish(ctx context.Context, r *fakeRun) error {
	codes, err := f.jobs.SourceCodes(ctx, r.in.ProjectID, r.in.SourceID, 0, 100000)
	if err != nil {
		return err
	}
	items := make([]mappingjob.Item, len(codes))
	for i, c := range codes {
		domain := "Measurement"
		if i%2 == 1 {
			domain = "Condition"
		}
		conf := float64(i%10)/10 + 0.05
		method := mappingjob.MethodReview
		if conf >= 0.9 {
			method = mappingjob.MethodAuto
		}
		items[i] = mappingjob.Item{Source: c.Source, Code: c.Code, Description: c.Description, SourceColumn: c.Column, SourceCount: c.Count,
			ConceptID: int32(3000000 + i), TargetName: "Concept " + c.Code, TargetVocabulary: "LOINC", TargetDomain: domain,
			Confidence: conf, Method: method, InferenceMethod: method, Provenance: mappingjob.Provenance{}}
	}
	if err := f.jobs.UpsertItems(ctx, r.in.ProjectID, items); err != nil {
		return err
	}
	now := time.Now()
	r.status, r.closed = "completed", &now
	return nil
}

func (f *fakeMapping) Cancel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	r := f.runs[id]
	if r == nil {
		return workflows.ErrNotFound
	}
	if r.status == "running" {
		now := time.Now()
		r.status, r.closed = "cancelled", &now
	}
	return nil
}

// newSourcesApp is a dashboard with the source store, the results and,
// unless step is 0, a fake bulk mapping advancing step codes a poll.
func newSourcesApp(t *testing.T, step int64, mod ...func(*web.Config)) (*app, *fakeMapping) {
	t.Helper()
	// The store is filled in once newApp has made the database.
	jobs := new(mappingjobstore.Store)
	fake := &fakeMapping{jobs: jobs, step: step, runs: map[string]*fakeRun{}}
	a := newApp(t, append([]func(*web.Config){func(c *web.Config) {
		c.Sources, c.Items = jobs, jobs
		if step > 0 {
			c.Mapping = fake
		}
	}}, mod...)...)
	*jobs = *mappingjobstore.New(a.pool)
	return a, fake
}

func demoCSV(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/demo-source-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upload posts a multipart form to path: the CSRF token first (as a form
// without script sends it) unless token is "-", then name and the file.
// htmx adds the HX-Request header and the token as X-CSRF-Token instead.
func (b *browser) upload(path, token, name, filename string, file []byte, htmx bool) response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if token != "-" && !htmx {
		mw.WriteField("csrf_token", token)
	}
	if name != "" {
		mw.WriteField("name", name)
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		b.t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if htmx {
		req.Header.Set("HX-Request", "true")
		if token != "-" {
			req.Header.Set("X-CSRF-Token", token)
		}
	}
	return b.do(req)
}

func (a *app) sources(t *testing.T, project string) []mappingjob.Source {
	t.Helper()
	list, err := mappingjobstore.New(a.pool).Sources(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestSourceUploadPreviewAndImport(t *testing.T) {
	t.Parallel()
	a, _ := newSourcesApp(t, 0)
	b := a.browser(t)
	b.signUp("Upload Hospital", "owner@upload.example")
	project := b.createProject("Labs")

	res := b.get("/projects/" + project)
	if !strings.Contains(res.body, `href="/projects/`+project+`/sources"`) {
		t.Fatalf("the project page does not link its sources:\n%.2000s", res.body)
	}
	res = b.get("/projects/" + project + "/sources")
	if res.status != 200 || !strings.Contains(res.body, `id="upload-form"`) || !strings.Contains(res.body, `id="no-worker"`) {
		t.Fatalf("sources page: %d\n%.2000s", res.status, res.body)
	}
	token := b.csrf
	csv := demoCSV(t)

	// A preview, as htmx sends it: the panel alone, nothing stored.
	res = b.upload("/projects/"+project+"/sources/preview", token, "", "demo-source-codes.csv", csv, true)
	if res.status != 200 || strings.Contains(res.body, "<html") || !strings.Contains(res.body, `id="preview"`) {
		t.Fatalf("preview: %d\n%.2000s", res.status, res.body)
	}
	for _, want := range []string{`<dd id="preview-rows">40</dd>`, `<dd id="preview-distinct">40</dd>`, "<code>source_code</code>",
		"<code>source_description</code>", "each row counts 1", "LAB001", "Haemoglobin A1c", "and 35 more", "demo-source-codes.csv"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if got := a.sources(t, project); len(got) != 0 {
		t.Fatalf("a preview stored %v", got)
	}

	// Without a token, in neither place, the upload is refused.
	if res := b.upload("/projects/"+project+"/sources", "-", "", "demo.csv", csv, false); res.status != http.StatusForbidden {
		t.Fatalf("import without a CSRF token: %d", res.status)
	}
	if res := b.upload("/projects/"+project+"/sources", "forged", "", "demo.csv", csv, true); res.status != http.StatusForbidden {
		t.Fatalf("import with a forged token: %d", res.status)
	}
	if got := a.sources(t, project); len(got) != 0 {
		t.Fatalf("a refused import stored %v", got)
	}

	// Confirmed, without script: the token is the form's first field.
	res = b.upload("/projects/"+project+"/sources", token, "Lab extract", "demo-source-codes.csv", csv, false)
	if res.status != http.StatusSeeOther || res.location != "/projects/"+project+"/sources?imported=Lab+extract" {
		t.Fatalf("import: %d %s\n%.1000s", res.status, res.location, res.body)
	}
	got := a.sources(t, project)
	if len(got) != 1 || got[0].Name != "Lab extract" || got[0].DistinctCodes != 40 || got[0].Rows != 40 || got[0].Kind != mappingjob.SourceUpload ||
		got[0].Columns.Code != "source_code" {
		t.Fatalf("stored %+v", got)
	}
	if n, err := mappingjobstore.New(a.pool).CountSourceCodes(context.Background(), project, got[0].ID); err != nil || n != 40 {
		t.Fatalf("codes stored: %d %v", n, err)
	}
	res = b.get(res.location)
	if !strings.Contains(res.body, "Source “Lab extract” imported") || !strings.Contains(res.body, `id="source-`+got[0].ID+`"`) {
		t.Fatalf("sources page after the import:\n%.3000s", res.body)
	}

	// The same name again, through htmx: the preview warns, the import is a
	// 409 naming the problem and stores nothing more.
	res = b.upload("/projects/"+project+"/sources/preview", token, "Lab extract", "demo.csv", csv, true)
	if !strings.Contains(res.body, "has a source called “Lab extract” already") {
		t.Fatalf("preview of a taken name:\n%.2000s", res.body)
	}
	res = b.upload("/projects/"+project+"/sources", token, "Lab extract", "demo.csv", csv, true)
	if res.status != http.StatusConflict || !strings.Contains(res.body, `id="upload-error"`) || !strings.Contains(res.body, "another name") {
		t.Fatalf("import of a taken name: %d\n%.1000s", res.status, res.body)
	}
	// Through htmx the import answers a redirect htmx follows.
	res = b.upload("/projects/"+project+"/sources", token, "Second", "demo.csv", csv, true)
	if res.status != http.StatusNoContent || res.header.Get("HX-Redirect") != "/projects/"+project+"/sources?imported=Second" {
		t.Fatalf("htmx import: %d %v", res.status, res.header)
	}
	if got := a.sources(t, project); len(got) != 2 {
		t.Fatalf("sources %v", got)
	}
}

func TestSourceUploadBadFiles(t *testing.T) {
	t.Parallel()
	a, _ := newSourcesApp(t, 0, func(c *web.Config) { c.UploadMaxBytes = 2048 })
	b := a.browser(t)
	b.signUp("Bad Files Hospital", "owner@bad.example")
	project := b.createProject("Labs")
	b.get("/projects/" + project + "/sources")
	token := b.csrf
	big := "source_code,source_description\n" + strings.Repeat("LAB001,Haemoglobin A1c in blood by HPLC\n", 100)
	for _, tc := range []struct {
		name   string
		file   []byte
		status int
		want   string
	}{
		{"malformed", []byte("source_code,source_description\nA1,One\nA2,\"unclosed\n"), 422, "Some rows are malformed"},
		{"encoding", []byte("source_code,source_description\nA1,H\xe9moglobine\n"), 422, "The file is not UTF-8"},
		{"utf16", []byte("\xff\xfes\x00o\x00"), 422, "The file is not UTF-8"},
		{"missing column", []byte("code_x,label_y\nA1,One\n"), 422, "A column is missing"},
		{"empty", []byte(""), 422, "The file is empty"},
		{"header only", []byte("source_code,source_description\n"), 422, "The file is empty"},
		{"oversize", []byte(big), 413, "The file is too large"},
	} {
		for _, htmx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/htmx=%v", tc.name, htmx), func(t *testing.T) {
				for _, path := range []string{"/sources/preview", "/sources"} {
					res := b.upload("/projects/"+project+path, token, "", "bad.csv", tc.file, htmx)
					if res.status != tc.status || !strings.Contains(res.body, tc.want) || !strings.Contains(res.body, "bad.csv: nothing was imported") {
						t.Errorf("%s: %d, want %d with %q\n%.1500s", path, res.status, tc.status, tc.want, res.body)
					}
					if htmx == strings.Contains(res.body, "<html") {
						t.Errorf("%s: htmx=%v but the answer is %.100s", path, htmx, res.body)
					}
				}
			})
		}
	}
	if got := a.sources(t, project); len(got) != 0 {
		t.Fatalf("bad files stored %v", got)
	}
	// The limit is shown beside the file input.
	if res := b.get("/projects/" + project + "/sources"); !strings.Contains(res.body, `data-max-bytes="2048"`) {
		t.Fatal("the form does not carry the limit")
	}
}

func TestSourcesAndMappingAccess(t *testing.T) {
	t.Parallel()
	a, fake := newSourcesApp(t, 10)
	owner := a.browser(t)
	owner.signUp("Access Hospital", "owner@access.example")
	project := owner.createProject("Labs")
	owner.get("/projects/" + project + "/sources")
	res := owner.upload("/projects/"+project+"/sources", owner.csrf, "Demo", "demo.csv", demoCSV(t), false)
	if res.status != http.StatusSeeOther {
		t.Fatalf("import: %d", res.status)
	}
	src := a.sources(t, project)[0].ID
	base := "/projects/" + project
	org := a.org(t, "owner@access.example")

	// Anonymous: pages go to the log-in form, forms are refused.
	anon := a.browser(t)
	for _, p := range []string{"/sources", "/sources/" + src + "/mapping", "/sources/" + src + "/mapping/progress", "/results"} {
		if res := anon.get(base + p); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?next=") {
			t.Errorf("anonymous GET %s: %d %s", p, res.status, res.location)
		}
	}
	anon.get("/login")
	for _, p := range []string{"/sources/" + src + "/mapping", "/sources/" + src + "/mapping/cancel"} {
		if res := anon.post(base+p, nil); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", p, res.status)
		}
	}
	if res := anon.upload(base+"/sources", anon.csrf, "", "demo.csv", demoCSV(t), false); res.status != http.StatusUnauthorized {
		t.Errorf("anonymous upload: %d", res.status)
	}

	// A viewer sees everything and can do nothing.
	viewer := a.member(t, org.ID, "viewer@access.example", tenancy.RoleViewer)
	res = viewer.get(base + "/sources")
	if res.status != 200 || !strings.Contains(res.body, `id="viewer-note"`) || strings.Contains(res.body, `id="upload-form"`) || strings.Contains(res.body, "Start mapping") {
		t.Fatalf("viewer's sources page: %d\n%.2000s", res.status, res.body)
	}
	for _, p := range []string{"/sources/preview", "/sources"} {
		if res := viewer.upload(base+p, viewer.csrf, "", "demo.csv", demoCSV(t), false); res.status != http.StatusForbidden {
			t.Errorf("viewer upload %s: %d", p, res.status)
		}
	}
	if res := viewer.post(base+"/sources/"+src+"/mapping", nil); res.status != http.StatusForbidden {
		t.Errorf("viewer start: %d", res.status)
	}
	if len(fake.started) != 0 {
		t.Fatalf("a viewer started %v", fake.started)
	}
	// A member may; the viewer then watches it but cannot cancel it.
	member := a.member(t, org.ID, "member@access.example", tenancy.RoleMember)
	if res := member.post(base+"/sources/"+src+"/mapping", nil); res.status != http.StatusSeeOther {
		t.Fatalf("member start: %d\n%.500s", res.status, res.body)
	}
	if len(fake.started) != 1 || fake.started[0].OrganizationID != org.ID || fake.started[0].SourceID != src || fake.started[0].ProjectID != project {
		t.Fatalf("started %+v", fake.started)
	}
	res = viewer.get(base + "/sources/" + src + "/mapping")
	if res.status != 200 || !strings.Contains(res.body, `id="mapping-progress"`) || strings.Contains(res.body, `id="cancel-mapping"`) {
		t.Fatalf("viewer's mapping page: %d\n%.2000s", res.status, res.body)
	}
	if res := viewer.post(base+"/sources/"+src+"/mapping/cancel", nil); res.status != http.StatusForbidden {
		t.Errorf("viewer cancel: %d", res.status)
	}
	// CSRF: a cancel without the token is refused.
	if res := member.post(base+"/sources/"+src+"/mapping/cancel", url.Values{"csrf_token": {""}}); res.status != http.StatusForbidden {
		t.Errorf("cancel without a token: %d", res.status)
	}

	// Another organization's project is 404 everywhere, its source too.
	other := a.browser(t)
	other.signUp("Other Hospital", "owner@other.example")
	otherProject := other.createProject("Theirs")
	for _, p := range []string{"/sources", "/sources/" + src + "/mapping", "/sources/" + src + "/mapping/progress", "/results"} {
		if res := other.get(base + p); res.status != http.StatusNotFound {
			t.Errorf("other organization GET %s: %d", p, res.status)
		}
		// The source under their own project is no source of theirs.
		if p != "/sources" && p != "/results" {
			if res := other.get("/projects/" + otherProject + p); res.status != http.StatusNotFound {
				t.Errorf("other organization GET its project's %s: %d", p, res.status)
			}
		}
	}
	for _, p := range []string{"/sources/" + src + "/mapping", "/sources/" + src + "/mapping/cancel"} {
		if res := other.post(base+p, nil); res.status != http.StatusNotFound {
			t.Errorf("other organization POST %s: %d", p, res.status)
		}
		if res := other.post("/projects/"+otherProject+p, nil); res.status != http.StatusNotFound {
			t.Errorf("other organization POST its project's %s: %d", p, res.status)
		}
	}
	for _, p := range []string{"/sources/preview", "/sources"} {
		if res := other.upload(base+p, other.csrf, "", "demo.csv", demoCSV(t), false); res.status != http.StatusNotFound {
			t.Errorf("other organization upload %s: %d", p, res.status)
		}
	}
	if len(fake.started) != 1 {
		t.Fatalf("starts %+v", fake.started)
	}
}

var progressState = regexp.MustCompile(`<span id="progress-state">([^<]+)</span>`)

func TestBulkMappingProgressAndResults(t *testing.T) {
	t.Parallel()
	a, fake := newSourcesApp(t, 15)
	b := a.browser(t)
	b.signUp("Progress Hospital", "owner@progress.example")
	project := b.createProject("Labs")
	base := "/projects/" + project
	b.get(base + "/sources")
	b.upload(base+"/sources", b.csrf, "Demo", "demo.csv", demoCSV(t), false)
	src := a.sources(t, project)[0].ID

	// Before any start: the page offers it, the results are empty.
	res := b.get(base + "/sources/" + src + "/mapping")
	if res.status != 200 || !strings.Contains(res.body, `<span id="progress-state">not started</span>`) || !strings.Contains(res.body, `id="start-mapping"`) {
		t.Fatalf("mapping page before a start: %d\n%.2000s", res.status, res.body)
	}
	if res := b.get(base + "/results"); res.status != 200 || !strings.Contains(res.body, `id="no-results"`) {
		t.Fatalf("results before mapping: %d", res.status)
	}

	res = b.post(base+"/sources/"+src+"/mapping", nil)
	if res.status != http.StatusSeeOther || res.location != base+"/sources/"+src+"/mapping" {
		t.Fatalf("start: %d %s", res.status, res.location)
	}
	// The page polls the panel every second while it runs: 15, 30, 40.
	res = b.get(res.location)
	if !strings.Contains(res.body, `hx-trigger="every 1s"`) || !strings.Contains(res.body, `value="15"`) || !strings.Contains(res.body, `id="cancel-mapping"`) {
		t.Fatalf("running mapping page:\n%.3000s", res.body)
	}
	for _, want := range []string{`<span id="progress-percent">37%</span>`, `codes/s`, `about `, `<dd id="count-auto">7</dd>`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("running page lacks %q", want)
		}
	}
	res = b.get(base + "/sources/" + src + "/mapping/progress")
	if strings.Contains(res.body, "<html") || !strings.Contains(res.body, `value="30"`) {
		t.Fatalf("progress fragment:\n%.2000s", res.body)
	}
	res = b.get(base + "/sources/" + src + "/mapping/progress")
	if m := progressState.FindStringSubmatch(res.body); m == nil || m[1] != "completed" || !strings.Contains(res.body, `<span id="progress-percent">100%</span>`) ||
		!strings.Contains(res.body, `id="results-link"`) || strings.Contains(res.body, "hx-trigger") {
		t.Fatalf("completed fragment:\n%.2000s", res.body)
	}
	// The sources list shows the state.
	if res := b.get(base + "/sources"); !strings.Contains(res.body, `/mapping">completed</a>`) || !strings.Contains(res.body, "Map again") {
		t.Fatalf("sources list after the mapping:\n%.3000s", res.body)
	}

	// The results: two SVG charts, accessible, with the numbers as tables.
	res = b.get(base + "/results")
	if res.status != 200 {
		t.Fatalf("results: %d", res.status)
	}
	for _, want := range []string{
		`<svg id="confidence-chart"`, `aria-labelledby="confidence-title confidence-desc"`, `<title id="confidence-title">`,
		`<desc id="confidence-desc">Items by confidence, in 10 bins of 0.1 from 0 to 1: 0.0–0.1: 4; 0.1–0.2: 4;`,
		`<svg id="status-chart"`, `<desc id="status-desc">Items by target domain and review status. Condition: 0 approved, 0 overridden, 0 rejected, 20 pending; Measurement: 0 approved, 0 overridden, 0 rejected, 20 pending.</desc>`,
		`<tr><td>0.9–1.0</td><td class="num">4</td></tr>`,
		`<tr><th scope="row">Measurement</th><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">20</td><td class="num">20</td></tr>`,
		`40 mapped items`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("results lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", res.body)
	}

	// A second run, cancelled: the panel says so and stops polling.
	b.post(base+"/sources/"+src+"/mapping", nil)
	res = b.post(base+"/sources/"+src+"/mapping/cancel", nil, "HX-Request", "true")
	if res.status != 200 || !strings.Contains(res.body, `<span id="progress-state">cancelled</span>`) || strings.Contains(res.body, "hx-trigger") {
		t.Fatalf("cancel: %d\n%.2000s", res.status, res.body)
	}
	if res := b.post(base+"/sources/"+src+"/mapping/cancel", nil); res.status != http.StatusSeeOther {
		t.Fatalf("cancel without script: %d", res.status)
	}
	if len(fake.started) != 2 {
		t.Fatalf("starts %+v", fake.started)
	}
}

func TestBulkMappingWithoutTemporal(t *testing.T) {
	t.Parallel()
	a, _ := newSourcesApp(t, 0)
	b := a.browser(t)
	b.signUp("No Worker Hospital", "owner@noworker.example")
	project := b.createProject("Labs")
	base := "/projects/" + project
	b.get(base + "/sources")
	b.upload(base+"/sources", b.csrf, "Demo", "demo.csv", demoCSV(t), false)
	src := a.sources(t, project)[0].ID
	res := b.get(base + "/sources")
	if !strings.Contains(res.body, "Bulk mapping needs the worker") || strings.Contains(res.body, "Start mapping") {
		t.Fatalf("sources page without Temporal:\n%.2000s", res.body)
	}
	if res := b.get(base + "/sources/" + src + "/mapping"); res.status != 200 || !strings.Contains(res.body, "Bulk mapping needs the worker") {
		t.Fatalf("mapping page without Temporal: %d", res.status)
	}
	if res := b.post(base+"/sources/"+src+"/mapping", nil); res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, "needs the worker") {
		t.Fatalf("start without Temporal: %d", res.status)
	}
	if res := b.get(base + "/sources/" + src + "/mapping/progress"); res.status != http.StatusServiceUnavailable {
		t.Fatalf("progress without Temporal: %d", res.status)
	}
}

func TestBulkMappingWhileTemporalIsDown(t *testing.T) {
	t.Parallel()
	a, fake := newSourcesApp(t, 10)
	b := a.browser(t)
	b.signUp("Down Hospital", "owner@down.example")
	project := b.createProject("Labs")
	base := "/projects/" + project
	b.get(base + "/sources")
	b.upload(base+"/sources", b.csrf, "Demo", "demo.csv", demoCSV(t), false)
	src := a.sources(t, project)[0].ID
	b.post(base+"/sources/"+src+"/mapping", nil)
	fake.mu.Lock()
	fake.down = true
	fake.mu.Unlock()

	// The list still shows; the page and the panel say Temporal is not
	// answering, and the panel keeps polling until it is back.
	if res := b.get(base + "/sources"); res.status != 200 || !strings.Contains(res.body, `id="source-`+src+`"`) {
		t.Fatalf("sources page while Temporal is down: %d", res.status)
	}
	if res := b.get(base + "/sources/" + src + "/mapping"); res.status != 200 || !strings.Contains(res.body, "is not answering") ||
		!strings.Contains(res.body, `hx-trigger="every 1s"`) || strings.Contains(res.body, `id="cancel-mapping"`) {
		t.Fatalf("mapping page while Temporal is down: %d\n%.1500s", res.status, res.body)
	}
	res := b.get(base + "/sources/" + src + "/mapping/progress")
	if res.status != 200 || !strings.Contains(res.body, "is not answering") || !strings.Contains(res.body, `hx-trigger="every 1s"`) {
		t.Fatalf("progress while Temporal is down: %d\n%.1500s", res.status, res.body)
	}
	if res := b.post(base+"/sources/"+src+"/mapping", nil); res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, "is not answering") {
		t.Fatalf("start while Temporal is down: %d", res.status)
	}
	if res := b.post(base+"/sources/"+src+"/mapping/cancel", nil); res.status != http.StatusServiceUnavailable {
		t.Fatalf("cancel while Temporal is down: %d", res.status)
	}
	fake.mu.Lock()
	fake.down = false
	fake.mu.Unlock()
	if res := b.get(base + "/sources/" + src + "/mapping/progress"); !strings.Contains(res.body, `<span id="progress-state">running</span>`) {
		t.Fatalf("progress once Temporal is back:\n%.1500s", res.body)
	}
}

// An organization's uploads in progress are bounded by the slots shared
// with the API: past the limit, preview and import answer 429 saying so
// and store nothing; once a slot is free the upload goes through.
func TestSourceUploadPastTheConcurrentUploadLimit(t *testing.T) {
	t.Parallel()
	slots := &mappingjob.UploadSlots{Max: 2}
	a, _ := newSourcesApp(t, 0, func(c *web.Config) { c.UploadSlots = slots })
	b := a.browser(t)
	b.signUp("Busy Hospital", "owner@busy.example")
	project := b.createProject("Labs")
	b.get("/projects/" + project + "/sources")
	var org string
	if err := a.pool.QueryRow(context.Background(), `select organization_id from projects where id = $1`, project).Scan(&org); err != nil {
		t.Fatal(err)
	}
	// Two uploads of the organization in progress (through the API, say).
	var held []func()
	for range 2 {
		release, err := slots.Acquire(org)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	for _, path := range []string{"/sources/preview", "/sources"} {
		for _, htmx := range []bool{false, true} {
			res := b.upload("/projects/"+project+path, b.csrf, "lab", "lab.csv", demoCSV(t), htmx)
			if res.status != 429 || !strings.Contains(res.body, "already has 2 uploads in progress, the most at once") {
				t.Errorf("%s htmx=%v with 2 uploads in progress: %d\n%.1500s", path, htmx, res.status, res.body)
			}
		}
	}
	if got := a.sources(t, project); len(got) != 0 {
		t.Fatalf("refused uploads stored %v", got)
	}
	held[0]()
	if res := b.upload("/projects/"+project+"/sources", b.csrf, "lab", "lab.csv", demoCSV(t), true); res.status != 204 {
		t.Errorf("upload once a slot is free: %d\n%.1500s", res.status, res.body)
	}
	if got := a.sources(t, project); len(got) != 1 {
		t.Fatalf("sources after the upload: %v", got)
	}
	held[1]()
}

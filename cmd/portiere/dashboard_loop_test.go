package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/internal/browsertest"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/workflows"
)

// TestWholeLoopThroughTheDashboard runs the dashboard's source pages on
// the production composition (openBackends, web, the worker with the real
// activities) over a migrated PostgreSQL and a Temporal dev server, with
// the demo vocabulary imported and indexed. First without script, as a
// plain HTTP client: sign up, create a project, upload
// testdata/demo-source-codes.csv (preview, then confirm), start its bulk
// mapping, poll the progress panel as the page does until it reports every
// code done, and read the result charts. Then the whole flow in
// headless Chromium, at a laptop's and at a phone's size, one organization
// each: sign up, create a project, upload, map to 100% and read the charts
// (browsertest.SourceFlow), then open the review queue, approve its first
// item with the keyboard (j, a), override the next through the search box
// and download the source_to_concept_map export, which must hold exactly
// those two decisions (browsertest.ReviewFlow). Any console error or
// failed request fails it; each step leaves a screenshot in the test's
// artifact folder, whose path is logged. Every failure names its step.
func TestWholeLoopThroughTheDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dev := startTemporal(t)

	setDBEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", dev.FrontendHostPort())
	t.Setenv("API_KEY_SALT", "dash-salt-dash-salt-dash-salt-dash-salt-0")
	t.Setenv("JWT_SECRET", "dash-jwt-secret-dash-jwt-secret-dash-jwt0")
	t.Setenv("EMBEDDING_MODEL", "hash")
	t.Setenv("FAISS_INDEX_PATH", t.TempDir()+"/faiss.index")
	runOK(t, "", "migrate")

	b := startWorkerStack(t, dev, config.ModeAPI, slog.LevelError)
	b.startSearch(ctx)

	// The demo vocabulary and its index, as `portiere vocab import` makes
	// them.
	var imp, impErr bytes.Buffer
	if err := run([]string{"vocab", "import", "../../testdata/demo-vocab", "--json"}, &imp, &impErr); err != nil {
		t.Fatalf("step vocab import: %v\n%s", err, impErr.String())
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		st, err := b.workflows.State(ctx, workflows.IndexBuildWorkflowID)
		if err == nil && st.Status == "completed" {
			break
		}
		if time.Now().After(deadline) || (err == nil && st.Status != "running") {
			t.Fatalf("step index build: %+v %v", st, err)
		}
	}

	srv, err := b.web()
	if err != nil {
		t.Fatalf("step web: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	d := newDashClient(t, hs.URL)

	d.get("signup", "/signup", 200)
	res := d.post("signup", "/signup", url.Values{"organization": {"Dashboard Hospital"}, "name": {"Dana"},
		"email": {"dana@dash.example"}, "password": {"correct horse battery"}}, http.StatusSeeOther)
	d.get("projects", res.Header.Get("Location"), 200)
	d.get("new project", "/projects/new", 200)
	res = d.post("create project", "/projects", url.Values{"name": {"Laboratory"}}, http.StatusSeeOther)
	project, _, _ := strings.Cut(strings.TrimPrefix(res.Header.Get("Location"), "/projects/"), "?")
	base := "/projects/" + project

	body := d.get("sources page", base+"/sources", 200)
	if strings.Contains(body, "needs the worker") {
		t.Fatalf("step sources page: the dashboard beside Temporal says it has none")
	}
	csvFile, err := os.ReadFile("../../testdata/demo-source-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, body = d.upload("preview", base+"/sources/preview", csvFile, 200)
	if !strings.Contains(body, `<dd id="preview-distinct">40</dd>`) {
		t.Fatalf("step preview: %.2000s", body)
	}
	res, _ = d.upload("import", base+"/sources", csvFile, http.StatusSeeOther)
	srcs, err := b.jobs.Sources(ctx, project)
	if err != nil || len(srcs) != 1 || srcs[0].DistinctCodes != 40 {
		t.Fatalf("step import: %+v %v", srcs, err)
	}
	d.get("imported", res.Header.Get("Location"), 200)

	res = d.post("start mapping", base+"/sources/"+srcs[0].ID+"/mapping", url.Values{}, http.StatusSeeOther)
	d.get("mapping page", res.Header.Get("Location"), 200)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		body = d.get("progress", base+"/sources/"+srcs[0].ID+"/mapping/progress", 200)
		if strings.Contains(body, `<span id="progress-state">completed</span>`) {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(body, "hx-trigger") {
			t.Fatalf("step progress: the mapping did not complete:\n%.2000s", body)
		}
	}
	for _, want := range []string{`<span id="progress-percent">100%</span>`, `value="40"`, `max="40"`, `id="results-link"`, `codes/s`} {
		if !strings.Contains(body, want) {
			t.Errorf("step progress: the completed panel lacks %q:\n%.2000s", want, body)
		}
	}

	body = d.get("results", base+"/results", 200)
	for _, want := range []string{`<svg id="confidence-chart"`, `<svg id="status-chart"`, "40 mapped items", `<desc id="status-desc">Items by target domain and review status.`} {
		if !strings.Contains(body, want) {
			t.Errorf("step results: lacks %q", want)
		}
	}

	// The same in a browser, on the same stack, one organization per
	// viewport.
	chromium := browsertest.ChromiumPath(t)
	csvPath, err := filepath.Abs("../../testdata/demo-source-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, vp := range browsertest.Viewports {
		t.Run("browser-"+vp.Name, func(t *testing.T) {
			s := browsertest.Start(t, chromium, vp)
			r := browsertest.SourceFlow{
				BaseURL: hs.URL, Org: "Browser Hospital " + vp.Name, Email: vp.Name + "@dash.example", CSV: csvPath,
				Sources: func(project string) []string {
					list, err := b.jobs.Sources(ctx, project)
					if err != nil {
						t.Fatal(err)
					}
					var ids []string
					for _, src := range list {
						ids = append(ids, src.ID)
					}
					return ids
				},
			}.Run(s)
			if r.Distinct != "40" || r.UploadStatus != "Done." {
				t.Errorf("preview: %s distinct codes, upload status %q", r.Distinct, r.UploadStatus)
			}
			if r.Percents[len(r.Percents)-1] != "100%" || !strings.Contains(r.StatusDesc, "Items by target domain and review status.") {
				t.Errorf("progress %v, status chart %q", r.Percents, r.StatusDesc)
			}
			items, err := b.jobs.Items(ctx, r.Project)
			if err != nil || len(items) != 40 {
				t.Fatalf("step items: %d items after the browser's mapping (%v), want 40", len(items), err)
			}

			// The review queue on those items: approve its first with the
			// keyboard, override the next through the search box, and
			// export exactly those two decisions.
			queue, err := b.jobs.ListItems(ctx, r.Project, mappingjob.ItemFilter{Reviews: []mappingjob.ReviewStatus{mappingjob.ReviewPending}}, 0, 2)
			if err != nil || len(queue) != 2 {
				t.Fatalf("step review queue: %d open items (%v), want the queue's first two", len(queue), err)
			}
			approve, override := queue[0], queue[1]
			if approve.ConceptID == 0 {
				t.Fatalf("step review queue: the first open item %s %q has no proposed concept to approve", approve.Code, approve.Description)
			}
			query, concept := "potassium serum", int32(3023103) // Potassium [Moles/volume] in Serum or Plasma
			if override.ConceptID == concept {
				query, concept = "glucose serum", 3004501 // Glucose [Mass/volume] in Serum or Plasma
			}
			rr := browsertest.ReviewFlow{
				BaseURL: hs.URL, Project: r.Project, Approve: approve.ID, Override: override.ID,
				Query: query, Concept: strconv.Itoa(int(concept)),
			}.Run(s)
			want := []string{fmt.Sprintf("%s→%d", approve.Code, approve.ConceptID), fmt.Sprintf("%s→%d", override.Code, concept)}
			slices.Sort(want)
			if !slices.Equal(rr.Rows, want) {
				t.Fatalf("step export: source_to_concept_map rows %v, want exactly %v\n%s", rr.Rows, want, rr.Export)
			}
			decided := map[string]mappingjob.ReviewStatus{}
			items, err = b.jobs.Items(ctx, r.Project)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.Review != mappingjob.ReviewPending && it.Review != mappingjob.ReviewUnset {
					decided[it.Code] = it.Review
				}
			}
			if wantDecided := map[string]mappingjob.ReviewStatus{approve.Code: mappingjob.ReviewApproved, override.Code: mappingjob.ReviewOverridden}; !maps.Equal(decided, wantDecided) {
				t.Fatalf("step decisions: stored %v, want %v", decided, wantDecided)
			}
		})
	}

	// The owner rebuilds the search index from the vocabulary page and
	// follows the run to its end, on the real Temporal and worker (after
	// the browsers, whose override searches it would otherwise race).
	body = d.get("vocabulary", "/vocabulary", 200)
	if !strings.Contains(body, `id="start-index-build"`) || !strings.Contains(body, `<span id="index-build-status">completed</span>`) {
		t.Fatalf("step vocabulary: no build button or no earlier build shown:\n%.3000s", body)
	}
	before, err := b.workflows.State(ctx, workflows.IndexBuildWorkflowID)
	if err != nil {
		t.Fatalf("step index build: %v", err)
	}
	res = d.post("start index build", "/vocabulary/index-build", url.Values{}, http.StatusSeeOther)
	if body = d.get("index build started", res.Header.Get("Location"), 200); !strings.Contains(body, "Index build started") {
		t.Fatalf("step index build started: no notice:\n%.3000s", body)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		body = d.get("index build progress", "/vocabulary/index", 200)
		st, err := b.workflows.State(ctx, workflows.IndexBuildWorkflowID)
		if err == nil && st.RunID != before.RunID && strings.Contains(body, `<span id="index-build-status">completed</span>`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("step index build progress: never completed:\n%s", body)
		}
	}

	// The same by clicking: the desktop organization's owner starts a
	// build and watches the vocabulary page's index card follow it.
	t.Run("browser-index-build", func(t *testing.T) {
		before, err := b.workflows.State(ctx, workflows.IndexBuildWorkflowID)
		if err != nil {
			t.Fatal(err)
		}
		s := browsertest.Start(t, chromium, browsertest.Viewports[0])
		s.LogIn(hs.URL, "desktop@dash.example", "correct horse battery")
		s.Check("vocabulary",
			chromedp.Navigate(hs.URL+"/vocabulary"),
			chromedp.WaitVisible(`#start-index-build`),
		)
		var seen []string
		s.Check("index-build-started",
			chromedp.Click(`#start-index-build`),
			browsertest.WaitLocation("build=started"),
			chromedp.WaitVisible(`#index-build-status`),
		)
		s.Check("index-built", browsertest.WaitText(`#index-build-status`, "completed", &seen))
		after, err := b.workflows.State(ctx, workflows.IndexBuildWorkflowID)
		if err != nil || after.RunID == before.RunID || after.Status != "completed" {
			t.Fatalf("step index built: the page read %v; the latest run is %+v (%v), the one before %s", seen, after, err, before.RunID)
		}
	})

}

// dashClient is a signed-in browser without script: cookies, and the CSRF
// token of the last page read.
type dashClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var dashCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newDashClient(t *testing.T, base string) *dashClient {
	jar, _ := cookiejar.New(nil)
	return &dashClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (d *dashClient) do(step string, req *http.Request, want int) (*http.Response, string) {
	d.t.Helper()
	res, err := d.c.Do(req)
	if err != nil {
		d.t.Fatalf("step %s: %v", step, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		d.t.Fatalf("step %s: %s %s: %d, want %d\n%.1500s", step, req.Method, req.URL.Path, res.StatusCode, want, b)
	}
	if m := dashCSRF.FindSubmatch(b); m != nil {
		d.csrf = string(m[1])
	}
	return res, string(b)
}

func (d *dashClient) get(step, path string, want int) string {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.base+path, nil)
	_, body := d.do(step, req, want)
	return body
}

func (d *dashClient) post(step, path string, form url.Values, want int) *http.Response {
	d.t.Helper()
	form.Set("csrf_token", d.csrf)
	req, _ := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ := d.do(step, req, want)
	return res
}

// upload sends the demo file as the upload form does without script:
// the CSRF token first, then the file.
func (d *dashClient) upload(step, path string, file []byte, want int) (*http.Response, string) {
	d.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", d.csrf)
	fw, _ := mw.CreateFormFile("file", "demo-source-codes.csv")
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, d.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return d.do(step, req, want)
}

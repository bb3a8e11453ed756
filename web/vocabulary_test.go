package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/web"
	"github.com/portiere/portiere/workflows"
)

// fakeIndexBuilds stands in for Temporal: a started build runs until
// finish is called.
type fakeIndexBuilds struct {
	mu      sync.Mutex
	starts  int
	status  string // "" before the first run
	started time.Time
	closed  *time.Time
}

func (f *fakeIndexBuilds) StartIndexBuild(context.Context, workflows.IndexBuildInput) (workflows.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != "running" {
		f.starts++
		f.status, f.started, f.closed = "running", time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC), nil
	}
	return workflows.Run{WorkflowID: workflows.IndexBuildWorkflowID, RunID: "run"}, nil
}

func (f *fakeIndexBuilds) State(_ context.Context, id string) (workflows.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != workflows.IndexBuildWorkflowID || f.status == "" {
		return workflows.State{}, workflows.ErrNotFound
	}
	return workflows.State{WorkflowID: id, RunID: "run", Type: "IndexBuildWorkflow", Status: f.status, StartedAt: f.started, ClosedAt: f.closed}, nil
}

// runs is how many builds were started.
func (f *fakeIndexBuilds) runs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

func (f *fakeIndexBuilds) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.started.Add(2 * time.Minute)
	f.status, f.closed = "completed", &end
}

// TestIndexBuildFromVocabularyPage: an owner or admin starts the search
// index build from the vocabulary page (CSRF-checked) and the page's
// index card follows it, polling faster while it runs; members and
// viewers see the state without the button and are refused the POST; a
// dashboard without Temporal shows no button and says why on a POST.
func TestIndexBuildFromVocabularyPage(t *testing.T) {
	t.Parallel()
	builds := &fakeIndexBuilds{}
	a := newApp(t, func(c *web.Config) { c.IndexBuilds = builds })
	owner := a.browser(t)
	owner.signUp("Index Org", "index-owner@example.org")
	org := a.org(t, "index-owner@example.org")
	admin := a.member(t, org.ID, "index-admin@example.org", tenancy.RoleAdmin)
	member := a.member(t, org.ID, "index-member@example.org", tenancy.RoleMember)

	res := owner.get("/vocabulary")
	for _, want := range []string{`id="start-index-build"`, `action="/vocabulary/index-build"`, "none yet", `hx-trigger="every 10s"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("owner's vocabulary page lacks %q", want)
		}
	}
	res = member.get("/vocabulary")
	if strings.Contains(res.body, `id="start-index-build"`) || !strings.Contains(res.body, "Owners and admins can start an index build") {
		t.Errorf("a member's vocabulary page offers the build:\n%.3000s", res.body)
	}
	if res := member.post("/vocabulary/index-build", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("a member started a build: %d", res.status)
	}
	if res := owner.post("/vocabulary/index-build", url.Values{"csrf_token": {""}}); res.status != http.StatusForbidden {
		t.Errorf("a build without the CSRF token: %d", res.status)
	}
	if builds.runs() != 0 {
		t.Fatalf("refused requests started %d builds", builds.runs())
	}

	res = admin.post("/vocabulary/index-build", url.Values{})
	if res.status != http.StatusSeeOther || res.location != "/vocabulary?build=started#index-state" || builds.runs() != 1 {
		t.Fatalf("admin's build: %d %q, %d starts", res.status, res.location, builds.runs())
	}
	res = admin.get("/vocabulary?build=started")
	for _, want := range []string{"Index build started", `<span id="index-build-status">running</span>, started 2026-07-01 09:30 UTC`,
		`hx-trigger="every 2s"`, `id="start-index-build" disabled`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page of a running build lacks %q", want)
		}
	}
	// A second start while it runs follows the same run.
	if res := owner.post("/vocabulary/index-build", url.Values{}); res.status != http.StatusSeeOther || builds.runs() != 1 {
		t.Errorf("second start: %d, %d starts", res.status, builds.runs())
	}
	builds.finish()
	res = member.get("/vocabulary/index")
	if res.status != 200 || !strings.Contains(res.body, `<span id="index-build-status">completed</span>`) || !strings.Contains(res.body, "ended 2026-07-01 09:32 UTC") ||
		!strings.Contains(res.body, `hx-trigger="every 10s"`) {
		t.Errorf("index card after the build: %d\n%s", res.status, res.body)
	}

	// Without Temporal: no button, and a POST says what is missing.
	plain := newApp(t)
	b := plain.browser(t)
	b.signUp("No Temporal Org", "index-plain@example.org")
	if res := b.get("/vocabulary"); strings.Contains(res.body, "start-index-build") || strings.Contains(res.body, "Latest build") {
		t.Errorf("a dashboard without Temporal offers the build")
	}
	if res := b.post("/vocabulary/index-build", url.Values{}); res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, "needs the worker") {
		t.Errorf("build without Temporal: %d\n%.500s", res.status, res.body)
	}
}

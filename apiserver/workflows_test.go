package apiserver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/workflows"
)

// fakeWorkflows behaves like workflows.Client over a Temporal that keeps
// one run per workflow id while it runs.
type fakeWorkflows struct {
	mu        sync.Mutex
	running   map[string]workflows.Run
	cancelled []string
	bulk      []workflows.BulkMappingInput
}

func (f *fakeWorkflows) start(id string) workflows.Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.running[id]; ok {
		return r
	}
	r := workflows.Run{WorkflowID: id, RunID: "run-" + id}
	f.running[id] = r
	return r
}

func (f *fakeWorkflows) StartIndexBuild(context.Context, workflows.IndexBuildInput) (workflows.Run, error) {
	return f.start(workflows.IndexBuildWorkflowID), nil
}

func (f *fakeWorkflows) StartESPopulate(_ context.Context, in workflows.ESPopulateInput) (workflows.Run, error) {
	return f.start(workflows.ESPopulateWorkflowID), nil
}

func (f *fakeWorkflows) StartBulkMapping(_ context.Context, in workflows.BulkMappingInput) (workflows.Run, error) {
	f.mu.Lock()
	f.bulk = append(f.bulk, in)
	f.mu.Unlock()
	return f.start(workflows.BulkMappingWorkflowID(in.ProjectID)), nil
}

func (f *fakeWorkflows) State(_ context.Context, id string) (workflows.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.running[id]
	if !ok {
		return workflows.State{}, workflows.ErrNotFound
	}
	return workflows.State{
		WorkflowID: id, RunID: r.RunID, Type: "BulkMappingWorkflow", Status: "running",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Progress:  &workflows.Progress{Total: 10, Done: 4, Auto: 3, Review: 1, Status: workflows.StatusRunning},
	}, nil
}

func (f *fakeWorkflows) Cancel(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.running[id]; !ok {
		return workflows.ErrNotFound
	}
	f.cancelled = append(f.cancelled, id)
	return nil
}

// newWorkflowServer serves the workflow routes over fakeWorkflows behind
// the real authenticator; it returns the id of a project that exists.
func newWorkflowServer(t *testing.T, es bool) (*apiserver.Server, *fakeWorkflows, string) {
	t.Helper()
	f := &fakeWorkflows{running: map[string]workflows.Run{}}
	alias := ""
	if es {
		alias = workflows.ElasticsearchAlias
	}
	k := newTenants(t, dbtest.New(t))
	project := k.project(t, k.org(t, "wf-org").ID, "p1")
	s := k.server(t,
		&apiserver.WorkflowRuns{Workflows: f, ElasticsearchAlias: alias, Projects: k.Store},
		&apiserver.Projects{Projects: k.Store, Workflows: f},
	)
	return s, f, project.ID
}

func TestWorkflowRoutesNeedAdminToken(t *testing.T) {
	t.Parallel()
	s, _, p1 := newWorkflowServer(t, true)
	for _, token := range []string{"", "Bearer wrong", "Basic " + adminToken, adminToken} {
		for _, r := range [][2]string{
			{"POST", "/api/v1/workflows/index-build"}, {"POST", "/api/v1/workflows/es-populate"},
			{"POST", "/api/v1/projects/" + p1 + "/bulk-mapping"}, {"GET", "/api/v1/workflows/index-build"},
			{"POST", "/api/v1/workflows/index-build/cancel"},
		} {
			req := httptest.NewRequest(r[0], r[1], nil)
			if token != "" {
				req.Header.Set("Authorization", token)
			}
			res, body := do(t, s, req)
			if res.StatusCode != 401 || !strings.Contains(string(body), `"detail"`) {
				t.Errorf("%s %s with %q: %d %s, want 401 {detail}", r[0], r[1], token, res.StatusCode, body)
			}
		}
	}
}

func TestWorkflowRoutesWithoutConfiguredTokenRefuse(t *testing.T) {
	s, err := apiserver.New(apiserver.Config{Resources: []apiserver.Resource{&apiserver.WorkflowRuns{Workflows: &fakeWorkflows{running: map[string]workflows.Run{}}}}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/workflows/index-build", nil)
	req.Header.Set("Authorization", "Bearer ")
	if res, body := do(t, s, req); res.StatusCode != 401 {
		t.Errorf("empty token accepted: %d %s", res.StatusCode, body)
	}
}

func adminReq(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func TestWorkflowRoutes(t *testing.T) {
	t.Parallel()
	s, f, p1 := newWorkflowServer(t, true)
	start := "/api/v1/projects/" + p1 + "/bulk-mapping"
	wf := workflows.BulkMappingWorkflowID(p1)
	res, body := do(t, s, adminReq("POST", start, `{"chunk_size": 200, "top_k": 5}`))
	if res.StatusCode != 202 || string(body) != `{"workflow_id":"`+wf+`","run_id":"run-`+wf+`"}` {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	// Starting again while it runs returns the same run.
	res, body2 := do(t, s, adminReq("POST", start, ""))
	if res.StatusCode != 202 || string(body2) != string(body) {
		t.Errorf("second start: %d %s, want the running one %s", res.StatusCode, body2, body)
	}
	if f.bulk[0].ChunkSize != 200 || f.bulk[0].TopK != 5 {
		t.Errorf("input %+v", f.bulk[0])
	}
	res, body = do(t, s, adminReq("GET", "/api/v1/workflows/"+wf, ""))
	if res.StatusCode != 200 || !strings.Contains(string(body), `"progress":{"total":10,"done":4,"auto":3,"review":1,"manual":0,"failed":0,"status":"running"}`) {
		t.Errorf("state: %d %s", res.StatusCode, body)
	}
	res, body = do(t, s, adminReq("POST", "/api/v1/workflows/"+wf+"/cancel", ""))
	if res.StatusCode != 202 || len(f.cancelled) != 1 {
		t.Errorf("cancel: %d %s", res.StatusCode, body)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/v1/projects/nope/bulk-mapping", "", 404},
		{"POST", start, `{"chunk_size": -1}`, 422},
		{"POST", start, `[1`, 422},
		{"GET", "/api/v1/workflows/nope", "", 404},
		{"POST", "/api/v1/workflows/nope/cancel", "", 404},
		{"POST", "/api/v1/workflows/index-build", "", 202},
		{"POST", "/api/v1/workflows/es-populate", "", 202},
	} {
		res, body := do(t, s, adminReq(c.method, c.path, c.body))
		if res.StatusCode != c.status {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, res.StatusCode, body, c.status)
		}
	}
}

func TestESPopulateWithoutElasticsearchIs409(t *testing.T) {
	t.Parallel()
	s, _, _ := newWorkflowServer(t, false)
	res, body := do(t, s, adminReq("POST", "/api/v1/workflows/es-populate", ""))
	if res.StatusCode != 409 {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}

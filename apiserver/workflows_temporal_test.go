package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// devTemporal starts a Temporal dev server for the test, with the CLI at
// $PORTIERE_TEMPORAL_CLI or ../bin/temporal; without it the test skips,
// unless PORTIERE_REQUIRE_TOOLS is set.
func devTemporal(t *testing.T) client.Client {
	t.Helper()
	cli := os.Getenv("PORTIERE_TEMPORAL_CLI")
	if cli == "" {
		cli, _ = filepath.Abs("../bin/temporal")
	}
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("Temporal CLI %s: %v (PORTIERE_REQUIRE_TOOLS is set)", cli, err)
		}
		t.Skipf("Temporal CLI not found at %s: set PORTIERE_TEMPORAL_CLI or run `make tools`", cli)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port), Namespace: "default"},
		LogLevel:      "error",
		ExtraArgs:     []string{"--ip", "127.0.0.1"},
	})
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	t.Cleanup(func() { dev.Stop() })
	return dev.Client()
}

// TestBulkMappingRoutesOnTemporal drives the workflow routes through a
// real Temporal client, a dev server and an in-process worker over the
// demo vocabulary: a second start while the first runs joins it, the state
// shows the progress, and cancel ends the mapping as cancelled.
func TestBulkMappingRoutesOnTemporal(t *testing.T) {
	tc := devTemporal(t)
	ctx := context.Background()
	pool := dbtest.New(t)
	if _, err := vocab.NewImporter(vocabstore.New(pool)).Import(ctx, "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	jobs := mappingjobstore.New(pool)
	tenants := tenancystore.New(pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "test-org", Slug: "test-org"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "rest"})
	if err != nil {
		t.Fatal(err)
	}
	project := p.ID
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	codes := make([]mappingjob.SourceCode, n)
	for i := range codes {
		codes[i] = mappingjob.SourceCode{Source: "LAB", Code: fmt.Sprintf("SRC-%05d", i), Description: corpus.Concepts[(i*7919)%len(corpus.Concepts)].Name}
	}
	if _, err := jobs.AddSourceCodes(ctx, project, codes); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Bulk mapping opens the index the index build saves; build it first.
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	indexPath := filepath.Join(t.TempDir(), "faiss.index")
	if _, err := searchindex.BuildAndSave(ctx, corpus, emb, indexPath); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{
		Vocabulary: vocabstore.New(pool), Jobs: jobs,
		Index:         searchindex.Config{EmbeddingModel: "hash", IndexPath: indexPath},
		EngineVersion: "test", Logger: logger,
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(wctx, tc, logger, worker.Options{Activities: acts, Schedules: []workflows.Schedule{}})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	wc := &workflows.Client{Temporal: tc, ESAlias: workflows.ElasticsearchAlias}
	s, err := apiserver.New(apiserver.Config{
		Version: "1.2.3", Auth: newTenants(t, pool).Auth, Logger: logger,
		Resources: []apiserver.Resource{&apiserver.WorkflowRuns{Workflows: wc}, &apiserver.Projects{Projects: tenants, Workflows: wc}},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Small chunks keep the mapping running while the test looks at it.
	start := "/api/v1/projects/" + project + "/bulk-mapping"
	res, first := do(t, s, adminReq("POST", start, `{"chunk_size": 5}`))
	if res.StatusCode != 202 {
		t.Fatalf("start: %d %s", res.StatusCode, first)
	}
	res, second := do(t, s, adminReq("POST", start, `{"chunk_size": 5}`))
	if res.StatusCode != 202 || string(second) != string(first) {
		t.Errorf("second start while running: %d %s, want the running run %s", res.StatusCode, second, first)
	}
	var run struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	if err := json.Unmarshal(first, &run); err != nil || run.WorkflowID != workflows.BulkMappingWorkflowID(project) || run.RunID == "" {
		t.Fatalf("start answered %s (%v)", first, err)
	}

	type state struct {
		Status   string  `json:"status"`
		ClosedAt *string `json:"closed_at"`
		Progress *struct {
			Total, Done int64
			Status      string
		} `json:"progress"`
	}
	get := func() state {
		res, body := do(t, s, adminReq("GET", "/api/v1/workflows/"+run.WorkflowID, ""))
		if res.StatusCode != 200 {
			t.Fatalf("state: %d %s", res.StatusCode, body)
		}
		var st state
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	var st state
	deadline := time.Now().Add(20 * time.Second)
	for st = get(); st.Progress == nil || st.Progress.Done == 0; st = get() {
		if time.Now().After(deadline) {
			t.Fatalf("no progress reported: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Status != "running" || st.Progress.Total != n || st.Progress.Status != workflows.StatusRunning || st.Progress.Done >= n {
		t.Errorf("state while running: %+v %+v", st, *st.Progress)
	}

	res, body := do(t, s, adminReq("POST", "/api/v1/workflows/"+run.WorkflowID+"/cancel", ""))
	if res.StatusCode != 202 {
		t.Fatalf("cancel: %d %s", res.StatusCode, body)
	}
	deadline = time.Now().Add(20 * time.Second)
	for st = get(); st.ClosedAt == nil; st = get() {
		if time.Now().After(deadline) {
			t.Fatalf("not ended after cancel: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Progress == nil || st.Progress.Status != workflows.StatusCancelled || st.Progress.Done >= n {
		t.Errorf("after cancel: %+v progress %+v, want cancelled before the end", st, st.Progress)
	}
	t.Logf("cancelled at %d/%d", st.Progress.Done, n)
}

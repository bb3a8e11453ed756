package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/config"
)

// loopCodes is the source the loop uploads: four codes of
// testdata/demo-source-codes.csv. One is approved, one overridden, one
// rejected and one left undecided.
const loopCodes = "source_code,source_description\n" +
	"DX003,Asthma\n" +
	"DX002,Essential hypertension\n" +
	"RX001,Paracetamol 500mg tablet\n" +
	"LAB002,Glucose fasting plasma\n"

// hypertensiveDisorder is the demo vocabulary's concept 316866, the
// override's target.
const hypertensiveDisorder = 316866

// TestWholeLoopThroughTheAPI runs the Cloud API's loop end to end on the
// production composition (openBackends, api, the worker with the real
// activities) over a migrated PostgreSQL and a Temporal dev server: an
// organization, its owner and a write key made with the CLI, the demo
// vocabulary imported with the CLI (which starts the index build), then
// over HTTP only: a project, a CSV upload, a bulk mapping of that source
// followed to its end, one item approved, one overridden, one rejected,
// and the source_to_concept_map export, which must hold exactly the
// approved and the overridden rows. The bulk mapping must also have
// counted its items in the organization's usage. Every failure names its
// step.
func TestWholeLoopThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dev := startTemporal(t)

	setDBEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", dev.FrontendHostPort())
	t.Setenv("API_KEY_SALT", "loop-salt-loop-salt-loop-salt-loop-salt")
	t.Setenv("JWT_SECRET", "loop-jwt-secret-loop-jwt-secret-loop-jwt")
	t.Setenv("EMBEDDING_MODEL", "hash")
	t.Setenv("FAISS_INDEX_PATH", t.TempDir()+"/faiss.index")
	// The test polls two workflows; the per-key limit is not under test.
	t.Setenv("RATE_LIMIT_PER_MINUTE", "100000")

	// Organization, owner and write key, as `portiere org create`, `user
	// create` and `apikey create` make them.
	out := runOK(t, "", "org", "create", "Loop Hospital")
	orgM := regexp.MustCompile(`id (\S+), slug loop-hospital`).FindStringSubmatch(out)
	if orgM == nil {
		t.Fatalf("step org create: %q", out)
	}
	org := orgM[1]
	runOK(t, "loop-owner-password\n", "user", "create", "--org", "loop-hospital", "--email", "owner@loop.example", "--role", "owner")
	key := strings.TrimSpace(runOK(t, "", "apikey", "create", "--org", "loop-hospital", "--user", "owner@loop.example", "--scope", "write", "--name", "loop"))

	// The production composition: API and worker on one set of backends,
	// as `portiere dev` composes them.
	b := startWorkerStack(t, dev, config.ModeAPI, slog.LevelError)
	b.startSearch(ctx)
	baseURL := serveAPI(t, ctx, cancel, b, time.Second)
	api := &loopClient{t: t, base: baseURL + "/api/v1", key: key}

	// The demo vocabulary, imported as `portiere vocab import` does it: the
	// import starts the index build on the worker.
	var imp bytes.Buffer
	var impErr bytes.Buffer
	if err := run([]string{"vocab", "import", "../../testdata/demo-vocab", "--json"}, &imp, &impErr); err != nil {
		t.Fatalf("step vocab import: %v\n%s", err, impErr.String())
	}
	var report struct {
		SearchIndex struct {
			IndexBuild *struct {
				WorkflowID string `json:"workflow_id"`
			} `json:"index_build"`
			Pending string `json:"pending"`
		} `json:"search_index"`
	}
	if err := json.Unmarshal(imp.Bytes(), &report); err != nil || report.SearchIndex.IndexBuild == nil {
		t.Fatalf("step vocab import: index build not started (%v): %s", err, imp.String())
	}
	api.waitWorkflow("index build", report.SearchIndex.IndexBuild.WorkflowID, time.Minute)

	var project struct {
		ID string `json:"id"`
	}
	api.json("create project", "POST", "/projects", `{"name":"loop","target_model":"omop_cdm_v5.4"}`, 201, &project)

	var source struct {
		ID            string `json:"id"`
		DistinctCodes int    `json:"distinct_codes"`
	}
	api.upload("upload source", "/projects/"+project.ID+"/sources", "loop-codes", loopCodes, &source)
	if source.DistinctCodes != 4 {
		t.Fatalf("step upload source: %d distinct codes, want 4", source.DistinctCodes)
	}

	var mapping struct {
		WorkflowID string `json:"workflow_id"`
	}
	api.json("start bulk mapping", "POST", "/projects/"+project.ID+"/bulk-mapping", `{"source_id":"`+source.ID+`"}`, 202, &mapping)
	state := api.waitWorkflow("bulk mapping", mapping.WorkflowID, 2*time.Minute)
	if state.Progress == nil || state.Progress.Done != 4 {
		t.Fatalf("step bulk mapping: progress %+v, want 4 codes done", state.Progress)
	}

	var listing struct {
		Items []struct {
			ID              string `json:"id"`
			SourceCode      string `json:"source_code"`
			TargetConceptID *int64 `json:"target_concept_id"`
			ReviewDecision  string `json:"review_decision"`
		} `json:"items"`
	}
	api.json("list items", "GET", "/projects/"+project.ID+"/concept-mappings", "", 200, &listing)
	items := map[string]string{} // source code → item id
	var approvedTarget int64
	for _, it := range listing.Items {
		items[it.SourceCode] = it.ID
		if it.SourceCode == "DX003" {
			if it.TargetConceptID == nil {
				t.Fatalf("step list items: DX003 was mapped to no concept: %+v", it)
			}
			approvedTarget = *it.TargetConceptID
		}
	}
	if len(listing.Items) != 4 || len(items) != 4 {
		t.Fatalf("step list items: %d items (%v), want one per code of the source", len(listing.Items), items)
	}

	decide := func(step, code, action, body, want string) {
		var it struct {
			ReviewDecision string `json:"review_decision"`
		}
		api.json(step, "POST", "/projects/"+project.ID+"/concept-mapping/"+items[code]+"/"+action, body, 200, &it)
		if it.ReviewDecision != want {
			t.Fatalf("step %s: review_decision %q, want %q", step, it.ReviewDecision, want)
		}
	}
	decide("approve", "DX003", "approve", "", "approved")
	decide("override", "DX002", "override", `{"target_concept_id":`+strconv.Itoa(hypertensiveDisorder)+`,"comment":"coded as Hypertensive disorder in this study"}`, "overridden")
	decide("reject", "RX001", "reject", `{"comment":"not mapped in this study"}`, "rejected")

	body := api.do("export", "GET", "/projects/"+project.ID+"/exports/source_to_concept_map", "", "", 200)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("step export: not a CSV (%v): %s", err, body)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"source_code", "target_concept_id", "valid_start_date", "valid_end_date"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("step export: no column %s in %v", name, rows[0])
		}
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[col["source_code"]]] = r[col["target_concept_id"]]
		if r[col["valid_start_date"]] == "" || r[col["valid_end_date"]] == "" {
			t.Errorf("step export: row %v has no validity dates", r)
		}
	}
	want := map[string]string{"DX003": strconv.FormatInt(approvedTarget, 10), "DX002": strconv.Itoa(hypertensiveDisorder)}
	if len(rows) != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("step export: rows (source code → target) %v, want exactly the approved and the overridden %v:\n%s", got, want, body)
	}

	var usage struct {
		Usage map[string]struct {
			Used int64 `json:"used"`
		} `json:"usage"`
		OrganizationID string `json:"organization_id"`
	}
	api.json("billing usage", "GET", "/billing/usage", "", 200, &usage)
	if usage.OrganizationID != org || usage.Usage["mapped_items"].Used != 4 {
		t.Fatalf("step billing usage: organization %s mapped_items %+v, want %s with 4 used", usage.OrganizationID, usage.Usage["mapped_items"], org)
	}
}

// loopClient calls the API over HTTP with one API key; every failure
// names the step of the loop.
type loopClient struct {
	t    *testing.T
	base string
	key  string
}

// do sends body (of content type ct) and fails step unless the answer's
// status is want; it returns the answer's body.
func (c *loopClient) do(step, method, path, ct, body string, want int) []byte {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatalf("step %s: %v", step, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("step %s: %s %s: %v", step, method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("step %s: %s %s answered %d, want %d: %s", step, method, path, res.StatusCode, want, b)
	}
	return b
}

// json sends a JSON body (none when empty) and decodes the answer into v.
func (c *loopClient) json(step, method, path, body string, want int, v any) {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	b := c.do(step, method, path, ct, body, want)
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("step %s: answer is not the expected JSON (%v): %s", step, err, b)
	}
}

// upload sends csvText as the multipart field file of a source named name.
func (c *loopClient) upload(step, path, name, csvText string, v any) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", name)
	fw, _ := mw.CreateFormFile("file", name+".csv")
	io.WriteString(fw, csvText)
	mw.Close()
	if err := json.Unmarshal(c.do(step, "POST", path, mw.FormDataContentType(), buf.String(), 201), v); err != nil {
		c.t.Fatalf("step %s: %v", step, err)
	}
}

// loopState is the part of GET /workflows/{id} the loop reads.
type loopState struct {
	Status   string `json:"status"`
	Progress *struct {
		Total int64  `json:"total"`
		Done  int64  `json:"done"`
		State string `json:"status"`
	} `json:"progress"`
}

// waitWorkflow polls GET /workflows/{id} until the run is completed, and
// fails step when it ends otherwise or is still running after within.
func (c *loopClient) waitWorkflow(step, id string, within time.Duration) loopState {
	c.t.Helper()
	for deadline := time.Now().Add(within); ; {
		var st loopState
		c.json(step, "GET", "/workflows/"+id, "", 200, &st)
		switch st.Status {
		case "completed":
			return st
		case "running":
		default:
			c.t.Fatalf("step %s: workflow %s ended %s", step, id, st.Status)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("step %s: workflow %s still %s after %s (progress %+v)", step, id, st.Status, within, st.Progress)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/apiserver/docsui"
	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/workflows"
)

// notOrganizationScoped lists the parameterised paths of the API whose
// parameters name nothing an organization owns, each with the reason. A
// new parameterised path must either carry a parameter isolationParam
// recognises (and so be tested) or be added here with its reason.
var notOrganizationScoped = map[string]string{
	"/api/v1/concepts/{id}":                                 "a concept id names the shared OMOP vocabulary, which belongs to no organization",
	strings.TrimSuffix(docsui.AssetPrefix, "/") + "/{name}": "embedded, public documentation assets",
}

// isolationWorld is the production API (openBackends, api) over a
// migrated test database and a Temporal dev server, with organization A
// owning a project, source codes, a mapping item, API keys and a running
// bulk mapping, and organization B's owner holding a write key.
type isolationWorld struct {
	srv      *apiserver.Server
	pool     *pgxpool.Pool
	temporal client.Client
	orgA     tenancy.Organization
	projectA tenancy.Project
	keyA     tenancy.APIKey
	rawKeyA  string
	itemA    mappingjob.Item
	writeB   string
	// otherProjectA is a write key of A's owner restricted to another
	// project of A.
	otherProjectA string
}

// TestEveryProjectRouteIsolatesOrganizations calls every operation of the
// OpenAPI document whose path names something organization A owns (a
// project, the organization, A's workflow run) with organization B's
// owner's write key: each must answer 404 {detail} and leave every row of
// every table, and A's workflow, as they were. The operations come from
// the server's own document, so a route added later is tested without
// anyone writing a test for it; a parameterised route this test cannot
// classify fails it.
func TestEveryProjectRouteIsolatesOrganizations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	w := newIsolationWorld(t)

	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(w.srv.Spec(), &doc); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	run := workflows.BulkMappingWorkflowID(w.projectA.ID)
	tested := 0
	for _, path := range paths {
		params := pathParam.FindAllStringSubmatchIndex(path, -1)
		if len(params) == 0 {
			// Listings (GET /projects, …) name no organization in their
			// path: what B reads there must hold nothing of A's.
			if _, ok := doc.Paths[path]["get"]; ok {
				w.expectNothingOfA(t, path)
			}
			continue
		}
		if reason, ok := notOrganizationScoped[path]; ok {
			if reason == "" {
				t.Errorf("%s is allowlisted without a reason", path)
			}
			continue
		}
		concrete, owned := w.fill(path, params)
		if !owned {
			t.Errorf("%s has parameters this test cannot classify: if one names something an organization owns, teach "+
				"isolationParam (cmd/portiere/isolation_test.go) which of organization A's ids to send; otherwise add the path to "+
				"notOrganizationScoped with the reason", path)
			continue
		}
		for method, raw := range doc.Paths[path] {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			before := digestTables(t, w.pool)
			history := historyLength(t, w.temporal, run)
			status, body := w.send(t, method, concrete, op.RequestBody.Content, doc.Components.Schemas, w.writeB)
			var e struct {
				Detail string `json:"detail"`
			}
			name := strings.ToUpper(method) + " " + path
			if status != 404 || json.Unmarshal(body, &e) != nil || e.Detail == "" {
				t.Errorf("%s with another organization's owner key (%s): %d %s, want 404 {detail}", name, concrete, status, body)
			}
			// Last-used writes of B's key run in the background; let them land
			// so a write of the route itself is not hidden behind them.
			time.Sleep(20 * time.Millisecond)
			if changed := diffDigests(before, digestTables(t, w.pool)); len(changed) > 0 {
				t.Errorf("%s with another organization's key changed tables %v", name, changed)
			}
			if h := historyLength(t, w.temporal, run); h != history {
				t.Errorf("%s with another organization's key changed A's workflow (history %d → %d events)", name, history, h)
			}
			tested++
		}
	}
	// The routes that exist since the API-key issue, at least: a run of
	// this test that reached none of them proves nothing.
	for _, must := range []string{"/api/v1/projects/{id}/bulk-mapping", "/api/v1/organizations/{org}/api-keys/{id}", "/api/v1/workflows/{id}/cancel"} {
		if _, ok := doc.Paths[must]; !ok {
			t.Errorf("%s is not in the API any more: this test relies on it being checked", must)
		}
	}
	if tested < 6 {
		t.Fatalf("only %d operations tested", tested)
	}
	t.Logf("%d organization-scoped operations checked", tested)

	// Within A: every operation on A's project with A's owner's write key
	// restricted to another project of A is 403 {detail} and writes nothing.
	t.Run("key of another project", func(t *testing.T) {
		checked := 0
		for _, path := range paths {
			params := pathParam.FindAllStringSubmatchIndex(path, -1)
			concrete, _ := w.fill(path, params)
			if !strings.Contains(concrete, "/projects/"+w.projectA.ID) {
				continue
			}
			for method, raw := range doc.Paths[path] {
				if method == "parameters" {
					continue
				}
				var op operation
				if err := json.Unmarshal(raw, &op); err != nil {
					t.Fatal(err)
				}
				before := digestTables(t, w.pool)
				status, body := w.send(t, method, concrete, op.RequestBody.Content, doc.Components.Schemas, w.otherProjectA)
				var e struct {
					Detail string `json:"detail"`
				}
				name := strings.ToUpper(method) + " " + path
				if status != 403 || json.Unmarshal(body, &e) != nil || e.Detail == "" {
					t.Errorf("%s with a key restricted to another project (%s): %d %s, want 403 {detail}", name, concrete, status, body)
				}
				time.Sleep(20 * time.Millisecond)
				if changed := diffDigests(before, digestTables(t, w.pool)); len(changed) > 0 {
					t.Errorf("%s with a key restricted to another project changed tables %v", name, changed)
				}
				checked++
			}
		}
		if checked < 20 {
			t.Fatalf("only %d project operations checked", checked)
		}
		t.Logf("%d project operations refuse a key of another project", checked)
	})

	// A's own key still reaches A's project: the 404s were isolation, not
	// routes that fail for everyone.
	req := httptest.NewRequest("GET", "/api/v1/workflows/"+run, nil)
	req.Header.Set("Authorization", "Bearer "+w.rawKeyA)
	if res, err := w.srv.App().Test(req, -1); err != nil || res.StatusCode != 200 {
		t.Errorf("A's owner reading A's bulk mapping: %v %v", res, err)
	}
}

// operation is what the tests read of an OpenAPI operation: its body's
// schema per content type.
type operation struct {
	RequestBody struct {
		Content map[string]mediaType `json:"content"`
	} `json:"requestBody"`
}

type mediaType struct {
	Schema map[string]any `json:"schema"`
}

// send calls method on concrete with key and, when the operation takes a
// body, an example of its first content type; it returns the status and
// the body of the answer.
func (w *isolationWorld) send(t *testing.T, method, concrete string, content map[string]mediaType, schemas map[string]any, key string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(strings.ToUpper(method), concrete, nil)
	for ct, media := range content {
		setBody(req, ct, example(media.Schema, schemas, 0))
		break
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := w.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, body
}

// expectNothingOfA reads path with B's key and fails if the answer holds
// one of organization A's identifiers.
func (w *isolationWorld) expectNothingOfA(t *testing.T, path string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+w.writeB)
	res, err := w.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for name, id := range map[string]string{"organization id": w.orgA.ID, "project id": w.projectA.ID,
		"API key id": w.keyA.ID, "API key prefix": w.keyA.Prefix, "project name": w.projectA.Name} {
		if bytes.Contains(body, []byte(id)) {
			t.Errorf("GET %s with another organization's key answers A's %s %q: %.300s", path, name, id, body)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// isolationParam says which of organization A's ids to send for a path
// parameter named name that follows the segment prev, and whether the
// parameter names something A owns. known is false for a parameter it
// cannot classify.
func (w *isolationWorld) isolationParam(prev, name string) (value string, owned, known bool) {
	switch {
	case name == "pid" || name == "project_id" || name == "projectId" || (name == "id" && prev == "projects"):
		return w.projectA.ID, true, true
	case name == "org" || prev == "organizations":
		return w.orgA.ID, true, true
	case name == "id" && prev == "workflows":
		return workflows.BulkMappingWorkflowID(w.projectA.ID), true, true
	case name == "id" && prev == "api-keys":
		return w.keyA.ID, false, true
	case name == "mid" || name == "mapping_id" || name == "item_id":
		return strconv.FormatInt(w.itemA.ID, 10), false, true
	case name == "format":
		return "source_to_concept_map", false, true
	}
	return "", false, false
}

// fill substitutes organization A's ids for the parameters of path. A path
// with a parameter naming something A owns is organization-scoped; its
// other, unrecognised parameters get a placeholder (the organization check
// comes first, so they are never looked at for B).
func (w *isolationWorld) fill(path string, params [][]int) (concrete string, owned bool) {
	var b strings.Builder
	last := 0
	for _, m := range params {
		segs := strings.Split(strings.Trim(path[:m[0]], "/"), "/")
		prev := segs[len(segs)-1]
		value, own, known := w.isolationParam(prev, path[m[2]:m[3]])
		if !known {
			value = "00000000-0000-4000-8000-000000000001"
		}
		owned = owned || own
		b.WriteString(path[last:m[0]])
		b.WriteString(value)
		last = m[1]
	}
	b.WriteString(path[last:])
	return b.String(), owned
}

func newIsolationWorld(t *testing.T) *isolationWorld {
	t.Helper()
	ctx := context.Background()
	dev := startTemporal(t)

	env := map[string]string{
		"DB_PASSWORD": "unused: the test hands openBackends its pool", "JWT_SECRET": "isolation-jwt-secret-isolation-jwt-secret",
		"API_KEY_SALT": "isolation-salt-isolation-salt-isolation", "ADMIN_TOKEN": "isolation-admin-token-isolation-admin",
		"EMBEDDING_MODEL": "hash", "FAISS_INDEX_PATH": t.TempDir() + "/faiss.index",
		// B's key calls every route in a few seconds: a per-key rate limit
		// must not answer 429 in place of the 404 under test.
		"RATE_LIMIT_PER_MINUTE": "1000000",
	}
	cfg, err := config.Load(config.ModeAPI, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	w := &isolationWorld{pool: dbtest.New(t), temporal: dev.Client()}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	b, err := openBackends(cfg, w.pool, dev.Client(), "test", logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if w.srv, err = b.api(); err != nil {
		t.Fatal(err)
	}
	hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
	if err != nil {
		t.Fatal(err)
	}
	key := func(org, user string) (string, tenancy.APIKey) {
		issued := hasher.Issue()
		k, err := b.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org, UserID: user, Name: "isolation",
			Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}})
		if err != nil {
			t.Fatal(err)
		}
		return issued.Key, k
	}
	owner := func(org, email string) tenancy.User {
		u, err := b.tenants.CreateUser(ctx, tenancy.User{Email: email, Name: "owner"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.tenants.AddMember(ctx, tenancy.Membership{OrganizationID: org, UserID: u.ID, Role: tenancy.RoleOwner}); err != nil {
			t.Fatal(err)
		}
		return u
	}

	// Organization A: a project with source codes, mapping items, a key
	// and a running bulk mapping (no worker runs, so it stays running).
	if w.orgA, err = b.tenants.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "isolation-a"}); err != nil {
		t.Fatal(err)
	}
	ownerA := owner(w.orgA.ID, "owner@a.example")
	if w.projectA, err = b.tenants.CreateProject(ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "isolation-project-of-a", CreatedBy: ownerA.ID}); err != nil {
		t.Fatal(err)
	}
	w.rawKeyA, w.keyA = key(w.orgA.ID, ownerA.ID)
	codes := []mappingjob.SourceCode{{Source: "LAB", Code: "GLU", Description: "glucose"}, {Source: "LAB", Code: "HB", Description: "haemoglobin"}}
	if _, err := b.jobs.AddSourceCodes(ctx, w.projectA.ID, codes); err != nil {
		t.Fatal(err)
	}
	if err := b.jobs.UpsertItems(ctx, w.projectA.ID, []mappingjob.Item{{Source: "LAB", Code: "GLU", Description: "glucose",
		Method: mappingjob.MethodReview, Confidence: 0.5, Review: mappingjob.ReviewPending}}); err != nil {
		t.Fatal(err)
	}
	items, err := b.jobs.Items(ctx, w.projectA.ID)
	if err != nil || len(items) != 1 {
		t.Fatalf("A's items: %v %v", items, err)
	}
	w.itemA = items[0]
	req := httptest.NewRequest("POST", "/api/v1/projects/"+w.projectA.ID+"/bulk-mapping", nil)
	req.Header.Set(credential.HeaderAPIKey, w.rawKeyA)
	if res, err := w.srv.App().Test(req, -1); err != nil || res.StatusCode != 202 {
		t.Fatalf("start A's bulk mapping: %v %v", res, err)
	}

	// A second project of A and a write key restricted to it.
	projectA2, err := b.tenants.CreateProject(ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "isolation-other-project-of-a", CreatedBy: ownerA.ID})
	if err != nil {
		t.Fatal(err)
	}
	issued := hasher.Issue()
	if _, err := b.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: w.orgA.ID, UserID: ownerA.ID, ProjectID: projectA2.ID, Name: "isolation-other-project",
		Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}}); err != nil {
		t.Fatal(err)
	}
	w.otherProjectA = issued.Key

	// Organization B: an owner with an organization-wide write key, the
	// strongest credential short of the operator's.
	orgB, err := b.tenants.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "isolation-b"})
	if err != nil {
		t.Fatal(err)
	}
	w.writeB, _ = key(orgB.ID, owner(orgB.ID, "owner@b.example").ID)
	return w
}

// setBody puts v in req as content type ct: JSON, or a multipart form
// whose "file" field is a small CSV of source codes and whose other fields
// are v's.
func setBody(req *http.Request, ct string, v any) {
	var buf bytes.Buffer
	if strings.HasPrefix(ct, "multipart/") {
		mw := multipart.NewWriter(&buf)
		if fields, ok := v.(map[string]any); ok {
			for k, f := range fields {
				if k != "file" {
					mw.WriteField(k, fmt.Sprint(f))
				}
			}
		}
		fw, _ := mw.CreateFormFile("file", "codes.csv")
		io.WriteString(fw, "code,description,count\nGLU,glucose,3\n")
		mw.Close()
		ct = mw.FormDataContentType()
	} else {
		json.NewEncoder(&buf).Encode(v)
	}
	req.Body = io.NopCloser(&buf)
	req.ContentLength = int64(buf.Len())
	req.Header.Set("Content-Type", ct)
}

// example builds a plausible value for an OpenAPI schema: its example,
// default or first enum value when it has one, else a value of its type
// within its bounds, objects with every property.
func example(s map[string]any, schemas map[string]any, depth int) any {
	if s == nil || depth > 8 {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		target, _ := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return example(target, schemas, depth+1)
	}
	for _, k := range []string{"example", "default"} {
		if v, ok := s[k]; ok && v != nil {
			return v
		}
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			first, _ := alts[0].(map[string]any)
			return example(first, schemas, depth+1)
		}
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			ps, _ := p.(map[string]any)
			out[k] = example(ps, schemas, depth+1)
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{example(items, schemas, depth+1)}
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return 1
	case "boolean":
		return false
	case "string":
		switch s["format"] {
		case "date-time":
			return time.Now().UTC().Format(time.RFC3339)
		case "date":
			return time.Now().UTC().Format("2006-01-02")
		case "uuid":
			return "00000000-0000-4000-8000-000000000002"
		}
		return "isolation"
	}
	return nil
}

// ignoredColumns are bookkeeping a request may write without changing
// anything an organization owns: the background last-used time of the key
// that made it.
var ignoredColumns = map[string]bool{"public.api_keys.last_used_at": true}

// digestTables returns, for every base table of every schema of the
// database, its row count and a digest of all its rows (ignoredColumns
// aside), keyed by schema.table.
func digestTables(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		select c.table_schema, c.table_name, c.column_name
		from information_schema.columns c
		join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
		where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')
		order by c.table_schema, c.table_name, c.ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	columns := map[[2]string][]string{}
	for rows.Next() {
		var schema, table, column string
		if err := rows.Scan(&schema, &table, &column); err != nil {
			t.Fatal(err)
		}
		k := [2]string{schema, table}
		if !ignoredColumns[schema+"."+table+"."+column] {
			columns[k] = append(columns[k], pgx.Identifier{column}.Sanitize())
		} else if columns[k] == nil {
			columns[k] = []string{}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(columns))
	for k, cols := range columns {
		row := "1"
		if len(cols) > 0 {
			row = "row(" + strings.Join(cols, ", ") + ")::text"
		}
		q := `select count(*) || ':' || coalesce(md5(string_agg(r, E'\n' order by r)), '') from (select ` + row +
			` as r from ` + pgx.Identifier{k[0], k[1]}.Sanitize() + `) s`
		var d string
		if err := pool.QueryRow(ctx, q).Scan(&d); err != nil {
			t.Fatalf("digest %s.%s: %v", k[0], k[1], err)
		}
		out[k[0]+"."+k[1]] = d
	}
	if len(out) == 0 {
		t.Fatal("no tables found")
	}
	return out
}

// diffDigests names the tables whose digests differ (or that appeared or
// went away).
func diffDigests(before, after map[string]string) []string {
	var changed []string
	for k, v := range before {
		if after[k] != v {
			changed = append(changed, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	return changed
}

// historyLength is the length of workflow id's history: any signal,
// cancellation request or new run adds to it.
func historyLength(t *testing.T, tc client.Client, id string) int64 {
	t.Helper()
	d, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d.WorkflowExecutionInfo.HistoryLength
}

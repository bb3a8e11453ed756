package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/workflows"
)

// projectAPI is the API with the project, source and bulk-mapping routes
// over real tenancystore and mappingjobstore on a fresh database, with the
// real credential.Authenticator. Organization A has a user per role;
// organization B an owner. keys holds a write key per role of A ("owner",
// "admin", "member", "viewer"), "read" (A's owner, read scope), "other"
// (B's owner) and "operator" (the operator token).
type projectAPI struct {
	s      *apiserver.Server
	pool   *pgxpool.Pool
	store  *tenancystore.Store
	jobs   *mappingjobstore.Store
	hasher *credential.KeyHasher
	bulk   *fakeWorkflows
	orgA   tenancy.Organization
	orgB   tenancy.Organization
	users  map[tenancy.Role]tenancy.User
	keys   map[string]string
}

const projectTestSalt = "project-salt-project-salt-project-salt"

// newProjectAPI builds the world; uploadMax is the upload limit (0: the
// default). Auth plumbing lives here only, so a change to it is one edit.
func newProjectAPI(t *testing.T, uploadMax int64) *projectAPI {
	t.Helper()
	ctx := context.Background()
	w := &projectAPI{pool: dbtest.New(t), bulk: &fakeWorkflows{running: map[string]workflows.Run{}},
		users: map[tenancy.Role]tenancy.User{}, keys: map[string]string{"operator": adminToken}}
	w.store, w.jobs = tenancystore.New(w.pool), mappingjobstore.New(w.pool)
	var err error
	if w.hasher, err = credential.NewKeyHasher(projectTestSalt); err != nil {
		t.Fatal(err)
	}
	tokens, err := credential.NewTokenService(projectTestSalt, w.store.Keys())
	if err != nil {
		t.Fatal(err)
	}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: w.store.Keys(), Hasher: w.hasher, Tokens: tokens, OperatorToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.orgA, err = w.store.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "org-a"})
	must(err)
	w.orgB, err = w.store.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	must(err)
	for _, role := range []tenancy.Role{tenancy.RoleOwner, tenancy.RoleAdmin, tenancy.RoleMember, tenancy.RoleViewer} {
		u, err := w.store.CreateUser(ctx, tenancy.User{Email: string(role) + "@a.example"})
		must(err)
		_, err = w.store.AddMember(ctx, tenancy.Membership{OrganizationID: w.orgA.ID, UserID: u.ID, Role: role})
		must(err)
		w.users[role] = u
		w.keys[string(role)] = w.key(t, w.orgA.ID, u.ID, "", credential.ScopeWrite)
	}
	w.keys["read"] = w.key(t, w.orgA.ID, w.users[tenancy.RoleOwner].ID, "", credential.ScopeRead)
	ownerB, err := w.store.CreateUser(ctx, tenancy.User{Email: "owner@b.example"})
	must(err)
	_, err = w.store.AddMember(ctx, tenancy.Membership{OrganizationID: w.orgB.ID, UserID: ownerB.ID, Role: tenancy.RoleOwner})
	must(err)
	w.keys["other"] = w.key(t, w.orgB.ID, ownerB.ID, "", credential.ScopeWrite)

	w.s, err = apiserver.New(apiserver.Config{
		Auth: a,
		Resources: []apiserver.Resource{
			&apiserver.ProjectCatalog{Projects: w.store},
			&apiserver.Sources{Projects: w.store, Sources: w.jobs, MaxBytes: uploadMax},
			&apiserver.Projects{Projects: w.store, Workflows: w.bulk, Sources: w.jobs},
		},
	})
	must(err)
	return w
}

// key stores a key of org created by user, restricted to project when set.
func (w *projectAPI) key(t *testing.T, org, user, project string, scope credential.Scope) string {
	t.Helper()
	k := w.hasher.Issue()
	if _, err := w.store.CreateAPIKey(context.Background(), tenancy.APIKey{OrganizationID: org, UserID: user, ProjectID: project,
		Name: "t", Prefix: k.Prefix, Hash: k.Hash.String(), Scopes: []string{string(scope)}}); err != nil {
		t.Fatal(err)
	}
	return k.Key
}

// call sends a JSON body (or none) as who and returns the status and the
// decoded JSON answer, failing when the answer is not JSON.
func (w *projectAPI) call(t *testing.T, who, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return w.send(t, who, req)
}

func (w *projectAPI) send(t *testing.T, who string, req *http.Request) (int, map[string]any) {
	t.Helper()
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+w.keys[who])
	}
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object (%v): %q", req.Method, req.URL.Path, err, raw)
	}
	return resp.StatusCode, out
}

// createProject creates a project as A's owner and returns its id.
func (w *projectAPI) createProject(t *testing.T, name string) string {
	t.Helper()
	st, body := w.call(t, "owner", "POST", "/projects", `{"name":"`+name+`","target_model":"omop_cdm_v5.4","vocabularies":["LOINC"]}`)
	if st != 201 {
		t.Fatalf("create %s: %d %v", name, st, body)
	}
	return body["id"].(string)
}

func detail(body map[string]any) string { s, _ := body["detail"].(string); return s }

// The SDK's three create bodies, list, get and delete, in its shapes.
func TestProjectsCRUDInSDKShapes(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	// Client.create_project: description null.
	st, created := w.call(t, "member", "POST", "/projects",
		`{"name":"labs","target_model":"omop_cdm_v5.3","vocabularies":["SNOMED","LOINC","RxNorm","ICD10CM"],"description":null}`)
	if st != 201 || created["id"] == "" || created["name"] != "labs" || created["target_model"] != "omop_cdm_v5.3" ||
		created["task"] != "standardize" || created["source_standard"] != nil || created["created_at"] == nil || created["description"] != "" {
		t.Fatalf("create: %d %v", st, created)
	}
	if v := created["vocabularies"].([]any); len(v) != 4 || v[1] != "LOINC" {
		t.Errorf("vocabularies %v", v)
	}
	if s := created["settings"].(map[string]any); s["second_reviewer"] != "none" || len(s["vocabularies"].([]any)) != 4 {
		t.Errorf("settings %v", s)
	}
	// CloudStorageBackend.create_project: task and source_standard.
	st, cloud := w.call(t, "owner", "POST", "/projects",
		`{"name":"crossmap","target_model":"fhir_r4","vocabularies":["LOINC"],"task":"cross_map","source_standard":"icd10"}`)
	if st != 201 || cloud["task"] != "cross_map" || cloud["source_standard"] != "icd10" || cloud["target_model"] != "fhir_r4" {
		t.Fatalf("create (cloud backend): %d %v", st, cloud)
	}
	// SyncManager.push: three keys; an absent target model is the default.
	st, pushed := w.call(t, "owner", "POST", "/projects", `{"name":"pushed","target_model":null,"vocabularies":null}`)
	if st != 201 || pushed["target_model"] != "omop_cdm_v5.4" || len(pushed["vocabularies"].([]any)) != 0 {
		t.Fatalf("create (sync push): %d %v", st, pushed)
	}
	if st, body := w.call(t, "owner", "POST", "/projects", `{"name":"labs","target_model":"omop_cdm_v5.4","vocabularies":[]}`); st != 409 || !strings.Contains(detail(body), `"labs"`) {
		t.Errorf("duplicate name: %d %v, want 409 naming it", st, body)
	}
	// Another organization may use the name.
	if st, body := w.call(t, "other", "POST", "/projects", `{"name":"labs"}`); st != 201 {
		t.Errorf("same name in another organization: %d %v", st, body)
	}
	for body, want := range map[string]string{
		`{"name":"x","target_model":"omop_cdm_v6"}`: `"target_model"`,
		`{"name":"   "}`:                           `"name"`,
		`{"target_model":"fhir_r4"}`:               `"name"`,
		`{"name":"x","vocabularies":"LOINC"}`:      `"vocabularies"`,
		`{"name":"x","vocabularies":["LOINC",""]}`: `"vocabularies"`,
		`{"name":5}`:                               `"name"`,
		`[]`:                                       `object`,
	} {
		if st, got := w.call(t, "owner", "POST", "/projects", body); st != 422 || !strings.Contains(detail(got), want) {
			t.Errorf("POST %s: %d %v, want 422 naming %s", body, st, got, want)
		}
	}

	st, list := w.call(t, "viewer", "GET", "/projects", "")
	projects, _ := list["projects"].([]any)
	if st != 200 || len(projects) != 3 {
		t.Fatalf("list: %d %v", st, list)
	}
	for _, p := range projects {
		p := p.(map[string]any)
		for _, k := range []string{"id", "name", "target_model", "vocabularies"} {
			if p[k] == nil {
				t.Errorf("listed project lacks %s: %v", k, p)
			}
		}
	}
	if projects[0].(map[string]any)["name"] != "crossmap" {
		t.Errorf("list is not by name: %v", projects)
	}
	id := created["id"].(string)
	if st, got := w.call(t, "viewer", "GET", "/projects/"+id, ""); st != 200 || got["id"] != id || got["name"] != "labs" || got["target_model"] != "omop_cdm_v5.3" {
		t.Errorf("get: %d %v", st, got)
	}
	if st, got := w.call(t, "admin", "DELETE", "/projects/"+id, ""); st != 200 || got["id"] != id || got["deleted"] != true {
		t.Errorf("delete: %d %v", st, got)
	}
	if st, got := w.call(t, "owner", "GET", "/projects/"+id, ""); st != 404 {
		t.Errorf("get after delete: %d %v", st, got)
	}
	if st, got := w.call(t, "owner", "DELETE", "/projects/"+id, ""); st != 404 {
		t.Errorf("delete twice: %d %v", st, got)
	}
	if st, got := w.call(t, "owner", "GET", "/projects/not-a-uuid", ""); st != 404 {
		t.Errorf("malformed id: %d %v", st, got)
	}
}

// Who may create, list, delete and change settings.
func TestProjectRolesAndScopes(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	other := w.createProject(t, "pharmacy")
	w.keys["project"] = w.key(t, w.orgA.ID, w.users[tenancy.RoleOwner].ID, id, credential.ScopeWrite)

	for who, want := range map[string]int{"viewer": 403, "read": 403, "project": 403, "operator": 403, "member": 201, "": 401} {
		if st, body := w.call(t, who, "POST", "/projects", `{"name":"by-`+who+`"}`); st != want || (st != 201 && detail(body) == "") {
			t.Errorf("create as %q: %d %v, want %d", who, st, body, want)
		}
	}
	// A project key lists only its project, and reaches no other.
	st, list := w.call(t, "project", "GET", "/projects", "")
	if projects, _ := list["projects"].([]any); st != 200 || len(projects) != 1 || projects[0].(map[string]any)["id"] != id {
		t.Errorf("project key's list: %d %v", st, list)
	}
	if st, body := w.call(t, "project", "GET", "/projects/"+other, ""); st != 403 {
		t.Errorf("project key on another project: %d %v", st, body)
	}
	if st, body := w.call(t, "operator", "GET", "/projects/"+id, ""); st != 200 {
		t.Errorf("operator reads a project: %d %v", st, body)
	}
	for _, who := range []string{"member", "viewer", "read"} {
		if st, body := w.call(t, who, "DELETE", "/projects/"+id, ""); st != 403 || detail(body) == "" {
			t.Errorf("delete as %s: %d %v, want 403", who, st, body)
		}
		if st, body := w.call(t, who, "PATCH", "/projects/"+id+"/settings", `{"auto_threshold":0.9}`); st != 403 {
			t.Errorf("settings as %s: %d %v, want 403", who, st, body)
		}
	}
	if st, body := w.call(t, "viewer", "GET", "/projects/"+id+"/settings", ""); st != 200 {
		t.Errorf("viewer reads settings: %d %v", st, body)
	}
	if st, body := w.call(t, "operator", "DELETE", "/projects/"+other, ""); st != 200 {
		t.Errorf("operator deletes: %d %v", st, body)
	}
	if st, body := w.call(t, "owner", "DELETE", "/projects/"+id, ""); st != 200 {
		t.Errorf("owner deletes: %d %v", st, body)
	}
}

// Another organization's project is 404 on every project and source route,
// and nothing changes.
func TestProjectRoutesAcrossOrganizations(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	src := w.upload(t, "owner", id, uploadForm{name: "lab", file: "code,description\nA,Sodium\n"})
	if src.status != 201 {
		t.Fatalf("upload: %d %v", src.status, src.body)
	}
	sid := src.body["id"].(string)
	for _, r := range [][3]string{
		{"GET", "/projects/" + id, ""}, {"DELETE", "/projects/" + id, ""},
		{"GET", "/projects/" + id + "/settings", ""}, {"PATCH", "/projects/" + id + "/settings", `{"auto_threshold":1}`},
		{"GET", "/projects/" + id + "/sources", ""}, {"GET", "/projects/" + id + "/sources/" + sid, ""},
		{"POST", "/projects/" + id + "/sources", `{"name":"x","path":"x.csv","format":"csv"}`},
		{"POST", "/projects/" + id + "/bulk-mapping", `{"source_id":"` + sid + `"}`},
	} {
		if st, body := w.call(t, "other", r[0], r[1], r[2]); st != 404 || detail(body) == "" {
			t.Errorf("%s %s from another organization: %d %v, want 404", r[0], r[1], st, body)
		}
	}
	if got := w.upload(t, "other", id, uploadForm{name: "evil", file: "code,description\nB,Potassium\n"}); got.status != 404 {
		t.Errorf("upload from another organization: %d %v", got.status, got.body)
	}
	if st, body := w.call(t, "other", "GET", "/projects", ""); st != 200 || len(body["projects"].([]any)) != 0 {
		t.Errorf("another organization's list: %d %v", st, body)
	}
	p, err := w.store.Project(context.Background(), id)
	if err != nil || p.Settings.AutoThreshold != 0 {
		t.Errorf("project after the attempts: %+v %v", p, err)
	}
	w.counts(t, id, 1, 1)
	if len(w.bulk.bulk) != 0 {
		t.Errorf("bulk mapping started: %v", w.bulk.bulk)
	}
}

func TestProjectSettings(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	path := "/projects/" + id + "/settings"
	st, got := w.call(t, "viewer", "GET", path, "")
	if st != 200 || got["auto_threshold"] != 0.0 || got["second_reviewer"] != "none" || len(got["vocabularies"].([]any)) != 1 || got["domains"] == nil {
		t.Fatalf("defaults: %d %v", st, got)
	}
	st, got = w.call(t, "admin", "PATCH", path, `{"domains":["Measurement"],"auto_threshold":0.9,"review_threshold":0.6,"second_reviewer":"overrides"}`)
	if st != 200 || got["auto_threshold"] != 0.9 || got["review_threshold"] != 0.6 || got["second_reviewer"] != "overrides" ||
		got["domains"].([]any)[0] != "Measurement" || got["vocabularies"].([]any)[0] != "LOINC" {
		t.Fatalf("patch: %d %v", st, got)
	}
	for body, want := range map[string]string{
		`{"review_threshold":0.95}`:                   `"review_threshold" (0.95) must not exceed auto_threshold (0.9)`,
		`{"auto_threshold":0.5}`:                      `"review_threshold" (0.6) must not exceed auto_threshold (0.5)`,
		`{"auto_threshold":1.5}`:                      `"auto_threshold" must be between 0 and 1`,
		`{"review_threshold":-0.1}`:                   `"review_threshold" must be between 0 and 1`,
		`{"second_reviewer":"sometimes"}`:             `"second_reviewer" must be none, overrides or all`,
		`{"auto_treshold":0.8}`:                       `unknown field "auto_treshold"`,
		`{"domains":"Measurement"}`:                   `"domains"`,
		`{"vocabularies":[""]}`:                       `"vocabularies"`,
		``:                                            `empty`,
		`{"auto_threshold":0.9} {"auto_threshold":1}`: `after its JSON value`,
	} {
		if st, got := w.call(t, "owner", "PATCH", path, body); st != 422 || !strings.Contains(detail(got), want) {
			t.Errorf("PATCH %s: %d %v, want 422 containing %s", body, st, got, want)
		}
	}
	if st, got := w.call(t, "owner", "GET", "/projects/"+id, ""); st != 200 || got["settings"].(map[string]any)["auto_threshold"] != 0.9 {
		t.Errorf("settings after refused patches: %d %v", st, got)
	}
}

// uploadForm is a multipart upload: fields in order, then the file (unless
// fieldsAfter), then fieldsAfter.
type uploadForm struct {
	name        string
	fields      [][2]string
	fieldsAfter [][2]string
	filename    string
	file        string
	noFile      bool
}

type uploadAnswer struct {
	status int
	body   map[string]any
}

func (w *projectAPI) upload(t *testing.T, who, project string, f uploadForm) uploadAnswer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	write := func(fields [][2]string) {
		for _, kv := range fields {
			if err := mw.WriteField(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f.name != "" {
		write([][2]string{{"name", f.name}})
	}
	write(f.fields)
	if !f.noFile {
		fn := f.filename
		if fn == "" {
			fn = "codes.csv"
		}
		fw, err := mw.CreateFormFile("file", fn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(fw, f.file); err != nil {
			t.Fatal(err)
		}
	}
	write(f.fieldsAfter)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/projects/"+project+"/sources", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	st, body := w.send(t, who, req)
	return uploadAnswer{st, body}
}

// counts checks how many sources and source codes project has.
func (w *projectAPI) counts(t *testing.T, project string, sources, codes int) {
	t.Helper()
	var s, c int
	if err := w.pool.QueryRow(context.Background(), `select (select count(*) from sources where project_id = $1),
		(select count(*) from source_codes where project_id = $1)`, project).Scan(&s, &c); err != nil {
		t.Fatal(err)
	}
	if s != sources || c != codes {
		t.Errorf("project has %d sources and %d source codes, want %d and %d", s, c, sources, codes)
	}
}

// Good uploads: counts summed per distinct code, context kept, each
// delimiter and a BOM; the codes are stored with their source.
func TestSourceUpload(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	got := w.upload(t, "member", id, uploadForm{name: "chemistry",
		file: "Local Code,Term,Frequency,Specimen,Units,Domain\nNA,Sodium,10,Serum,mmol/L,Measurement\nK,Potassium,4,,,\nNA,Sodium,5,Urine,,\n\n"})
	b := got.body
	if got.status != 201 || b["id"] == "" || b["name"] != "chemistry" || b["rows"] != 3.0 || b["distinct_codes"] != 2.0 ||
		b["total_count"] != 19.0 || b["kind"] != "upload" || b["format"] != "csv" || b["delimiter"] != "," {
		t.Fatalf("upload: %d %v", got.status, b)
	}
	cols := b["columns"].(map[string]any)
	if cols["code"] != "Local Code" || cols["description"] != "Term" || cols["count"] != "Frequency" || cols["specimen"] != "Specimen" ||
		cols["unit"] != "Units" || cols["domain"] != "Domain" {
		t.Errorf("columns %v", cols)
	}
	sid := b["id"].(string)
	codes, err := w.jobs.SourceCodes(context.Background(), id, sid, 0, 10)
	if err != nil || len(codes) != 2 {
		t.Fatalf("stored codes %+v %v", codes, err)
	}
	na := codes[0]
	if na.Code != "NA" || na.Count != 15 || na.Specimen != "Serum" || na.Unit != "mmol/L" || na.DomainHint != "Measurement" ||
		na.Source != "chemistry" || na.SourceID != sid || na.Column != "Local Code" || codes[1].Count != 4 {
		t.Errorf("stored %+v", codes)
	}

	for name, file := range map[string]string{
		"semicolon": "code;description;count\nA;Glucose;2\nB;Urea;3\n",
		"tab":       "code\tdescription\tcount\nA\tGlucose\t2\nB\tUrea\t3\n",
		"bom":       "\ufeffcode,description,count\r\nA,Glucose,2\r\nB,Urea,3\r\n",
	} {
		got := w.upload(t, "member", id, uploadForm{name: name, file: file})
		if got.status != 201 || got.body["distinct_codes"] != 2.0 || got.body["total_count"] != 5.0 || got.body["columns"].(map[string]any)["code"] != "code" {
			t.Errorf("%s: %d %v", name, got.status, got.body)
		}
	}
	// Named columns (before the file); the name defaults to the file's.
	got = w.upload(t, "member", id, uploadForm{filename: "C:\\exports\\pharmacy.csv",
		fields: [][2]string{{"code_column", "ndc"}, {"description_column", "drug"}}, file: "ndc,drug,code\n1,aspirin,x\n"})
	if got.status != 201 || got.body["name"] != "pharmacy.csv" || got.body["columns"].(map[string]any)["code"] != "ndc" {
		t.Errorf("named columns: %d %v", got.status, got.body)
	}
	// A free-text source: rows without a code use their description.
	got = w.upload(t, "member", id, uploadForm{name: "free text", fields: [][2]string{{"description_as_code", "true"}},
		file: "code,description\n,chest pain\nX1,fever\n"})
	if got.status != 201 || got.body["distinct_codes"] != 2.0 {
		t.Errorf("description as code: %d %v", got.status, got.body)
	}
	w.counts(t, id, 6, 11)

	st, list := w.call(t, "viewer", "GET", "/projects/"+id+"/sources", "")
	if sources, _ := list["sources"].([]any); st != 200 || len(sources) != 6 || sources[0].(map[string]any)["id"] != sid {
		t.Errorf("list: %d %v", st, list)
	}
	if st, one := w.call(t, "viewer", "GET", "/projects/"+id+"/sources/"+sid, ""); st != 200 || one["name"] != "chemistry" || one["distinct_codes"] != 2.0 {
		t.Errorf("get: %d %v", st, one)
	}
	for _, bad := range []string{"00000000-0000-0000-0000-000000000000", "nope"} {
		if st, one := w.call(t, "viewer", "GET", "/projects/"+id+"/sources/"+bad, ""); st != 404 || !strings.Contains(detail(one), bad) {
			t.Errorf("get %s: %d %v", bad, st, one)
		}
	}
	// A viewer or a read key may not upload.
	for _, who := range []string{"viewer", "read"} {
		if got := w.upload(t, who, id, uploadForm{name: "no", file: "code,description\nA,x\n"}); got.status != 403 {
			t.Errorf("upload as %s: %d %v", who, got.status, got.body)
		}
	}
	w.counts(t, id, 6, 11)
}

// Every bad upload is refused with a detail naming the problem, and stores
// nothing.
func TestBadUploadsStoreNothing(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 1024)
	id := w.createProject(t, "labs")
	big := "code,description\n" + strings.Repeat("A1234,Some long enough description\n", 40)
	for _, c := range []struct {
		name   string
		form   uploadForm
		status int
		want   []string
	}{
		{"malformed rows", uploadForm{file: "code,description,count\nA,ok,1\nB,two fields\n,no code,1\nC,\"open quote,1\nD,x,1\n"}, 422,
			[]string{"malformed rows", "line 3: 2 fields, the header has 3", "line 4: empty code"}},
		{"bad count", uploadForm{file: "code,description,count\nA,ok,1\nB,x,many\n"}, 422, []string{"line 3", `count "many" is not a whole number`}},
		{"invalid UTF-8", uploadForm{file: "code,description\nA,caf\xe9\n"}, 422, []string{"not UTF-8", "line 2", "byte 0xE9", "Latin-1"}},
		{"UTF-16", uploadForm{file: "\xff\xfec\x00o\x00d\x00e\x00"}, 422, []string{"UTF-16LE"}},
		{"missing column", uploadForm{file: "code,label_x\nA,x\n"}, 422, []string{"missing column", "no description column", "code, label_x"}},
		{"named column absent", uploadForm{fields: [][2]string{{"code_column", "ndc"}}, file: "code,description\nA,x\n"}, 422, []string{`no column "ndc" for the code`}},
		{"single column", uploadForm{file: "code\nA\n"}, 422, []string{"single column"}},
		{"empty file", uploadForm{file: ""}, 422, []string{"empty file", "no header"}},
		{"header only", uploadForm{file: "code,description\n"}, 422, []string{"empty file", "no data rows"}},
		{"oversize", uploadForm{file: big}, 413, []string{"file too large", "1024 bytes"}},
		{"no file", uploadForm{noFile: true, fields: [][2]string{{"code_column", "code"}}}, 422, []string{`no "file" field`}},
		{"column after file", uploadForm{file: "code,description\nA,x\n", fieldsAfter: [][2]string{{"code_column", "code"}}}, 422,
			[]string{`"code_column" must come before the file`}},
		{"unknown field", uploadForm{fields: [][2]string{{"colour", "red"}}, file: "code,description\nA,x\n"}, 422, []string{`unknown form field "colour"`}},
		{"bad boolean", uploadForm{fields: [][2]string{{"description_as_code", "maybe"}}, file: "code,description\nA,x\n"}, 422, []string{`"description_as_code" must be true or false`}},
	} {
		c.form.name = "bad"
		got := w.upload(t, "member", id, c.form)
		t.Logf("%s: %d %s", c.name, got.status, detail(got.body))
		if got.status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, got.status, got.body, c.status)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(detail(got.body), want) {
				t.Errorf("%s: detail %q lacks %q", c.name, detail(got.body), want)
			}
		}
	}
	w.counts(t, id, 0, 0)

	// A declared body far above the limit is refused before it is read.
	req := httptest.NewRequest("POST", "/api/v1/projects/"+id+"/sources", strings.NewReader(strings.Repeat("x", 200<<10)))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	if st, body := w.send(t, "member", req); st != 413 || !strings.Contains(detail(body), "1024 bytes") {
		t.Errorf("oversize body: %d %v", st, body)
	}
	// Neither multipart nor JSON.
	req = httptest.NewRequest("POST", "/api/v1/projects/"+id+"/sources", strings.NewReader("code,description\nA,x\n"))
	req.Header.Set("Content-Type", "text/csv")
	if st, body := w.send(t, "member", req); st != 415 || !strings.Contains(detail(body), "multipart/form-data") {
		t.Errorf("text/csv: %d %v", st, body)
	}
	// A name taken is 409 and keeps the first source's codes only.
	if got := w.upload(t, "member", id, uploadForm{name: "lab", file: "code,description\nA,x\n"}); got.status != 201 {
		t.Fatalf("first upload: %d %v", got.status, got.body)
	}
	if got := w.upload(t, "member", id, uploadForm{name: "lab", file: "code,description\nB,y\nC,z\n"}); got.status != 409 || !strings.Contains(detail(got.body), `"lab"`) {
		t.Errorf("same name: %d %v", got.status, got.body)
	}
	w.counts(t, id, 1, 1)
}

// The SDK's Project.add_source registers a client-side file by JSON.
func TestSourceRegistration(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	path := "/projects/" + id + "/sources"
	st, reg := w.call(t, "member", "POST", path, `{"name":"patients","path":"/data/patients.parquet","format":"parquet"}`)
	if st != 201 || reg["id"] == "" || reg["kind"] != "registration" || reg["path"] != "/data/patients.parquet" || reg["format"] != "parquet" || reg["distinct_codes"] != 0.0 {
		t.Fatalf("register: %d %v", st, reg)
	}
	// Registering the same file again (the SDK's script run twice) is the
	// same source; another file under the name is a conflict.
	if st, again := w.call(t, "member", "POST", path, `{"name":"patients","path":"/data/patients.parquet","format":"parquet"}`); st != 200 || again["id"] != reg["id"] {
		t.Errorf("same registration: %d %v", st, again)
	}
	if st, got := w.call(t, "member", "POST", path, `{"name":"patients","path":"/other.csv","format":"csv"}`); st != 409 || !strings.Contains(detail(got), `"patients"`) {
		t.Errorf("other file, same name: %d %v", st, got)
	}
	if st, got := w.call(t, "member", "POST", path, `{"name":"visits","path":"visits.json","format":null}`); st != 201 || got["format"] != "json" {
		t.Errorf("format from the path: %d %v", st, got)
	}
	for body, want := range map[string]string{
		`{"name":"x","path":"x.xlsx","format":"xlsx"}`: `"format"`,
		`{"name":null,"path":"x.csv","format":"csv"}`:  `"name"`,
		`{"name":"x","path":7}`:                        `"path"`,
	} {
		if st, got := w.call(t, "member", "POST", path, body); st != 422 || !strings.Contains(detail(got), want) {
			t.Errorf("POST %s: %d %v, want 422 naming %s", body, st, got, want)
		}
	}
	if st, got := w.call(t, "viewer", "POST", path, `{"name":"v","path":"v.csv","format":"csv"}`); st != 403 {
		t.Errorf("viewer registers: %d %v", st, got)
	}
	w.counts(t, id, 2, 0)
	// A registration has no codes on the server to bulk-map.
	if st, got := w.call(t, "member", "POST", "/projects/"+id+"/bulk-mapping", `{"source_id":"`+reg["id"].(string)+`"}`); st != 422 || !strings.Contains(detail(got), "registration") {
		t.Errorf("bulk mapping a registration: %d %v", st, got)
	}
}

// POST /bulk-mapping with source_id starts a run for that source only.
func TestBulkMappingOfOneSource(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	id := w.createProject(t, "labs")
	up := w.upload(t, "member", id, uploadForm{name: "lab", file: "code,description\nA,Sodium\n"})
	sid := up.body["id"].(string)
	st, run := w.call(t, "member", "POST", "/projects/"+id+"/bulk-mapping", `{"source_id":"`+sid+`","chunk_size":null}`)
	if st != 202 || run["workflow_id"] == nil {
		t.Fatalf("start: %d %v", st, run)
	}
	if st, _ := w.call(t, "member", "POST", "/projects/"+id+"/bulk-mapping", `{"source_id":null}`); st != 202 {
		t.Fatalf("start for every source: %d", st)
	}
	if len(w.bulk.bulk) != 2 || w.bulk.bulk[0].SourceID != sid || w.bulk.bulk[0].ProjectID != id || w.bulk.bulk[1].SourceID != "" {
		t.Errorf("started %+v", w.bulk.bulk)
	}
	for _, bad := range []string{"00000000-0000-0000-0000-000000000000", "nope"} {
		if st, got := w.call(t, "member", "POST", "/projects/"+id+"/bulk-mapping", `{"source_id":"`+bad+`"}`); st != 404 || !strings.Contains(detail(got), bad) {
			t.Errorf("unknown source %s: %d %v", bad, st, got)
		}
	}
	// Another project's source is not this project's.
	other := w.createProject(t, "other")
	if st, got := w.call(t, "member", "POST", "/projects/"+other+"/bulk-mapping", `{"source_id":"`+sid+`"}`); st != 404 {
		t.Errorf("another project's source: %d %v", st, got)
	}
}

// Deleting a project deletes everything it owns: sources, codes, items,
// review events, project keys.
func TestDeleteProjectCascades(t *testing.T) {
	t.Parallel()
	w := newProjectAPI(t, 0)
	ctx := context.Background()
	id := w.createProject(t, "labs")
	keep := w.createProject(t, "keep")
	for _, p := range []string{id, keep} {
		if got := w.upload(t, "member", p, uploadForm{name: "lab", file: "code,description,count\nA,Sodium,3\nB,Potassium,1\n"}); got.status != 201 {
			t.Fatalf("upload: %d %v", got.status, got.body)
		}
		if err := w.jobs.UpsertItems(ctx, p, []mappingjob.Item{{Source: "lab", Code: "A", Method: mappingjob.MethodReview}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.pool.Exec(ctx, `insert into review_events (project_id, item_kind, item_id, actor, action) values ($1, 'concept', 1, 'test', 'approve')`, p); err != nil {
			t.Fatal(err)
		}
		w.key(t, w.orgA.ID, "", p, credential.ScopeRead)
	}
	if st, body := w.call(t, "owner", "DELETE", "/projects/"+id, ""); st != 200 {
		t.Fatalf("delete: %d %v", st, body)
	}
	for _, p := range []struct {
		project string
		want    int
	}{{id, 0}, {keep, 1}} {
		for _, table := range []string{"sources", "concept_mapping_items", "review_events", "api_keys"} {
			var n int
			if err := w.pool.QueryRow(ctx, `select count(*) from `+table+` where project_id = $1`, p.project).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != p.want {
				t.Errorf("%s of project %s: %d rows, want %d", table, p.project, n, p.want)
			}
		}
	}
	w.counts(t, id, 0, 0)
	w.counts(t, keep, 1, 2)
}

// Bodies are streamed: an upload larger than the in-memory body limit of
// the JSON routes (32 MiB) goes through when UPLOAD_MAX_BYTES allows it,
// while a JSON route still refuses a body that large.
func TestUploadAboveTheJSONBodyLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a 33 MiB upload")
	}
	w := newProjectAPI(t, 40<<20)
	id := w.createProject(t, "labs")
	var file strings.Builder
	file.WriteString("code,description\n")
	desc := strings.Repeat("d", 3000)
	n := 0
	for file.Len() <= 33<<20 {
		n++
		fmt.Fprintf(&file, "C%06d,%s\n", n, desc)
	}
	got := w.upload(t, "member", id, uploadForm{name: "big", file: file.String()})
	if got.status != 201 || got.body["distinct_codes"] != float64(n) {
		t.Fatalf("33 MiB upload: %d %v (want %d codes)", got.status, detail(got.body), n)
	}
	w.counts(t, id, 1, n)
	// Refused before its body is read (no credentials): the connection is
	// closed, since the rest of the body is still on it.
	req := httptest.NewRequest("POST", "/api/v1/projects/"+id+"/sources", strings.NewReader(file.String()))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !resp.Close {
		t.Errorf("unauthenticated 33 MiB upload: %d, connection close %v", resp.StatusCode, resp.Close)
	}
	big := `{"name":"` + strings.Repeat("x", 33<<20) + `"}`
	if st, body := w.call(t, "member", "POST", "/projects", big); st != 413 || !strings.Contains(detail(body), "exceeds the limit") {
		t.Errorf("33 MiB JSON body: %d %v", st, detail(body))
	}
}

package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/crossmap/crossmapstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/schemamap"
	"github.com/portiere/portiere/schemamap/schemamapstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// schemaWorld is an API serving the schema mapping and cross-mapping
// routes on a real database, with organization A (its project, a write
// key, a read key and a viewer's key) and organization B (a write key).
type schemaWorld struct {
	s       *apiserver.Server
	pool    *pgxpool.Pool
	project tenancy.Project
	write   string // owner's write key
	read    string // owner's read key
	viewer  string // a viewer's write key
	other   string // organization B's write key
}

// schemaAuth is the real authentication of the schema tests, the one
// place they build it: credential's Authenticator over tenancystore's keys,
// with the operator token adminToken, as the server's Auth, and the hasher
// keys are issued with.
func schemaAuth(t *testing.T, store *tenancystore.Store) (apiserver.Authenticator, *credential.KeyHasher) {
	t.Helper()
	hasher, err := credential.NewKeyHasher(testSalt)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := credential.NewTokenService(testJWTSecret, store.Keys())
	if err != nil {
		t.Fatal(err)
	}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: store.Keys(), Hasher: hasher, Tokens: tokens, OperatorToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, hasher
}

func newSchemaWorld(t *testing.T) *schemaWorld {
	t.Helper()
	ctx := context.Background()
	w := &schemaWorld{pool: dbtest.New(t)}
	store := tenancystore.New(w.pool)
	auth, hasher := schemaAuth(t, store)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	orgA, err := store.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "org-a"})
	must(err)
	orgB, err := store.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	must(err)
	user := func(email string, org string, role tenancy.Role) string {
		u, err := store.CreateUser(ctx, tenancy.User{Email: email})
		must(err)
		_, err = store.AddMember(ctx, tenancy.Membership{OrganizationID: org, UserID: u.ID, Role: role})
		must(err)
		return u.ID
	}
	key := func(org, user string, scope credential.Scope) string {
		k := hasher.Issue()
		_, err := store.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org, UserID: user, Name: "t", Prefix: k.Prefix,
			Hash: k.Hash.String(), Scopes: []string{string(scope)}})
		must(err)
		return k.Key
	}
	owner := user("owner@a.example", orgA.ID, tenancy.RoleOwner)
	viewer := user("viewer@a.example", orgA.ID, tenancy.RoleViewer)
	w.write, w.read = key(orgA.ID, owner, credential.ScopeWrite), key(orgA.ID, owner, credential.ScopeRead)
	w.viewer, w.other = key(orgA.ID, viewer, credential.ScopeWrite), key(orgB.ID, "", credential.ScopeWrite)
	w.project, err = store.CreateProject(ctx, tenancy.Project{OrganizationID: orgA.ID, Name: "etl"})
	must(err)
	cdm, err := schemamap.LoadCDM54()
	must(err)
	w.s, err = apiserver.New(apiserver.Config{
		Auth: auth,
		Resources: []apiserver.Resource{
			&apiserver.SchemaSuggest{CDM: cdm},
			&apiserver.SchemaMappings{Projects: store, Items: schemamapstore.New(w.pool), CDM: cdm},
			&apiserver.CrossMappings{Projects: store, Runs: crossmapstore.New(w.pool)},
		},
	})
	must(err)
	return w
}

// call sends a request with key as bearer ("" for none) and decodes the
// JSON object answered into a generic map (a number stays json.Number).
func (w *schemaWorld) call(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, not a JSON object: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func schemaList(t *testing.T, body map[string]any, key string) []map[string]any {
	t.Helper()
	raw, ok := body[key].([]any)
	if !ok {
		t.Fatalf("no list %q in %v", key, body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

func TestSchemaSuggestBothColumnShapes(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	// The SDK's Project.map_schema / stage2 body: profile columns with
	// name, every key present, null when unset, plus keys we ignore.
	sdk := `{"columns": [
		{"name": "date_of_birth", "type": "date", "nullable": false, "n_unique": 812, "sample_values": ["1956-03-02", "1990-11-23"]},
		{"name": "gender", "type": "string", "nullable": true, "n_unique": null, "sample_values": ["M", "F"]},
		{"name": "weight_kg", "type": "float", "nullable": true, "n_unique": 40, "sample_values": [71.5, 80, null]},
		{"name": "zzqx", "type": "string", "nullable": true, "n_unique": 3, "sample_values": []}],
		"target_model": "omop_cdm_v5.4", "target_schema": {"person": ["person_id"]}, "target_descriptions": null}`
	st, body := w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, sdk)
	if st != 200 {
		t.Fatalf("SDK shape: %d %v", st, body)
	}
	m := schemaList(t, body, "mappings")
	if len(m) != 4 {
		t.Fatalf("mappings: %v", m)
	}
	if m[0]["source_column"] != "date_of_birth" || m[0]["source_table"] != "" || m[0]["target_table"] != "person" ||
		m[0]["target_column"] != "birth_datetime" || m[0]["confidence"] != json.Number("0.96") || m[0]["status"] != "auto_accepted" {
		t.Errorf("date_of_birth: %v", m[0])
	}
	if m[1]["target_column"] != "gender_concept_id" {
		t.Errorf("gender: %v", m[1])
	}
	cands := m[0]["candidates"].([]any)
	if len(cands) == 0 || len(cands) > schemamap.MaxSuggestions {
		t.Fatalf("candidates: %v", cands)
	}
	if c := cands[0].(map[string]any); c["target_table"] != "person" || c["target_column"] != "birth_datetime" || c["confidence"] != json.Number("0.96") {
		t.Errorf("first candidate: %v", c)
	}
	valid := map[any]bool{"auto_accepted": true, "needs_review": true, "unmapped": true}
	for _, it := range m {
		if !valid[it["status"]] {
			t.Errorf("status %v is not one the suggester routes to", it["status"])
		}
	}
	if z := m[3]; z["target_table"] != nil || z["target_column"] != nil || z["status"] != "unmapped" || len(z["candidates"].([]any)) != 0 {
		t.Errorf("an unplaceable column: %v", z)
	}

	// Issue #8's shape: {table, column, sample_values}; the table helps.
	st, body = w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.read,
		`{"columns": [{"table": "admissions", "column": "admittime", "sample_values": ["2020-01-02 10:11:00"]}], "target_model": null}`)
	if st != 200 {
		t.Fatalf("table/column shape: %d %v", st, body)
	}
	if a := schemaList(t, body, "mappings")[0]; a["source_table"] != "admissions" || a["source_column"] != "admittime" ||
		a["target_table"] != "visit_occurrence" || !strings.HasPrefix(a["target_column"].(string), "visit_start_") {
		t.Errorf("admittime: %v", a)
	}

	// A headerless file's columns are named 0, 1, ... by pandas: an integer
	// name is the column's name as written.
	st, body = w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, `{"columns": [{"name": 0, "sample_values": [1, 2]}], "target_model": "omop_cdm_v5.4"}`)
	if st != 200 || schemaList(t, body, "mappings")[0]["source_column"] != "0" {
		t.Errorf("integer column name: %d %v", st, body)
	}

	st, body = w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, `{"columns": [{"name": "x"}], "target_model": "fhir_r4"}`)
	if st != 422 || !strings.Contains(body["detail"].(string), "omop_cdm_v5.4") || !strings.Contains(body["detail"].(string), "fhir_r4") {
		t.Errorf("unsupported model: %d %v", st, body)
	}
	for name, bad := range map[string]string{
		"no columns":      `{"target_model": "omop_cdm_v5.4"}`,
		"nameless column": `{"columns": [{"type": "string"}]}`,
		"object as name":  `{"columns": [{"name": {"a": 1}}]}`,
		"columns wrong":   `{"columns": "dob"}`,
	} {
		if st, body := w.call(t, "POST", "/api/v1/schema-mapping/suggest", w.write, bad); st != 422 || body["detail"] == "" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
	if st, body := w.call(t, "POST", "/api/v1/schema-mapping/suggest", "", sdk); st != 401 {
		t.Errorf("no credentials: %d %v", st, body)
	}
}

// sdkSchemaItems are SchemaMappingItem.model_dump(mode="json") as the SDK
// pushes them: all nine keys, null when unset, free-form candidates.
const sdkSchemaItems = `{"items": [
	{"source_column": "dob", "source_table": "patients", "target_table": "person", "target_column": "birth_datetime",
	 "confidence": 0.96, "status": "auto_accepted",
	 "candidates": [{"target_table": "person", "target_column": "birth_datetime", "confidence": 0.96, "reasons": ["name"]},
	                {"target_table": "person", "target_column": "year_of_birth", "confidence": 0.41, "note": {"k": [1, 2.5, null, true]}}],
	 "override_target_table": null, "override_target_column": null},
	{"source_column": "sex", "source_table": "patients", "target_table": "person", "target_column": "gender_concept_id",
	 "confidence": 0.8, "status": "overridden", "candidates": [],
	 "override_target_table": "person", "override_target_column": "gender_source_value"},
	{"source_column": "notes", "source_table": "", "target_table": null, "target_column": null,
	 "confidence": 0.0, "status": "unmapped", "candidates": [], "override_target_table": null, "override_target_column": null}
]}`

var schemaItemKeys = []string{"source_column", "source_table", "target_table", "target_column", "confidence", "status",
	"candidates", "override_target_table", "override_target_column"}

func TestSchemaSyncRoundTripAndNoDuplicates(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	var pushed struct {
		Items []map[string]any `json:"items"`
	}
	dec := json.NewDecoder(strings.NewReader(sdkSchemaItems))
	dec.UseNumber()
	if err := dec.Decode(&pushed); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/sync/projects/" + w.project.ID
	st, body := w.call(t, "POST", base+"/schema-mappings/bulk", w.write, sdkSchemaItems)
	if st != 200 || body["created"] != json.Number("3") {
		t.Fatalf("push: %d %v", st, body)
	}
	pull := func(path string) []map[string]any {
		t.Helper()
		st, body := w.call(t, "GET", path, w.read, "")
		if st != 200 {
			t.Fatalf("pull %s: %d %v", path, st, body)
		}
		return schemaList(t, body, "items")
	}
	got := pull(base + "/schema-mappings")
	if len(got) != 3 {
		t.Fatalf("pulled %d items", len(got))
	}
	ids := map[string]bool{}
	for i, it := range got {
		for _, k := range schemaItemKeys {
			if !sameJSON(it[k], pushed.Items[i][k]) {
				t.Errorf("item %d key %s: pulled %#v, pushed %#v", i, k, it[k], pushed.Items[i][k])
			}
		}
		if it["id"] == "" || it["revision"] != json.Number("1") {
			t.Errorf("item %d: id %v revision %v", i, it["id"], it["revision"])
		}
		ids[it["id"].(string)] = true
	}
	if etl := pull("/api/v1/schema-mapping/projects/" + w.project.ID + "/schema-mapping"); !reflect.DeepEqual(etl, got) {
		t.Errorf("ETL alias differs from the sync pull:\n%v\n%v", etl, got)
	}

	// The same push again: nothing created, nothing changed, same ids.
	st, body = w.call(t, "POST", base+"/schema-mappings/bulk", w.write, sdkSchemaItems)
	if st != 200 || body["created"] != json.Number("0") || body["unchanged"] != json.Number("3") {
		t.Fatalf("second push: %d %v", st, body)
	}
	again := pull(base + "/schema-mappings")
	if len(again) != 3 {
		t.Fatalf("after pushing twice: %d items", len(again))
	}
	for _, it := range again {
		if !ids[it["id"].(string)] || it["revision"] != json.Number("1") {
			t.Errorf("re-pushed item changed: %v", it)
		}
	}
	if st, body := w.call(t, "POST", base+"/schema-mappings/bulk", w.write, `{"items": []}`); st != 200 || body["created"] != json.Number("0") {
		t.Errorf("empty push: %d %v", st, body)
	}
	var n int
	if err := w.pool.QueryRow(context.Background(), `select count(*) from review_events where project_id = $1 and item_kind = 'schema' and action = 'sync'`, w.project.ID).Scan(&n); err != nil || n != 3 {
		t.Errorf("sync audit rows: %d %v", n, err)
	}

	// Cross-mapping runs: every field of CrossMappingRun round-trips,
	// created_at as the text sent; pushing twice adds no copies.
	runs := `{"items": [
		{"source_standard": "omop_cdm_v5.4", "target_standard": "fhir_r4", "source_entity": "person", "target_entity": "Patient",
		 "record_count": 1200, "status": "completed", "crossmap_file": "omop_to_fhir_r4.yaml", "created_at": "2026-12-01T10:00:00.123456"},
		{"source_standard": "omop_cdm_v5.4", "target_standard": "fhir_r4", "source_entity": "measurement", "target_entity": null,
		 "record_count": 0, "status": "failed", "crossmap_file": null, "created_at": null}]}`
	var pushedRuns struct {
		Items []map[string]any `json:"items"`
	}
	dec = json.NewDecoder(strings.NewReader(runs))
	dec.UseNumber()
	if err := dec.Decode(&pushedRuns); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if st, body := w.call(t, "POST", base+"/cross-mappings/bulk", w.write, runs); st != 200 {
			t.Fatalf("cross push: %d %v", st, body)
		}
	}
	gotRuns := pull(base + "/cross-mappings")
	if len(gotRuns) != 2 {
		t.Fatalf("runs after pushing twice: %v", gotRuns)
	}
	for i, r := range gotRuns {
		for k, v := range pushedRuns.Items[i] {
			if !sameJSON(r[k], v) {
				t.Errorf("run %d key %s: pulled %#v, pushed %#v", i, k, r[k], v)
			}
		}
		if r["id"] == "" || r["revision"] != json.Number("1") || len(r) != 10 {
			t.Errorf("run %d: %v", i, r)
		}
	}
	if st, body := w.call(t, "POST", base+"/cross-mappings/bulk", w.write, `{"items": []}`); st != 200 {
		t.Errorf("empty cross push: %d %v", st, body)
	}
}

func TestSchemaSyncStaleRevisionWritesNothing(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	base := "/api/v1/sync/projects/" + w.project.ID
	if st, body := w.call(t, "POST", base+"/schema-mappings/bulk", w.write, sdkSchemaItems); st != 200 {
		t.Fatalf("push: %d %v", st, body)
	}
	item := `{"source_column": "dob", "source_table": "patients", "target_table": "person", "target_column": "birth_datetime",
		"confidence": %s, "status": "needs_review", "candidates": [], "override_target_table": null, "override_target_column": null, "revision": %s}`
	push := func(conf, rev string, extra string) (int, map[string]any) {
		return w.call(t, "POST", base+"/schema-mappings/bulk", w.write,
			`{"items": [`+extra+strings.Replace(strings.Replace(item, "%s", conf, 1), "%s", rev, 1)+`]}`)
	}
	if st, body := push("0.9", "1", ""); st != 200 || body["updated"] != json.Number("1") || schemaList(t, body, "items")[0]["revision"] != json.Number("2") {
		t.Fatalf("push at the current revision: %d %v", st, body)
	}
	newItem := `{"source_column": "brand_new", "source_table": "", "target_table": null, "target_column": null, "confidence": 0.1,
		"status": "unmapped", "candidates": [], "override_target_table": null, "override_target_column": null},`
	st, body := push("0.2", "1", newItem)
	if st != 409 || !strings.Contains(body["detail"].(string), `"patients.dob" (revision 1, stored 2)`) {
		t.Fatalf("stale push: %d %v", st, body)
	}
	_, pulled := w.call(t, "GET", base+"/schema-mappings", w.read, "")
	items := schemaList(t, pulled, "items")
	if len(items) != 3 || items[0]["confidence"] != json.Number("0.9") || items[0]["revision"] != json.Number("2") {
		t.Fatalf("after the refused push: %v", items)
	}

	runs := `{"items": [{"source_standard": "a", "target_standard": "b", "source_entity": "c", "target_entity": null,
		"record_count": 1, "status": "completed", "crossmap_file": null, "created_at": "t1"}]}`
	if st, body := w.call(t, "POST", base+"/cross-mappings/bulk", w.write, runs); st != 200 {
		t.Fatalf("cross push: %d %v", st, body)
	}
	stale := strings.Replace(strings.Replace(runs, `"record_count": 1`, `"record_count": 2`, 1), `"created_at": "t1"`, `"created_at": "t1", "revision": 5`, 1)
	if st, body := w.call(t, "POST", base+"/cross-mappings/bulk", w.write, stale); st != 409 || !strings.Contains(body["detail"].(string), "revision 5, stored 1") {
		t.Fatalf("stale cross push: %d %v", st, body)
	}
	if _, body := w.call(t, "GET", base+"/cross-mappings", w.read, ""); schemaList(t, body, "items")[0]["record_count"] != json.Number("1") {
		t.Fatalf("run after the refused push: %v", body)
	}
}

func TestSchemaSyncAccess(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	base := "/api/v1/sync/projects/" + w.project.ID
	pushes := []string{base + "/schema-mappings/bulk", base + "/cross-mappings/bulk"}
	pulls := []string{base + "/schema-mappings", base + "/cross-mappings", "/api/v1/schema-mapping/projects/" + w.project.ID + "/schema-mapping"}
	for _, p := range pushes {
		for name, key := range map[string]string{"read key": w.read, "viewer": w.viewer} {
			if st, body := w.call(t, "POST", p, key, `{"items": []}`); st != 403 || body["detail"] == "" {
				t.Errorf("%s pushing %s: %d %v", name, p, st, body)
			}
		}
		if st, _ := w.call(t, "POST", p, w.other, `{"items": []}`); st != 404 {
			t.Errorf("another organization pushing %s: %d", p, st)
		}
		if st, _ := w.call(t, "POST", p, "", `{"items": []}`); st != 401 {
			t.Errorf("no credentials pushing %s: %d", p, st)
		}
		for name, bad := range map[string]string{"no items": `{}`, "items not a list": `{"items": {}}`, "not JSON": `{"items": [`} {
			if st, body := w.call(t, "POST", p, w.write, bad); st != 422 || body["detail"] == "" {
				t.Errorf("%s on %s: %d %v", name, p, st, body)
			}
		}
	}
	for _, p := range pulls {
		if st, body := w.call(t, "GET", p, w.viewer, ""); st != 200 || body["items"] == nil {
			t.Errorf("viewer pulling %s: %d %v", p, st, body)
		}
		if st, _ := w.call(t, "GET", p, w.other, ""); st != 404 {
			t.Errorf("another organization pulling %s: %d", p, st)
		}
		if st, _ := w.call(t, "GET", p, "", ""); st != 401 {
			t.Errorf("no credentials pulling %s: %d", p, st)
		}
	}
	for name, bad := range map[string]string{
		"unknown status":     `{"items": [{"source_column": "a", "status": "maybe"}]}`,
		"empty column":       `{"items": [{"source_column": null}]}`,
		"candidate not dict": `{"items": [{"source_column": "a", "candidates": [3]}]}`,
		"confidence string":  `{"items": [{"source_column": "a", "confidence": "high"}]}`,
	} {
		if st, body := w.call(t, "POST", pushes[0], w.write, bad); st != 422 || body["detail"] == "" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
	if st, body := w.call(t, "POST", pushes[1], w.write, `{"items": [{"source_standard": "a", "target_standard": "b"}]}`); st != 422 ||
		!strings.Contains(body["detail"].(string), "source_entity") {
		t.Errorf("run without source_entity: %d %v", st, body)
	}
}

// sameJSON compares decoded JSON values with numbers by value (Go writes
// the pushed 0.0 as 0; both are the same float to the SDK).
func sameJSON(a, b any) bool {
	return reflect.DeepEqual(numbersAsFloats(a), numbersAsFloats(b))
}

func numbersAsFloats(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = numbersAsFloats(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = numbersAsFloats(e)
		}
		return out
	}
	return v
}

// schemaAuditRow is one review_events row of a schema item.
type schemaAuditRow struct {
	Actor, Action, Comment, Before, After string
}

func (w *schemaWorld) audit(t *testing.T, id string) []schemaAuditRow {
	t.Helper()
	rows, err := w.pool.Query(context.Background(), `
		select actor, action, comment, coalesce(before ->> 'status', ''), after ->> 'status'
		from review_events where project_id = $1 and item_kind = 'schema' and item_id = $2::bigint and action <> 'sync' order by id`,
		w.project.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []schemaAuditRow
	for rows.Next() {
		var r schemaAuditRow
		if err := rows.Scan(&r.Actor, &r.Action, &r.Comment, &r.Before, &r.After); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestSchemaReviewDecisions(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	if st, body := w.call(t, "POST", "/api/v1/sync/projects/"+w.project.ID+"/schema-mappings/bulk", w.write, sdkSchemaItems); st != 200 {
		t.Fatalf("push: %d %v", st, body)
	}
	_, body := w.call(t, "GET", "/api/v1/sync/projects/"+w.project.ID+"/schema-mappings", w.read, "")
	items := schemaList(t, body, "items")
	dob, sex, notes := items[0]["id"].(string), items[1]["id"].(string), items[2]["id"].(string)
	at := func(prefix, id, action string) string {
		return prefix + "/projects/" + w.project.ID + "/schema-mapping/" + id + "/" + action
	}
	docKeys := []string{"id", "source_column", "target_table", "target_column", "confidence", "status"}
	check := func(what string, got map[string]any, want map[string]any) {
		t.Helper()
		for _, k := range docKeys {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: no %q in %v", what, k, got)
			}
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: %s = %#v, want %#v", what, k, got[k], v)
			}
		}
	}

	// Approve with no body (as the doc's curl sends), on /v1.
	st, got := w.call(t, "POST", at("/v1", dob, "approve"), w.write, "")
	if st != 200 {
		t.Fatalf("approve: %d %v", st, got)
	}
	check("approve", got, map[string]any{"id": dob, "source_column": "dob", "target_table": "person", "target_column": "birth_datetime",
		"confidence": json.Number("0.96"), "status": "approved", "revision": json.Number("2")})

	// Override on /api/v1 with a comment and the revision seen.
	st, got = w.call(t, "POST", at("/api/v1", dob, "override"), w.write,
		`{"target_table": "person", "target_column": "year_of_birth", "comment": "only the year is reliable", "revision": 2}`)
	if st != 200 {
		t.Fatalf("override: %d %v", st, got)
	}
	check("override", got, map[string]any{"target_table": "person", "target_column": "year_of_birth", "status": "overridden"})
	if st, got := w.call(t, "POST", at("/v1", dob, "reject"), w.write, `{"revision": 2}`); st != 409 || got["detail"] == "" {
		t.Errorf("stale revision: %d %v", st, got)
	}

	// Reject on /v1: the answer's targets are null, as the doc shows.
	st, got = w.call(t, "POST", at("/v1", notes, "reject"), w.write, "")
	if st != 200 {
		t.Fatalf("reject: %d %v", st, got)
	}
	check("reject", got, map[string]any{"source_column": "notes", "target_table": nil, "target_column": nil, "status": "rejected"})
	if st, got := w.call(t, "POST", at("/api/v1", notes, "approve"), w.write, ""); st != 422 || !strings.Contains(got["detail"].(string), "no target") {
		t.Errorf("approving an item without target: %d %v", st, got)
	}

	// The pull shows the decisions in the SDK's terms: the override in
	// override_target_*, the suggestion kept.
	_, body = w.call(t, "GET", "/api/v1/sync/projects/"+w.project.ID+"/schema-mappings", w.read, "")
	p := schemaList(t, body, "items")[0]
	if p["status"] != "overridden" || p["target_column"] != "birth_datetime" || p["override_target_table"] != "person" ||
		p["override_target_column"] != "year_of_birth" || p["decided_by"] == nil || p["revision"] != json.Number("3") {
		t.Errorf("pulled after the decisions: %v", p)
	}

	if rows := w.audit(t, dob); len(rows) != 2 || rows[0].Actor == "" || !reflect.DeepEqual(rows, []schemaAuditRow{
		{Actor: rows[0].Actor, Action: "approve", Before: "auto_accepted", After: "approved"},
		{Actor: rows[0].Actor, Action: "override", Comment: "only the year is reliable", Before: "approved", After: "overridden"},
	}) {
		t.Errorf("audit of dob: %+v", rows)
	}
	if rows := w.audit(t, notes); len(rows) != 1 || rows[0].Action != "reject" {
		t.Errorf("audit of notes: %+v", rows)
	}

	// Errors in the doc's shapes, on both prefixes.
	for _, prefix := range []string{"/api/v1", "/v1"} {
		st, got := w.call(t, "POST", at(prefix, "sm_abc123", "approve"), w.write, "")
		if st != 404 || got["detail"] != "Schema mapping sm_abc123 not found in project "+w.project.ID {
			t.Errorf("%s unknown mapping: %d %v", prefix, st, got)
		}
		if st, got := w.call(t, "POST", at(prefix, "987654", "reject"), w.write, ""); st != 404 ||
			got["detail"] != "Schema mapping 987654 not found in project "+w.project.ID {
			t.Errorf("%s unknown numeric mapping: %d %v", prefix, st, got)
		}
		st, got = w.call(t, "POST", at(prefix, sex, "override"), w.write, `{"target_column": "gender_source_value"}`)
		want := []any{map[string]any{"loc": []any{"body", "target_table"}, "msg": "field required", "type": "value_error.missing"}}
		if st != 422 || !reflect.DeepEqual(got["detail"], want) {
			t.Errorf("%s override without target_table: %d %v", prefix, st, got)
		}
		st, got = w.call(t, "POST", at(prefix, sex, "override"), w.write, `{"target_table": "person", "target_column": "shoe_size"}`)
		if d, _ := got["detail"].([]any); st != 422 || len(d) != 1 || d[0].(map[string]any)["loc"].([]any)[1] != "target_column" {
			t.Errorf("%s override to a column the CDM lacks: %d %v", prefix, st, got)
		}
		st, got = w.call(t, "POST", at(prefix, sex, "approve"), w.write, `{"decision": "yes"}`)
		if d, _ := got["detail"].([]any); st != 422 || len(d) != 1 {
			t.Errorf("%s unknown body field: %d %v", prefix, st, got)
		}
		for name, key := range map[string]string{"read key": w.read, "viewer": w.viewer} {
			if st, got := w.call(t, "POST", at(prefix, sex, "approve"), key, ""); st != 403 || got["detail"] == "" {
				t.Errorf("%s %s approving: %d %v", prefix, name, st, got)
			}
		}
		if st, got := w.call(t, "POST", at(prefix, sex, "approve"), w.other, ""); st != 404 || got["detail"] == "" {
			t.Errorf("%s another organization approving: %d %v", prefix, st, got)
		}
		if st, _ := w.call(t, "POST", at(prefix, sex, "approve"), "", ""); st != 401 {
			t.Errorf("%s no credentials: %d", prefix, st)
		}
	}
	if rows := w.audit(t, sex); len(rows) != 0 {
		t.Errorf("refused decisions left audit rows: %+v", rows)
	}
	// The operator may decide; it is recorded as such.
	if st, got := w.call(t, "POST", at("/v1", sex, "approve"), adminToken, ""); st != 200 || got["decided_by"] != "operator" {
		t.Errorf("operator approving: %d %v", st, got)
	}
}

// The pushes' 422 details, word for word, as the SDK shows them.
func TestSchemaSyncPushDetails(t *testing.T) {
	t.Parallel()
	w := newSchemaWorld(t)
	base := "/api/v1/sync/projects/" + w.project.ID
	schema, cross := base+"/schema-mappings/bulk", base+"/cross-mappings/bulk"
	for _, tc := range []struct{ path, body, detail string }{
		{schema, `{}`, `field "items" is required: send {"items": [...]}`},
		{cross, `{"other": 1}`, `field "items" is required: send {"items": [...]}`},
		{schema, `{"items": [{"source_column": "a"}, {"source_column": "b", "revision": 0}]}`, "items[1]: revision must be 1 or more (or null)"},
		{cross, `{"items": [{"source_standard": "a", "target_standard": "b", "source_entity": "c", "revision": -1}]}`, "items[0]: revision must be 1 or more (or null)"},
		{cross, `{"items": [{"source_standard": "a", "source_entity": "c"}]}`, `items[0]: field "target_standard" is required`},
	} {
		if st, body := w.call(t, "POST", tc.path, w.write, tc.body); st != 422 || body["detail"] != tc.detail {
			t.Errorf("%s %s: %d %v, want detail %q", tc.path, tc.body, st, body, tc.detail)
		}
	}
}

package apiserver_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/workflows"
)

// keyWorld is an API whose credentials resolve through tenancystore on a
// real PostgreSQL database, with two organizations.
type keyWorld struct {
	*tenants
	s       *apiserver.Server
	orgA    tenancy.Organization
	orgB    tenancy.Organization
	project tenancy.Project
	owner   tenancy.User
	bulk    *fakeWorkflows
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	w := &keyWorld{tenants: newTenants(t, dbtest.New(t)), bulk: &fakeWorkflows{running: map[string]workflows.Run{}}}
	w.orgA, w.orgB = w.org(t, "org-a"), w.org(t, "org-b")
	w.owner = w.member(t, w.orgA.ID, tenancy.RoleOwner)
	w.project = w.tenants.project(t, w.orgA.ID, "labs")
	w.s = w.server(t,
		&apiserver.AuthTokens{Exchanger: w.Auth},
		&apiserver.APIKeys{Keys: w.Store, Hasher: w.Hasher},
		&apiserver.WorkflowRuns{Workflows: w.bulk, Projects: w.Store},
		&apiserver.Projects{Projects: w.Store, Workflows: w.bulk},
	)
	return w
}

func (w *keyWorld) do(t *testing.T, method, path string, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	return callAPI(t, w.s, method, path, headers, body)
}

func TestTokenExchangeAndExpiry(t *testing.T) {
	t.Parallel()
	w := newKeyWorld(t)
	key := w.key(t, w.orgA.ID, w.owner.ID, credential.ScopeWrite)
	st, body := w.do(t, "POST", "/api/v1/auth/token", nil, `{"api_key":"`+key+`"}`)
	if st != 200 || body["token_type"] != "bearer" || body["expires_in"].(float64) <= 0 || body["access_token"] == "" {
		t.Fatalf("exchange: %d %v", st, body)
	}
	jwt := body["access_token"].(string)
	bulk := "/api/v1/projects/" + w.project.ID + "/bulk-mapping"
	if st, body := w.do(t, "POST", bulk, bearer(jwt), ""); st != 202 {
		t.Fatalf("JWT on a write route: %d %v", st, body)
	}
	if st, body := w.do(t, "POST", bulk, apiKeyHeader(key), ""); st != 202 {
		t.Fatalf("X-Portiere-API-Key on a write route: %d %v", st, body)
	}
	// The SDK's fallback sends the key in both headers.
	both := map[string]string{"Authorization": "Bearer " + key, credential.HeaderAPIKey: key}
	if st, body := w.do(t, "POST", bulk, both, ""); st != 202 {
		t.Fatalf("the key in both headers: %d %v", st, body)
	}
	if st, body := w.do(t, "POST", "/api/v1/auth/token", nil, `{"api_key":"pt_sk_nope"}`); st != 401 || body["detail"] == "" {
		t.Fatalf("bad key exchange: %d %v", st, body)
	}
	w.advance(25 * time.Hour)
	if st, body := w.do(t, "POST", bulk, bearer(jwt), ""); st != 401 || !strings.Contains(body["detail"].(string), "expired") {
		t.Fatalf("expired JWT: %d %v", st, body)
	}
}

func TestRevokedKeyIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	w := newKeyWorld(t)
	admin := w.key(t, w.orgA.ID, w.owner.ID, credential.ScopeWrite)
	keys := "/api/v1/organizations/" + w.orgA.ID + "/api-keys"
	st, created := w.do(t, "POST", keys, bearer(admin), `{"name":"ci","scope":"write"}`)
	if st != 201 || !strings.HasPrefix(created["key"].(string), "pt_sk_") {
		t.Fatalf("create: %d %v", st, created)
	}
	newKey := created["key"].(string)
	_, tok := w.do(t, "POST", "/api/v1/auth/token", nil, `{"api_key":"`+newKey+`"}`)
	jwt, _ := tok["access_token"].(string)
	bulk := "/api/v1/projects/" + w.project.ID + "/bulk-mapping"
	if st, body := w.do(t, "POST", bulk, bearer(newKey), ""); st != 202 {
		t.Fatalf("new key: %d %v", st, body)
	}
	req := httptest.NewRequest("GET", keys, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	for _, k := range list {
		if k["key"] != nil || k["prefix"] == "" || k["scope"] != "write" {
			t.Fatalf("listed key %v", k)
		}
	}
	if st, body := w.do(t, "DELETE", keys+"/"+created["id"].(string), bearer(admin), ""); st != 204 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	for name, h := range map[string]map[string]string{"key": bearer(newKey), "its JWT": bearer(jwt)} {
		if st, body := w.do(t, "POST", bulk, h, ""); st != 401 || !strings.Contains(body["detail"].(string), "revoked") {
			t.Errorf("revoked %s: %d %v", name, st, body)
		}
	}
}

func TestScopeRoleAndTenantRules(t *testing.T) {
	t.Parallel()
	w := newKeyWorld(t)
	read := w.key(t, w.orgA.ID, w.owner.ID, credential.ScopeRead)
	other := w.key(t, w.orgB.ID, "", credential.ScopeWrite)
	bulk := "/api/v1/projects/" + w.project.ID + "/bulk-mapping"
	if st, body := w.do(t, "POST", bulk, bearer(read), ""); st != 403 || body["detail"] == "" {
		t.Errorf("read-scope key on a write route: %d %v", st, body)
	}
	if st, body := w.do(t, "POST", bulk, bearer(other), ""); st != 404 {
		t.Errorf("another organization's key on a project route: %d %v", st, body)
	}
	if st, body := w.do(t, "GET", "/api/v1/organizations/"+w.orgA.ID+"/api-keys", bearer(other), ""); st != 404 {
		t.Errorf("another organization's key on its key list: %d %v", st, body)
	}
	if st, body := w.do(t, "GET", "/api/v1/organizations/"+w.orgA.ID+"/api-keys", bearer(read), ""); st != 403 {
		t.Errorf("read key listing keys: %d %v", st, body)
	}
	// Operator routes: the operator token and an org owner/admin write key
	// pass; a read key is refused.
	if st, body := w.do(t, "POST", "/api/v1/workflows/index-build", bearer(adminToken), ""); st != 202 {
		t.Errorf("operator token: %d %v", st, body)
	}
	owner := w.key(t, w.orgA.ID, w.owner.ID, credential.ScopeWrite)
	if st, body := w.do(t, "POST", "/api/v1/workflows/index-build", bearer(owner), ""); st != 202 {
		t.Errorf("owner key on an operator route: %d %v", st, body)
	}
	if st, body := w.do(t, "POST", "/api/v1/workflows/index-build", bearer(read), ""); st != 403 {
		t.Errorf("read key on an operator route: %d %v", st, body)
	}
	if st, _ := w.do(t, "POST", bulk, bearer("pt_sk_"+strings.Repeat("x", 40)), ""); st != 401 {
		t.Errorf("unknown key: %d", st)
	}
	// A's bulk mapping runs; B's owner may run operator routes, but not
	// read or cancel A's mapping, nor learn it exists.
	if st, body := w.do(t, "POST", bulk, bearer(owner), ""); st != 202 {
		t.Fatalf("start A's mapping: %d %v", st, body)
	}
	bOwner := w.key(t, w.orgB.ID, w.member(t, w.orgB.ID, tenancy.RoleOwner).ID, credential.ScopeWrite)
	run := "/api/v1/workflows/" + workflows.BulkMappingWorkflowID(w.project.ID)
	for _, r := range [][2]string{{"GET", run}, {"POST", run + "/cancel"}, {"GET", "/api/v1/workflows/some-other-run"}} {
		if st, body := w.do(t, r[0], r[1], bearer(bOwner), ""); st != 404 || body["detail"] != "workflows: no such workflow" {
			t.Errorf("another organization's owner: %s %s: %d %v, want 404", r[0], r[1], st, body)
		}
	}
	if st, body := w.do(t, "GET", run, bearer(owner), ""); st != 200 {
		t.Errorf("A's owner reading A's mapping: %d %v", st, body)
	}
	if len(w.bulk.cancelled) != 0 {
		t.Errorf("cancelled %v", w.bulk.cancelled)
	}
}

// The routes that exist answer bad bodies with 422 {detail} naming the
// problem, and bad credentials with 401/403 {detail}.
func TestBadInputOnAuthRoutes(t *testing.T) {
	t.Parallel()
	w := newKeyWorld(t)
	owner := w.key(t, w.orgA.ID, w.owner.ID, credential.ScopeWrite)
	keys := "/api/v1/organizations/" + w.orgA.ID + "/api-keys"
	bulk := "/api/v1/projects/" + w.project.ID + "/bulk-mapping"
	sender := func(method, path string, h map[string]string) func(string) (int, map[string]any) {
		return func(body string) (int, map[string]any) { return w.do(t, method, path, h, body) }
	}

	// POST /auth/token is the SDK's (Lenient); a missing key is named.
	expectBadJSONRefused(t, "POST /auth/token", sender("POST", "/api/v1/auth/token", nil),
		map[string]string{"api_key": `{"api_key": 12}`}, false)
	for _, body := range []string{``, `{}`, `{"api_key": null}`, `{"api_key": ""}`} {
		if st, answer := w.do(t, "POST", "/api/v1/auth/token", nil, body); st != 422 || !strings.Contains(detailOf(t, "token "+body, answer), "api_key") {
			t.Errorf("POST /auth/token %q: %d %v, want 422 naming api_key", body, st, answer)
		}
	}
	// Creating a key is Strict: a misspelt "scope" must not make a read key.
	expectBadJSONRefused(t, "POST api-keys", sender("POST", keys, bearer(owner)),
		map[string]string{"scope": `{"scope": ["write"]}`, "name": `{"name": 1}`, "project_id": `{"project_id": true}`}, true)
	if st, answer := w.do(t, "POST", keys, bearer(owner), `{"scope": "admin"}`); st != 422 || !strings.Contains(detailOf(t, "bad scope", answer), "scope") {
		t.Errorf("scope admin: %d %v", st, answer)
	}
	// Starting a bulk mapping is Strict.
	expectBadJSONRefused(t, "POST bulk-mapping", sender("POST", bulk, bearer(owner)),
		map[string]string{"chunk_size": `{"chunk_size": "200"}`, "top_k": `{"top_k": 1.5}`}, true)

	expectCredentialRules(t, w.tenants, w.s, w.orgA.ID, "POST", bulk, `{"chunk_size": 10}`)
	expectCredentialRules(t, w.tenants, w.s, w.orgA.ID, "POST", keys, `{"name": "ci", "scope": "read"}`)
}

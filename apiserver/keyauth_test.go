package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/workflows"
)

const (
	testSalt      = "salt-salt-salt-salt-salt-salt-salt-salt"
	testJWTSecret = "jwt-secret-jwt-secret-jwt-secret-jwt"
)

// keyWorld is an API whose credentials resolve through tenancystore on a
// real PostgreSQL database, with two organizations.
type keyWorld struct {
	s       *apiserver.Server
	store   *tenancystore.Store
	hasher  *credential.KeyHasher
	clock   *time.Time
	orgA    tenancy.Organization
	orgB    tenancy.Organization
	project tenancy.Project
	owner   tenancy.User
	bulk    *fakeWorkflows
	ctx     context.Context
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	ctx := context.Background()
	w := &keyWorld{ctx: ctx, store: tenancystore.New(dbtest.New(t)), bulk: &fakeWorkflows{running: map[string]workflows.Run{}}}
	now := time.Now()
	w.clock = &now
	var err error
	if w.hasher, err = credential.NewKeyHasher(testSalt); err != nil {
		t.Fatal(err)
	}
	tokens, err := credential.NewTokenService(testJWTSecret, w.store.Keys(), credential.WithClock(func() time.Time { return *w.clock }))
	if err != nil {
		t.Fatal(err)
	}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: w.store.Keys(), Hasher: w.hasher, Tokens: tokens, OperatorToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if w.orgA, err = w.store.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "org-a"}); err != nil {
		t.Fatal(err)
	}
	if w.orgB, err = w.store.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "org-b"}); err != nil {
		t.Fatal(err)
	}
	if w.owner, err = w.store.CreateUser(ctx, tenancy.User{Email: "owner@a.example", Name: "Owner"}); err != nil {
		t.Fatal(err)
	}
	if _, err = w.store.AddMember(ctx, tenancy.Membership{OrganizationID: w.orgA.ID, UserID: w.owner.ID, Role: tenancy.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if w.project, err = w.store.CreateProject(ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "labs"}); err != nil {
		t.Fatal(err)
	}
	w.s, err = apiserver.New(apiserver.Config{
		Auth: apiserver.KeyAuth(a),
		Resources: []apiserver.Resource{
			&apiserver.AuthTokens{Exchanger: a},
			&apiserver.APIKeys{Keys: w.store, Hasher: w.hasher},
			&apiserver.WorkflowRuns{Workflows: w.bulk},
			&apiserver.Projects{Projects: w.store, Workflows: w.bulk},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// key stores a new key of org created by user ("" for a system key).
func (w *keyWorld) key(t *testing.T, org, user string, scope credential.Scope) string {
	t.Helper()
	k := w.hasher.Issue()
	if _, err := w.store.CreateAPIKey(w.ctx, tenancy.APIKey{OrganizationID: org, UserID: user, Name: "t", Prefix: k.Prefix,
		Hash: k.Hash.String(), Scopes: []string{string(scope)}}); err != nil {
		t.Fatal(err)
	}
	return k.Key
}

func (w *keyWorld) do(t *testing.T, method, path string, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

func bearer(v string) map[string]string { return map[string]string{"Authorization": "Bearer " + v} }

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
	if st, body := w.do(t, "POST", bulk, map[string]string{credential.HeaderAPIKey: key}, ""); st != 202 {
		t.Fatalf("X-Portiere-API-Key on a write route: %d %v", st, body)
	}
	if st, body := w.do(t, "POST", "/api/v1/auth/token", nil, `{"api_key":"pt_sk_nope"}`); st != 401 || body["detail"] == "" {
		t.Fatalf("bad key exchange: %d %v", st, body)
	}
	*w.clock = w.clock.Add(25 * time.Hour)
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
}

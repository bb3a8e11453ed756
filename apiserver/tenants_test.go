package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

const (
	testSalt      = "salt-salt-salt-salt-salt-salt-salt-salt"
	testJWTSecret = "jwt-secret-jwt-secret-jwt-secret-jwt"
	adminToken    = "0123456789abcdef0123456789abcdef-admin"
)

// tenants is the API's real authentication in tests: credential's
// Authenticator over tenancystore on a test database, with the operator
// token adminToken. Every test server authenticates through one, so a test
// proves what production does; there is no fake authenticator.
type tenants struct {
	Store  *tenancystore.Store
	Hasher *credential.KeyHasher
	Auth   *credential.Authenticator
	// clock is the access tokens' clock; advance moves it.
	clock *time.Time
	// users numbers the users member creates, for unique emails.
	users int
}

// newTenants builds the authenticator over pool (a migrated test
// database, dbtest.New).
func newTenants(t *testing.T, pool *pgxpool.Pool) *tenants {
	t.Helper()
	now := time.Now()
	k := &tenants{Store: tenancystore.New(pool), clock: &now}
	var err error
	if k.Hasher, err = credential.NewKeyHasher(testSalt); err != nil {
		t.Fatal(err)
	}
	tokens, err := credential.NewTokenService(testJWTSecret, k.Store.Keys(), credential.WithClock(func() time.Time { return *k.clock }))
	if err != nil {
		t.Fatal(err)
	}
	if k.Auth, err = credential.NewAuthenticator(credential.AuthenticatorConfig{
		Keys: k.Store.Keys(), Hasher: k.Hasher, Tokens: tokens, OperatorToken: adminToken,
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Auth.Close)
	return k
}

// advance moves the access tokens' clock by d (to expire them).
func (k *tenants) advance(d time.Duration) { *k.clock = k.clock.Add(d) }

// org creates an organization.
func (k *tenants) org(t *testing.T, slug string) tenancy.Organization {
	t.Helper()
	o, err := k.Store.CreateOrganization(context.Background(), tenancy.Organization{Name: slug, Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// member creates a user with role in org.
func (k *tenants) member(t *testing.T, org string, role tenancy.Role) tenancy.User {
	t.Helper()
	ctx := context.Background()
	k.users++
	u, err := k.Store.CreateUser(ctx, tenancy.User{Email: fmt.Sprintf("%s-%d-%s@example.test", role, k.users, org), Name: string(role)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Store.AddMember(ctx, tenancy.Membership{OrganizationID: org, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	return u
}

// project creates a project of org.
func (k *tenants) project(t *testing.T, org, name string) tenancy.Project {
	t.Helper()
	p, err := k.Store.CreateProject(context.Background(), tenancy.Project{OrganizationID: org, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// key stores a new API key of org created by user ("" for a system key,
// which acts as admin) and returns it.
func (k *tenants) key(t *testing.T, org, user string, scope credential.Scope) string {
	t.Helper()
	issued := k.Hasher.Issue()
	if _, err := k.Store.CreateAPIKey(context.Background(), tenancy.APIKey{OrganizationID: org, UserID: user, Name: "t",
		Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(scope)}}); err != nil {
		t.Fatal(err)
	}
	return issued.Key
}

// server builds an API authenticating through k with resources.
func (k *tenants) server(t *testing.T, resources ...apiserver.Resource) *apiserver.Server {
	t.Helper()
	s, err := apiserver.New(apiserver.Config{Version: "t", Auth: k.Auth, Resources: resources})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// callAPI sends one request to s with headers (Content-Type is JSON) and
// returns the status and the JSON object answered (empty when the body is
// not an object).
func callAPI(t *testing.T, s *apiserver.Server, method, path string, headers map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.App().Test(req, -1)
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

func apiKeyHeader(v string) map[string]string { return map[string]string{credential.HeaderAPIKey: v} }

// detailOf returns the {detail} of an error answer, failing the test when
// there is none.
func detailOf(t *testing.T, what string, body map[string]any) string {
	t.Helper()
	d, _ := body["detail"].(string)
	if d == "" {
		t.Errorf("%s: answer has no {detail}: %v", what, body)
	}
	return d
}

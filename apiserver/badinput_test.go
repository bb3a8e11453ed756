package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// Reusable checks of how a route treats bad input. A new JSON route calls
// expectBadJSONRefused with a sender holding valid credentials; a new
// protected route calls expectCredentialRules. Both fail with the route's
// name, the body sent and the answer.

// jsonCase is a body a JSON route must refuse with 422 {detail}, and a
// word the detail must contain (case-insensitive; "" for any).
type jsonCase struct {
	name, body, mention string
}

// malformedJSON are bodies no JSON route accepts.
var malformedJSON = []jsonCase{
	{"not JSON", `api_key=x`, "json"},
	{"truncated", `{"a": `, "json"},
	{"an array, not an object", `[1, 2]`, "object"},
	{"trailing data", `{} {}`, "after"},
}

// expectBadJSONRefused sends each malformed body, each of wrongTypes
// (field → a body giving that field a value of the wrong type; the detail
// must name the field) and, when strict, a body with an unknown field (the
// detail must name it) through send, and expects 422 {detail} for each.
// For a Lenient route the unknown field must not be what fails: the answer
// is anything but 422.
func expectBadJSONRefused(t *testing.T, route string, send func(body string) (int, map[string]any), wrongTypes map[string]string, strict bool) {
	t.Helper()
	cases := append([]jsonCase{}, malformedJSON...)
	for field, body := range wrongTypes {
		cases = append(cases, jsonCase{"wrong type of " + field, body, field})
	}
	if strict {
		cases = append(cases, jsonCase{"unknown field", `{"no_such_field": 1}`, "no_such_field"})
	}
	for _, c := range cases {
		st, body := send(c.body)
		if st != 422 {
			t.Errorf("%s with %s %s: %d %v, want 422 {detail}", route, c.name, c.body, st, body)
			continue
		}
		if d := detailOf(t, route+" with "+c.name, body); !strings.Contains(strings.ToLower(d), strings.ToLower(c.mention)) {
			t.Errorf("%s with %s: detail %q does not mention %q", route, c.name, d, c.mention)
		}
	}
	if !strict {
		if st, body := send(`{"no_such_field": 1}`); st == 422 && strings.Contains(detailOf(t, route, body), "no_such_field") {
			t.Errorf("%s is lenient but refused an unknown field: %v", route, body)
		}
	}
}

// expectCredentialRules checks the credential answers of a protected route
// of s that writes to organization org (through project when it is not
// empty): no credentials, a bad scheme, an unknown key, an expired access
// token and a revoked key (and its token) are 401 {detail}; a read-scope
// key of an owner and a viewer's write key are 403 {detail}. body is a
// valid body, so authentication is what fails. It creates its own users
// and keys in org and leaves the token clock where it found it.
func expectCredentialRules(t *testing.T, k *tenants, s *apiserver.Server, org, method, path, body string) {
	t.Helper()
	ctx := context.Background()
	owner := k.member(t, org, tenancy.RoleOwner)
	viewer := k.member(t, org, tenancy.RoleViewer)
	read := k.key(t, org, owner.ID, credential.ScopeRead)
	viewerWrite := k.key(t, org, viewer.ID, credential.ScopeWrite)
	expiring := k.key(t, org, owner.ID, credential.ScopeWrite)
	tok, err := k.Auth.ExchangeKey(ctx, expiring)
	if err != nil {
		t.Fatal(err)
	}
	revoked := k.key(t, org, owner.ID, credential.ScopeWrite)
	revokedTok, err := k.Auth.ExchangeKey(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := k.Store.APIKeys(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if strings.HasPrefix(revoked, key.Prefix) {
			if err := k.Store.RevokeAPIKey(ctx, key.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, c := range []struct {
		name    string
		headers map[string]string
		status  int
		mention string
	}{
		{"no credentials", nil, 401, "credentials required"},
		{"Basic scheme", map[string]string{"Authorization": "Basic " + read}, 401, "bearer"},
		{"unknown key", bearer(credential.NewAPIKey()), 401, "invalid api key"},
		{"revoked key", bearer(revoked), 401, "revoked"},
		{"revoked key in X-Portiere-API-Key", apiKeyHeader(revoked), 401, "revoked"},
		{"token of a revoked key", bearer(revokedTok.AccessToken), 401, "revoked"},
		{"read-scope key", bearer(read), 403, "read scope"},
		{"viewer's write key", bearer(viewerWrite), 403, ""},
	} {
		st, answer := callAPI(t, s, method, path, c.headers, body)
		if st != c.status {
			t.Errorf("%s %s with %s: %d %v, want %d", method, path, c.name, st, answer, c.status)
			continue
		}
		if d := detailOf(t, method+" "+path+" with "+c.name, answer); !strings.Contains(strings.ToLower(d), c.mention) {
			t.Errorf("%s %s with %s: detail %q does not mention %q", method, path, c.name, d, c.mention)
		}
	}
	k.advance(2 * credential.DefaultTokenTTL)
	defer k.advance(-2 * credential.DefaultTokenTTL)
	if st, answer := callAPI(t, s, method, path, bearer(tok.AccessToken), body); st != 401 || !strings.Contains(detailOf(t, "expired token", answer), "expired") {
		t.Errorf("%s %s with an expired access token: %d %v, want 401 {detail: …expired…}", method, path, st, answer)
	}
}

package credential_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/credential"
)

const operatorToken = "operator-token-operator-token-xyz"

type fixture struct {
	keys   *memKeys
	hasher *credential.KeyHasher
	tokens *credential.TokenService
	auth   *credential.Authenticator
}

func newFixture(t testing.TB, touchEvery time.Duration) *fixture {
	t.Helper()
	f := &fixture{keys: newMemKeys()}
	var err error
	if f.hasher, err = credential.NewKeyHasher(testSalt); err != nil {
		t.Fatal(err)
	}
	f.tokens = newTokens(t, f.keys)
	f.auth, err = credential.NewAuthenticator(credential.AuthenticatorConfig{
		Keys: f.keys, Hasher: f.hasher, Tokens: f.tokens, OperatorToken: operatorToken, TouchInterval: touchEvery,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.auth.Close)
	return f
}

// addKey stores a new key and returns its plaintext.
func (f *fixture) addKey(id string, role credential.Role, scope credential.Scope, project string) string {
	raw := credential.NewAPIKey()
	f.keys.put(credential.KeyRecord{ID: id, OrganizationID: "org-1", ProjectID: project, Role: role, Scope: scope, Hash: f.hasher.Hash(raw)})
	return raw
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestAuthenticateAccepts(t *testing.T) {
	f := newFixture(t, time.Hour)
	raw := f.addKey("key-1", credential.RoleAdmin, credential.ScopeWrite, "proj-1")
	tok, err := f.auth.ExchangeKey(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := credential.Principal{OrganizationID: "org-1", KeyID: "key-1", Role: credential.RoleAdmin, Scope: credential.ScopeWrite, ProjectID: "proj-1"}
	cases := map[string]struct {
		h    credential.Headers
		want credential.Principal
	}{
		"bearer api key":       {headers("Authorization", "Bearer "+raw), wantKey},
		"lowercase scheme":     {headers("Authorization", "bearer  "+raw), wantKey},
		"x-portiere-api-key":   {headers("X-Portiere-API-Key", raw), wantKey},
		"both, same key (SDK)": {headers("Authorization", "Bearer "+raw, "X-Portiere-API-Key", raw), wantKey},
		"bearer jwt":           {headers("Authorization", "Bearer "+tok.AccessToken), wantKey},
		"operator token":       {headers("Authorization", "Bearer "+operatorToken), credential.Principal{Operator: true}},
		"header func (fiber)":  {credential.HeaderFunc(func(n string) string { return map[string]string{"Authorization": "Bearer " + raw}[n] }), wantKey},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := f.auth.Authenticate(context.Background(), c.h)
			if err != nil {
				t.Fatal(err)
			}
			if p != c.want {
				t.Fatalf("principal = %+v, want %+v", p, c.want)
			}
		})
	}
}

func TestAuthenticateRefuses(t *testing.T) {
	f := newFixture(t, time.Hour)
	raw := f.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	revokedRaw := f.addKey("key-2", credential.RoleMember, credential.ScopeWrite, "")
	revokedTok, err := f.auth.ExchangeKey(context.Background(), revokedRaw)
	if err != nil {
		t.Fatal(err)
	}
	f.keys.revoke("key-2", time.Now())

	expiredSvc := newTokens(t, f.keys, credential.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
	k1, _ := f.keys.KeyByID(context.Background(), "key-1")
	expired, err := expiredSvc.Issue(k1)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, _ := credential.NewTokenService(testSecret+"-other", f.keys)
	forged, _ := otherSecret.Issue(k1)
	unknown := credential.NewAPIKey()

	cases := map[string]struct {
		h      http.Header
		detail string
	}{
		"nothing":              {headers(), "credentials required"},
		"basic scheme":         {headers("Authorization", "Basic dXNlcjpwYXNz"), "Bearer scheme"},
		"bearer without value": {headers("Authorization", "Bearer "), "no credential"},
		"malformed key":        {headers("Authorization", "Bearer pt_sk_short"), "malformed API key"},
		"unknown key":          {headers("Authorization", "Bearer "+unknown), "invalid API key"},
		"unknown key header":   {headers("X-Portiere-API-Key", unknown), "invalid API key"},
		"jwt in key header":    {headers("X-Portiere-API-Key", revokedTok.AccessToken), "must hold an API key"},
		"conflicting headers":  {headers("Authorization", "Bearer "+raw, "X-Portiere-API-Key", unknown), "different credentials"},
		"revoked key":          {headers("Authorization", "Bearer "+revokedRaw), "revoked"},
		"revoked key header":   {headers("X-Portiere-API-Key", revokedRaw), "revoked"},
		"revoked key's jwt":    {headers("Authorization", "Bearer "+revokedTok.AccessToken), "revoked"},
		"expired jwt":          {headers("Authorization", "Bearer "+expired.AccessToken), "expired"},
		"jwt, other secret":    {headers("Authorization", "Bearer "+forged.AccessToken), "signature invalid"},
		"wrong operator token": {headers("Authorization", "Bearer "+operatorToken+"x"), "malformed"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.auth.Authenticate(context.Background(), c.h)
			wantDenied(t, err, credential.ErrUnauthenticated, c.detail)
			var d *credential.DeniedError
			errors.As(err, &d)
			for _, secret := range []string{raw, revokedRaw, unknown, operatorToken, testSalt, testSecret} {
				if strings.Contains(d.Detail, secret) {
					t.Errorf("detail %q reveals a secret", d.Detail)
				}
			}
		})
	}

	if _, err := f.auth.ExchangeKey(context.Background(), revokedRaw); !errors.Is(err, credential.ErrUnauthenticated) {
		t.Errorf("ExchangeKey(revoked) = %v", err)
	}
	if _, err := f.auth.ExchangeKey(context.Background(), "nonsense"); !errors.Is(err, credential.ErrUnauthenticated) {
		t.Errorf("ExchangeKey(nonsense) = %v", err)
	}
}

func TestAuthenticateKeyWithWrongStoredHash(t *testing.T) {
	// A store that matched loosely (say, by prefix) must not let a different
	// key in: the Authenticator recompares the hash itself.
	f := newFixture(t, time.Hour)
	raw := credential.NewAPIKey()
	loose := looseStore{memKeys: f.keys, rec: credential.KeyRecord{ID: "k", OrganizationID: "org-1", Role: credential.RoleOwner, Scope: credential.ScopeWrite, Hash: f.hasher.Hash(credential.NewAPIKey())}}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: loose, Hasher: f.hasher, Tokens: f.tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.Authenticate(context.Background(), headers("Authorization", "Bearer "+raw))
	wantDenied(t, err, credential.ErrUnauthenticated, "invalid API key")
}

type looseStore struct {
	*memKeys
	rec credential.KeyRecord
}

func (l looseStore) KeyByHash(context.Context, credential.KeyHash) (credential.KeyRecord, error) {
	return l.rec, nil
}

func TestAuthenticateStorageFailure(t *testing.T) {
	f := newFixture(t, time.Hour)
	raw := f.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	boom := errors.New("database is down")
	f.keys.fail = boom
	_, err := f.auth.Authenticate(context.Background(), headers("Authorization", "Bearer "+raw))
	if !errors.Is(err, boom) || errors.Is(err, credential.ErrUnauthenticated) {
		t.Fatalf("err = %v, want the storage error, not a 401", err)
	}
}

func TestAuthenticateWithoutOperatorToken(t *testing.T) {
	f := newFixture(t, time.Hour)
	a, _ := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: f.keys, Hasher: f.hasher, Tokens: f.tokens})
	defer a.Close()
	_, err := a.Authenticate(context.Background(), headers("Authorization", "Bearer "+operatorToken))
	wantDenied(t, err, credential.ErrUnauthenticated, "malformed")
}

func TestTouchIsThrottledAndAsynchronous(t *testing.T) {
	f := newFixture(t, time.Hour)
	raw := f.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	release := make(chan struct{})
	f.keys.touchFn = func(string) { <-release }

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.auth.Authenticate(ctx, headers("X-Portiere-API-Key", raw)); err != nil {
				t.Error(err)
			}
		}()
	}
	// Every request finished although the touch is still blocked: the write
	// does not hold requests up.
	wg.Wait()
	cancel() // the request's context ending must not cancel the write
	close(release)
	f.auth.Close()
	if n := f.keys.touches("key-1"); n != 1 {
		t.Fatalf("%d last-used writes for 50 requests within the interval, want 1", n)
	}

	g := newFixture(t, time.Nanosecond)
	raw = g.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	for range 3 {
		if _, err := g.auth.Authenticate(context.Background(), headers("X-Portiere-API-Key", raw)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	g.auth.Close()
	if n := g.keys.touches("key-1"); n != 3 {
		t.Fatalf("%d writes with a 1ns interval, want 3", n)
	}
}

func TestNewAuthenticatorRequiresDependencies(t *testing.T) {
	f := newFixture(t, time.Hour)
	for name, cfg := range map[string]credential.AuthenticatorConfig{
		"keys":   {Hasher: f.hasher, Tokens: f.tokens},
		"hasher": {Keys: f.keys, Tokens: f.tokens},
		"tokens": {Keys: f.keys, Hasher: f.hasher},
	} {
		if _, err := credential.NewAuthenticator(cfg); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	base := credential.AuthenticatorConfig{Keys: f.keys, Hasher: f.hasher, Tokens: f.tokens}
	base.OperatorToken = "short-operator-token"
	if _, err := credential.NewAuthenticator(base); !errors.Is(err, credential.ErrWeakSecret) {
		t.Errorf("short operator token: %v", err)
	}
	base.OperatorToken = credential.NewAPIKey()
	if _, err := credential.NewAuthenticator(base); err == nil {
		t.Error("operator token shaped like an API key accepted")
	}
}

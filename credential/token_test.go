package credential_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portiere/portiere/credential"
)

func newTokens(t testing.TB, keys credential.KeyLookup, opts ...credential.TokenOption) *credential.TokenService {
	t.Helper()
	s, err := credential.NewTokenService(testSecret, keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeKey(id string) credential.KeyRecord {
	return credential.KeyRecord{ID: id, OrganizationID: "org-1", Role: credential.RoleMember, Scope: credential.ScopeWrite}
}

// wantDenied fails unless err is a *DeniedError of kind whose detail
// contains detail.
func wantDenied(t *testing.T, err error, kind error, detail string) {
	t.Helper()
	var d *credential.DeniedError
	if !errors.As(err, &d) || !errors.Is(err, kind) {
		t.Fatalf("err = %v, want a DeniedError wrapping %v", err, kind)
	}
	if !strings.Contains(d.Detail, detail) {
		t.Fatalf("detail %q does not contain %q", d.Detail, detail)
	}
}

func TestTokenIssueVerify(t *testing.T) {
	keys := newMemKeys()
	k := writeKey("key-1")
	k.ProjectID = "proj-9"
	keys.put(k)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newTokens(t, keys, credential.WithClock(func() time.Time { return now }), credential.WithTokenTTL(30*time.Minute))

	tok, err := s.Issue(k)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "bearer" || tok.ExpiresIn != 30*time.Minute || !tok.ExpiresAt.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("token = %+v", tok)
	}
	if strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("access token %q is not a JWS", tok.AccessToken)
	}
	c, err := s.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrganizationID != "org-1" || c.KeyID != "key-1" || c.Scope != credential.ScopeWrite || c.ProjectID != "proj-9" ||
		c.Issuer != "portiere" || c.Subject != "key:key-1" || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(30*time.Minute)) || c.ID == "" {
		t.Fatalf("claims = %+v", c)
	}
	p := c.Principal()
	if p.KeyID != "key-1" || p.OrganizationID != "org-1" || p.ProjectID != "proj-9" || p.Operator {
		t.Fatalf("principal = %+v", p)
	}
	// The header names HS256 and the payload is what the SDK can read.
	hdr, _, _ := strings.Cut(tok.AccessToken, ".")
	if hdr != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" {
		t.Errorf("header %q is not {alg:HS256,typ:JWT}", hdr)
	}
	tok2, _ := s.Issue(k)
	if tok2.AccessToken == tok.AccessToken {
		t.Error("two tokens issued in the same second are identical (no jti)")
	}
}

func TestTokenVerifyRefuses(t *testing.T) {
	keys := newMemKeys()
	k := writeKey("key-1")
	keys.put(k)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newTokens(t, keys, credential.WithClock(clock))
	good, err := s.Issue(k)
	if err != nil {
		t.Fatal(err)
	}

	claims := func(mut func(*credential.Claims)) credential.Claims {
		c := credential.Claims{OrganizationID: "org-1", KeyID: "key-1", Role: credential.RoleMember, Scope: credential.ScopeWrite,
			RegisteredClaims: jwt.RegisteredClaims{Issuer: "portiere", Subject: "key:key-1",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c credential.Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good.AccessToken, ".")
	// A payload granting more, spliced onto the good token's signature.
	admin := strings.Split(sign(jwt.SigningMethodHS256, []byte("x"), claims(func(c *credential.Claims) { c.Role = credential.RoleOwner })), ".")

	cases := map[string]struct {
		token  string
		detail string
	}{
		"empty":           {"", "malformed"},
		"garbage":         {"not-a-jwt", "malformed"},
		"tampered":        {parts[0] + "." + admin[1] + "." + parts[2], "signature invalid"},
		"wrong secret":    {sign(jwt.SigningMethodHS256, []byte(testSecret+"!"), claims(nil)), "signature invalid"},
		"alg HS512":       {sign(jwt.SigningMethodHS512, []byte(testSecret), claims(nil)), "invalid"},
		"alg none":        {sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), "invalid"},
		"alg RS256":       {sign(jwt.SigningMethodRS256, rsaKey, claims(nil)), "invalid"},
		"expired":         {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })), "expired"},
		"no expiry":       {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.ExpiresAt = nil })), "invalid"},
		"issued later":    {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })), "invalid"},
		"wrong issuer":    {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.Issuer = "someone-else" })), "invalid"},
		"no key id":       {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.KeyID = "" })), "invalid"},
		"subject differs": {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.Subject = "key:other" })), "invalid"},
		"unknown key":     {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.KeyID, c.Subject = "key-x", "key:key-x" })), "no longer exists"},
		"other org":       {sign(jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *credential.Claims) { c.OrganizationID = "org-2" })), "invalid"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Verify(context.Background(), c.token)
			wantDenied(t, err, credential.ErrUnauthenticated, c.detail)
		})
	}

	// The same token later than its expiry (plus the tolerated skew).
	later := newTokens(t, keys, credential.WithClock(func() time.Time { return now.Add(time.Hour + time.Minute) }))
	_, err = later.Verify(context.Background(), good.AccessToken)
	wantDenied(t, err, credential.ErrUnauthenticated, "expired")

	// Revoking the key refuses its live token at once.
	if _, err := s.Verify(context.Background(), good.AccessToken); err != nil {
		t.Fatalf("good token refused before revocation: %v", err)
	}
	keys.revoke("key-1", now)
	_, err = s.Verify(context.Background(), good.AccessToken)
	wantDenied(t, err, credential.ErrUnauthenticated, "revoked")

	// A revoked key gets no new token.
	rk, _ := keys.KeyByID(context.Background(), "key-1")
	_, err = s.Issue(rk)
	wantDenied(t, err, credential.ErrUnauthenticated, "revoked")
}

func TestTokenVerifyUsesCurrentKeyRecord(t *testing.T) {
	keys := newMemKeys()
	k := writeKey("key-1")
	keys.put(k)
	s := newTokens(t, keys)
	tok, _ := s.Issue(k)
	k.Scope = credential.ScopeRead
	keys.put(k)
	c, err := s.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scope != credential.ScopeRead {
		t.Errorf("scope = %q, want the key's narrowed scope %q", c.Scope, credential.ScopeRead)
	}
}

func TestTokenVerifyStorageFailureIsNotUnauthenticated(t *testing.T) {
	keys := newMemKeys()
	k := writeKey("key-1")
	keys.put(k)
	s := newTokens(t, keys)
	tok, _ := s.Issue(k)
	boom := errors.New("connection refused")
	keys.fail = boom
	_, err := s.Verify(context.Background(), tok.AccessToken)
	if !errors.Is(err, boom) || errors.Is(err, credential.ErrUnauthenticated) {
		t.Fatalf("err = %v, want the storage error and not ErrUnauthenticated", err)
	}
}

func TestNewTokenServiceRejects(t *testing.T) {
	keys := newMemKeys()
	if _, err := credential.NewTokenService("short", keys); !errors.Is(err, credential.ErrWeakSecret) {
		t.Errorf("short secret: %v", err)
	}
	if _, err := credential.NewTokenService(testSecret, nil); err == nil {
		t.Error("nil KeyLookup accepted")
	}
	if _, err := credential.NewTokenService(testSecret, keys, credential.WithTokenTTL(0)); err == nil {
		t.Error("zero TTL accepted")
	}
}

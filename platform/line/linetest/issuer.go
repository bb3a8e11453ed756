// Package linetest runs local stand-ins for LINE's platform in tests: an ID
// token issuer with LINE's verify endpoint (issuer.go), so the login is
// tested against a real HTTP exchange and real signatures instead of a mock.
// Servers listen on 127.0.0.1 only.
package linetest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portiere/portiere/platform/line"
)

// Issuer signs LINE Login ID tokens (HS256 with its channel secret, as
// LINE does for web logins) and answers POST /oauth2/v2.1/verify as LINE
// does: 200 with the claims, or 400 {error, error_description} for a bad
// signature, an expired token, another channel or another nonce. It is safe
// for concurrent use.
type Issuer struct {
	ChannelID string
	secret    []byte
	now       func() time.Time
}

// NewIssuer returns an issuer for channelID with a random channel secret.
func NewIssuer(channelID string) *Issuer {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &Issuer{ChannelID: channelID, secret: secret, now: time.Now}
}

// Start serves a new issuer on 127.0.0.1 for the test's duration and
// returns it with its base URL (line.VerifierOptions.BaseURL).
func Start(t testing.TB, channelID string) (*Issuer, string) {
	t.Helper()
	iss := NewIssuer(channelID)
	mux := http.NewServeMux()
	iss.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return iss, srv.URL
}

// Register mounts the issuer's endpoints on mux (so one test server can
// carry other LINE stand-ins too).
func (i *Issuer) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/v2.1/verify", i.verify)
}

// Token is what an issued ID token says. Zero Audience means the issuer's
// channel; zero ExpiresAt one hour from now.
type Token struct {
	Subject   string // the LINE user id
	Name      string
	Nonce     string
	Audience  string
	ExpiresAt time.Time
}

// Issue returns a signed ID token.
func (i *Issuer) Issue(tok Token) string {
	return i.sign(tok, i.secret)
}

// Forge returns a token like Issue's but signed with another secret: what
// an attacker without the channel secret can make.
func (i *Issuer) Forge(tok Token) string {
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	return i.sign(tok, other)
}

func (i *Issuer) sign(tok Token, secret []byte) string {
	if tok.Audience == "" {
		tok.Audience = i.ChannelID
	}
	if tok.ExpiresAt.IsZero() {
		tok.ExpiresAt = i.now().Add(time.Hour)
	}
	c := jwt.MapClaims{"iss": line.Issuer, "sub": tok.Subject, "aud": tok.Audience, "exp": tok.ExpiresAt.Unix(),
		"iat": i.now().Add(-time.Minute).Unix(), "amr": []string{"linesso"}, "name": tok.Name}
	if tok.Nonce != "" {
		c["nonce"] = tok.Nonce
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		panic(err) // HS256 with a byte key does not fail
	}
	return s
}

// verify is LINE's endpoint: https://developers.line.biz/en/reference/line-login/#verify-id-token
func (i *Issuer) verify(w http.ResponseWriter, r *http.Request) {
	fail := func(desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request","error_description":"` + desc + `"}`))
	}
	if err := r.ParseForm(); err != nil {
		fail("Invalid request.")
		return
	}
	var c jwt.MapClaims
	_, err := jwt.ParseWithClaims(r.PostForm.Get("id_token"), &c, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(i.now), jwt.WithIssuer(line.Issuer))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		fail("IdToken expired.")
		return
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		fail("Invalid IdToken Signature.")
		return
	case err != nil:
		fail("Invalid IdToken.")
		return
	}
	if aud, _ := c.GetAudience(); len(aud) != 1 || aud[0] != r.PostForm.Get("client_id") {
		fail("Invalid IdToken Audience.")
		return
	}
	if n := r.PostForm.Get("nonce"); n != "" && c["nonce"] != n {
		fail("Invalid IdToken Nonce.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := map[string]any{}
	for k, v := range c {
		enc[k] = v
	}
	if aud, _ := c.GetAudience(); len(aud) == 1 {
		enc["aud"] = aud[0] // LINE answers aud as a string
	}
	_ = json.NewEncoder(w).Encode(enc)
}

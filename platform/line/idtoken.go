package line

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultAPIBaseURL is LINE's API, where the ID token verify endpoint is.
const DefaultAPIBaseURL = "https://api.line.me"

// Issuer is the iss of every LINE Login ID token.
const Issuer = "https://access.line.me"

// ErrInvalidToken is returned (wrapped, with LINE's or our reason) for an ID
// token that is forged, expired, for another channel or another nonce.
var ErrInvalidToken = errors.New("line: invalid ID token")

// Identity is what a verified ID token says about the user.
type Identity struct {
	UserID      string // sub: the LINE user id ("U" + 32 hex)
	DisplayName string // name, when the profile scope was granted
	PictureURL  string
	Email       string
	ExpiresAt   time.Time
}

// Verifier checks LINE Login ID tokens with LINE's verify endpoint
// (POST {base}/oauth2/v2.1/verify), then checks the returned claims itself
// — issuer, audience (the channel id), expiry and nonce — so a misbehaving
// or misconfigured endpoint cannot sign anyone in. It is safe for
// concurrent use.
type Verifier struct {
	base      string
	channelID string
	client    *http.Client
	now       func() time.Time
}

// VerifierOptions are a Verifier's settings.
type VerifierOptions struct {
	// BaseURL is LINE's API (default DefaultAPIBaseURL); tests point it at
	// linetest.
	BaseURL string
	// ChannelID is the LINE Login channel (LINE_CHANNEL_ID): the audience
	// a token must have. Required.
	ChannelID string
	// Client makes the request (default: a client with a 10 s timeout).
	Client *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewVerifier returns a Verifier, or an error when the channel id is
// missing or the base URL is not an http(s) URL.
func NewVerifier(o VerifierOptions) (*Verifier, error) {
	if o.ChannelID == "" {
		return nil, errors.New("line: LINE_CHANNEL_ID is not set; it is the audience every ID token must name")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultAPIBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("line: base URL %q is not an http(s) URL", o.BaseURL)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Verifier{base: strings.TrimRight(o.BaseURL, "/"), channelID: o.ChannelID, client: o.Client, now: o.Now}, nil
}

// ChannelID is the audience the Verifier requires.
func (v *Verifier) ChannelID() string { return v.channelID }

// claims is the verify endpoint's answer.
type claims struct {
	Iss     string `json:"iss"`
	Sub     string `json:"sub"`
	Aud     string `json:"aud"`
	Exp     int64  `json:"exp"`
	Iat     int64  `json:"iat"`
	Nonce   string `json:"nonce"`
	Name    string `json:"name"`
	Picture string `json:"picture"`
	Email   string `json:"email"`
}

// maxTokenBytes bounds an ID token: real ones are about 1 KiB.
const maxTokenBytes = 8 << 10

// Verify checks idToken and returns who it names. nonce is the value this
// server put in the login request (LINE Login's authorize step), which the
// token must carry; "" skips that check — an ID token from LIFF's
// liff.getIDToken() carries no nonce, so a LIFF login relies on the
// signature, audience and the token's one-hour expiry. A rejected token
// is an error wrapping ErrInvalidToken naming why; LINE unreachable is a
// different error.
func (v *Verifier) Verify(ctx context.Context, idToken, nonce string) (Identity, error) {
	if idToken == "" || len(idToken) > maxTokenBytes || strings.Count(idToken, ".") != 2 {
		return Identity{}, fmt.Errorf("%w: not a JWT", ErrInvalidToken)
	}
	form := url.Values{"id_token": {idToken}, "client_id": {v.channelID}}
	if nonce != "" {
		form.Set("nonce", nonce)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/oauth2/v2.1/verify", strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("line: verify ID token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Identity{}, fmt.Errorf("line: verify ID token: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Description == "" {
			e.Description = e.Error
		}
		return Identity{}, fmt.Errorf("%w: LINE says %q", ErrInvalidToken, e.Description)
	case resp.StatusCode != http.StatusOK:
		return Identity{}, fmt.Errorf("line: verify ID token: LINE answered %s", resp.Status)
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return Identity{}, fmt.Errorf("line: verify ID token: unreadable answer: %w", err)
	}
	now := v.now()
	switch {
	case c.Iss != Issuer:
		return Identity{}, fmt.Errorf("%w: issuer %q, want %q", ErrInvalidToken, c.Iss, Issuer)
	case c.Aud != v.channelID:
		return Identity{}, fmt.Errorf("%w: issued for channel %q, not this one", ErrInvalidToken, c.Aud)
	case c.Exp == 0 || !now.Before(time.Unix(c.Exp, 0)):
		return Identity{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	case nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return Identity{}, fmt.Errorf("%w: nonce does not match this login", ErrInvalidToken)
	case c.Sub == "":
		return Identity{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return Identity{UserID: c.Sub, DisplayName: c.Name, PictureURL: c.Picture, Email: c.Email, ExpiresAt: time.Unix(c.Exp, 0)}, nil
}

package credential

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultTokenTTL is how long an access token lives. The SDK refreshes
	// five minutes before expiry, so this must stay well above that.
	DefaultTokenTTL = time.Hour
	// DefaultIssuer is the iss claim of tokens this package issues.
	DefaultIssuer = "portiere"
	// TokenType is the token_type of an access token response.
	TokenType = "bearer"

	// clockSkew tolerates small differences between servers' clocks when
	// checking exp and iat.
	clockSkew = 30 * time.Second
)

// Claims are the JWT claims of an access token issued for an API key. The
// standard ones (sub "key:<id>", iss, iat, exp, jti) live in
// RegisteredClaims.
type Claims struct {
	OrganizationID string `json:"org_id"`
	KeyID          string `json:"key_id"`
	Role           Role   `json:"role"`
	Scope          Scope  `json:"scope"`
	ProjectID      string `json:"project_id,omitempty"`
	// UserID is the key's creator, read from the key store on every use
	// like Role (not part of the token).
	UserID string `json:"-"`
	jwt.RegisteredClaims
}

// Token is an issued access token. The auth route renders it as
// {access_token, token_type, expires_in}.
type Token struct {
	AccessToken string
	TokenType   string        // always TokenType
	ExpiresIn   time.Duration // lifetime from issue
	ExpiresAt   time.Time
}

// KeyRecord is what a key store knows about one API key. Hash is its
// KeyHasher hash; RevokedAt is zero while the key is active.
type KeyRecord struct {
	ID             string
	OrganizationID string
	ProjectID      string // empty: organisation-wide
	// UserID is the user who created the key and whom it acts for (the
	// principal's UserID); empty for a system key.
	UserID    string
	Role      Role
	Scope     Scope
	Hash      KeyHash
	RevokedAt time.Time
}

// Revoked reports whether the key has been revoked.
func (k KeyRecord) Revoked() bool { return !k.RevokedAt.IsZero() }

// principal is the caller a request made with this key acts as.
func (k KeyRecord) principal() Principal {
	return Principal{OrganizationID: k.OrganizationID, UserID: k.UserID, KeyID: k.ID, Role: k.Role, Scope: k.Scope, ProjectID: k.ProjectID}
}

// KeyLookup finds an API key by its id. It returns ErrKeyNotFound when there
// is none; any other error is a storage failure. Implementations must be
// safe for concurrent use.
type KeyLookup interface {
	KeyByID(ctx context.Context, id string) (KeyRecord, error)
}

// TokenService issues and verifies access tokens. It is safe for concurrent
// use.
type TokenService struct {
	secret []byte
	issuer string
	ttl    time.Duration
	keys   KeyLookup
	now    func() time.Time
}

// TokenOption configures a TokenService.
type TokenOption func(*TokenService)

// WithTokenTTL sets the lifetime of issued tokens (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) TokenOption { return func(s *TokenService) { s.ttl = d } }

// WithIssuer sets the iss claim written and required (default DefaultIssuer).
func WithIssuer(iss string) TokenOption { return func(s *TokenService) { s.issuer = iss } }

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) TokenOption { return func(s *TokenService) { s.now = now } }

// NewTokenService returns a service signing with secret (JWT_SECRET) and
// checking revocation through keys. It returns ErrWeakSecret (wrapped) for a
// secret shorter than MinSecretLength bytes, and an error for a nil keys or
// a non-positive TTL.
func NewTokenService(secret string, keys KeyLookup, opts ...TokenOption) (*TokenService, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("%w: JWT secret has %d bytes, want at least %d", ErrWeakSecret, len(secret), MinSecretLength)
	}
	if keys == nil {
		return nil, errors.New("credential: NewTokenService needs a KeyLookup to check revocation")
	}
	s := &TokenService{secret: []byte(secret), issuer: DefaultIssuer, ttl: DefaultTokenTTL, keys: keys, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.ttl <= 0 {
		return nil, fmt.Errorf("credential: token TTL %v must be positive", s.ttl)
	}
	return s, nil
}

// Issue signs an access token for key. It refuses a revoked key with
// ErrUnauthenticated (wrapped in *DeniedError).
func (s *TokenService) Issue(key KeyRecord) (Token, error) {
	if key.Revoked() {
		return Token{}, unauthenticated("API key revoked")
	}
	now := s.now().UTC().Truncate(time.Second)
	exp := now.Add(s.ttl)
	claims := Claims{
		OrganizationID: key.OrganizationID,
		KeyID:          key.ID,
		Role:           key.Role,
		Scope:          key.Scope,
		ProjectID:      key.ProjectID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   "key:" + key.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        NewTokenID(),
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return Token{}, fmt.Errorf("credential: sign token: %w", err)
	}
	return Token{AccessToken: signed, TokenType: TokenType, ExpiresIn: s.ttl, ExpiresAt: exp}, nil
}

// Verify checks raw's signature (HS256 only: "none", RS256 and every other
// algorithm are refused), issuer, iat and exp, then looks its key up and
// refuses the token if the key is gone, revoked or moved to another
// organisation. It returns the claims, with Role, Scope and ProjectID taken
// from the current key record so that narrowing a key takes effect at once.
//
// Bad, expired and revoked tokens give a *DeniedError wrapping
// ErrUnauthenticated; a storage failure is returned wrapped as it is (the
// caller answers 500, not 401).
func (s *TokenService) Verify(ctx context.Context, raw string) (Claims, error) {
	var claims Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(s.now),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.secret, nil })
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, unauthenticated("access token expired")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return Claims{}, unauthenticated("access token malformed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return Claims{}, unauthenticated("access token signature invalid")
	default:
		return Claims{}, unauthenticated("access token invalid")
	}
	if claims.KeyID == "" || claims.OrganizationID == "" || claims.Subject != "key:"+claims.KeyID {
		return Claims{}, unauthenticated("access token invalid")
	}

	key, err := s.keys.KeyByID(ctx, claims.KeyID)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return Claims{}, unauthenticated("API key behind this token no longer exists")
	case err != nil:
		return Claims{}, fmt.Errorf("credential: look up key of token: %w", err)
	case key.Revoked():
		return Claims{}, unauthenticated("API key behind this token was revoked")
	case key.OrganizationID != claims.OrganizationID:
		return Claims{}, unauthenticated("access token invalid")
	}
	claims.Role, claims.Scope, claims.ProjectID, claims.UserID = key.Role, key.Scope, key.ProjectID, key.UserID
	return claims, nil
}

// Principal returns the caller c's token acts as.
func (c Claims) Principal() Principal {
	return Principal{OrganizationID: c.OrganizationID, UserID: c.UserID, KeyID: c.KeyID, Role: c.Role, Scope: c.Scope, ProjectID: c.ProjectID}
}

// NewTokenID returns 128 random bits in base32, used as the jti claim so
// two tokens issued in the same second differ.
func NewTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return keyEncoding.EncodeToString(b)
}

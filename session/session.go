// Package session is the signed-in state of a browser in the web apps: a
// random token in an HttpOnly cookie, the user and organization it acts
// for, and the CSRF token its forms carry. It owns the model, the storage
// interface (Store) and the sentinel error; the PostgreSQL store is in
// sessionstore.
//
// Sessions are server-side rows rather than signed cookies (a JWT) because
// the web apps need what a row gives for free: revocation that takes effect
// on the next request (log out, sign out everywhere, a deleted user), a
// per-session CSRF token that never leaves the server except inside the
// pages it renders, the organization switcher's choice, and no signing key
// to distribute and rotate. A signed cookie with server-side revocation
// would read a table on every request anyway. Only the token's SHA-256 is
// stored: a leaked table cannot be replayed as cookies.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// ErrNotFound is returned by Store lookups when no live session matches:
// unknown token, expired or deleted.
var ErrNotFound = errors.New("session: not found")

// Session is one signed-in browser. The token itself is never stored:
// TokenHash is Hash(token).
type Session struct {
	TokenHash      string
	UserID         string
	OrganizationID string // the organization worked in; "" when none
	CSRFToken      string
	CreatedAt      time.Time
	LastSeenAt     time.Time
	ExpiresAt      time.Time
	UserAgent      string
}

// Store keeps sessions. Implementations are safe for concurrent use.
type Store interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session whose token hashes to tokenHash if it has
	// not expired at now, else an error wrapping ErrNotFound. It records
	// now as the session's last use (at most once a minute).
	Session(ctx context.Context, tokenHash string, now time.Time) (Session, error)
	// SetSessionOrganization switches the organization a session works in.
	SetSessionOrganization(ctx context.Context, tokenHash, orgID string) error
	// DeleteSession ends one session; ending an unknown one is not an error.
	DeleteSession(ctx context.Context, tokenHash string) error
	// DeleteUserSessions ends every session of userID except keep (a token
	// hash, "" for none) and returns how many ended.
	DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error)
}

// Start returns a new session for userID working in orgID, valid for ttl
// from now, and the token its cookie carries (shown to the browser only).
// It is safe for concurrent use.
func Start(userID, orgID, userAgent string, now time.Time, ttl time.Duration) (token string, s Session) {
	token = randomToken()
	return token, Session{
		TokenHash: Hash(token), UserID: userID, OrganizationID: orgID, CSRFToken: randomToken(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(ttl), UserAgent: truncate(userAgent, 200),
	}
}

// NewToken returns a fresh random token (256 bits, URL-safe base64), for
// cookies and CSRF tokens outside a session.
func NewToken() string { return randomToken() }

// Hash is the stored form of a session token: SHA-256 in lowercase hex. A
// plain hash is enough (no salt, no slow hash): the token has 256 random
// bits, so there is nothing to guess.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// SameToken compares two tokens in constant time; an empty one never
// matches.
func SameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; crashes the program if the source does
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Invitation invites an email address into an organization with a role.
// The link's token is never stored: TokenHash is InvitationTokenHash of it.
// An invitation is accepted once, before ExpiresAt.
type Invitation struct {
	ID             string
	OrganizationID string
	Email          string
	Role           Role
	TokenHash      string
	InvitedBy      string // user id; "" when that user is gone
	CreatedAt      time.Time
	ExpiresAt      time.Time
	AcceptedAt     *time.Time
}

// InvitationTTL is how long an invitation link stays valid.
const InvitationTTL = 7 * 24 * time.Hour

// NewInvitationToken returns a fresh random token for an invitation link
// (256 bits, URL-safe) and the hash to store. It is safe for concurrent
// use.
func NewInvitationToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; crashes the program if the source does
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, InvitationTokenHash(token)
}

// InvitationTokenHash is the stored form of an invitation token: SHA-256
// in lowercase hex (the token has 256 random bits: nothing to guess).
func InvitationTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

package credential

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

const (
	// APIKeyMarker starts every Portiere API key. It lets a server tell a key
	// from a JWT in the same Authorization header and lets secret scanners
	// recognise leaked keys.
	APIKeyMarker = "pt_sk_"

	// apiKeyBytes is the key's entropy: 256 bits, the same as the HMAC.
	apiKeyBytes = 32
	// apiKeyRandomLen is apiKeyBytes in unpadded base32.
	apiKeyRandomLen = 52
	// prefixRandomLen random characters are shown in listings. 40 bits keep
	// prefixes of one organisation's keys distinct in practice; the store
	// must still enforce uniqueness, since revoke-by-prefix depends on it.
	prefixRandomLen = 8

	// MinSecretLength is the shortest JWT secret or API key salt accepted:
	// HS256 and HMAC-SHA256 want at least 256 bits of key.
	MinSecretLength = 32
)

const keyAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// keyEncoding is lowercase base32 without padding: no '_' or '-' that would
// blur the marker, nothing that needs URL escaping, easy to read aloud.
var keyEncoding = base32.NewEncoding(keyAlphabet).WithPadding(base32.NoPadding)

// NewAPIKey returns a fresh API key ("pt_sk_" + 52 base32 characters, 256
// random bits from crypto/rand). Show it to its owner once and store only
// KeyHasher.Hash of it. It is safe for concurrent use.
func NewAPIKey() string {
	b := make([]byte, apiKeyBytes)
	// crypto/rand.Read never returns an error; it crashes the program if the
	// system's random source fails, which is what we want for key material.
	_, _ = rand.Read(b)
	return APIKeyMarker + keyEncoding.EncodeToString(b)
}

// LooksLikeAPIKey reports whether s carries the API key marker, which is how
// a bearer credential is told apart from a JWT. It does not validate s.
func LooksLikeAPIKey(s string) bool { return strings.HasPrefix(s, APIKeyMarker) }

// ParseAPIKey checks that s is a well-formed API key and returns it. The
// error wraps ErrMalformedKey and says what is wrong (missing marker, length,
// the first bad character's position) without echoing the key.
func ParseAPIKey(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrMalformedKey)
	}
	if !LooksLikeAPIKey(s) {
		return "", fmt.Errorf("%w: does not start with %q", ErrMalformedKey, APIKeyMarker)
	}
	body := s[len(APIKeyMarker):]
	if len(body) != apiKeyRandomLen {
		return "", fmt.Errorf("%w: %d characters after %q, want %d", ErrMalformedKey, len(body), APIKeyMarker, apiKeyRandomLen)
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", fmt.Errorf("%w: invalid character at position %d (want a-z or 2-7)", ErrMalformedKey, len(APIKeyMarker)+i+1)
		}
	}
	// The last base32 character of 32 bytes carries 4 unused bits; a key we
	// generated always has them zero, so a non-zero tail is a typo.
	if last := strings.IndexByte(keyAlphabet, body[len(body)-1]); last&0xF != 0 {
		return "", fmt.Errorf("%w: not a key this server issued (last character)", ErrMalformedKey)
	}
	return s, nil
}

// KeyPrefix returns the public part of a well-formed key ("pt_sk_" and its
// first 8 random characters), shown in listings and used to revoke it. It
// returns ErrMalformedKey (wrapped) for anything ParseAPIKey rejects.
func KeyPrefix(key string) (string, error) {
	if _, err := ParseAPIKey(key); err != nil {
		return "", err
	}
	return key[:len(APIKeyMarker)+prefixRandomLen], nil
}

// KeyHash is the storage form of an API key: HMAC-SHA256 under the API key
// salt. It is what KeyStore looks keys up by.
type KeyHash [sha256.Size]byte

// String returns the hash in lowercase hex, 64 characters.
func (h KeyHash) String() string { return hex.EncodeToString(h[:]) }

// ParseKeyHash reads a hash written by KeyHash.String.
func ParseKeyHash(s string) (KeyHash, error) {
	var h KeyHash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("credential: key hash must be %d hex characters", 2*len(h))
	}
	copy(h[:], b)
	return h, nil
}

// KeyHasher computes and checks API key hashes under one salt
// (API_KEY_SALT). A keyed HMAC rather than a bare hash means a leaked key
// table cannot be checked against guessed keys without the salt too. It is
// safe for concurrent use.
type KeyHasher struct {
	salt []byte
}

// NewKeyHasher returns a hasher for salt. It returns ErrWeakSecret (wrapped)
// when salt is shorter than MinSecretLength bytes.
func NewKeyHasher(salt string) (*KeyHasher, error) {
	if len(salt) < MinSecretLength {
		return nil, fmt.Errorf("%w: API key salt has %d bytes, want at least %d", ErrWeakSecret, len(salt), MinSecretLength)
	}
	return &KeyHasher{salt: []byte(salt)}, nil
}

// Hash returns HMAC-SHA256(salt, key).
func (h *KeyHasher) Hash(key string) KeyHash {
	m := hmac.New(sha256.New, h.salt)
	m.Write([]byte(key))
	var out KeyHash
	m.Sum(out[:0])
	return out
}

// Matches reports whether key hashes to want, comparing in constant time.
func (h *KeyHasher) Matches(key string, want KeyHash) bool {
	got := h.Hash(key)
	return hmac.Equal(got[:], want[:])
}

// IssuedKey is a freshly generated API key with the two forms that are
// stored: Key goes to its owner once and is never stored; Prefix and Hash
// are stored.
type IssuedKey struct {
	Key    string
	Prefix string
	Hash   KeyHash
}

// Issue generates a new API key and computes its stored forms, for the
// "create key" route and CLI. It is safe for concurrent use.
func (h *KeyHasher) Issue() IssuedKey {
	key := NewAPIKey()
	return IssuedKey{Key: key, Prefix: key[:len(APIKeyMarker)+prefixRandomLen], Hash: h.Hash(key)}
}

package credential

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of derived hash
}

// DefaultPasswordParams is RFC 9106's second recommended setting (section 4:
// 64 MiB, 3 passes, 4 lanes, 128-bit salt, 256-bit tag), also argon2-cffi's
// default; BenchmarkVerifyPassword measures its cost. It is deliberately not
// the 2 GiB first option: a sign-in must not be able to exhaust the API
// server's memory. Each hash or verification allocates Memory KiB, so
// servers bound concurrent ones with a PasswordGate.
var DefaultPasswordParams = PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// Bounds on passwords and on parameters read back from stored hashes: the
// upper ones keep a tampered hash row or a huge request body from turning a
// sign-in into a denial of service.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
	maxMemoryKiB      = 1024 * 1024
	maxTime           = 16
)

// ErrPasswordPolicy is wrapped by HashPassword for a password it will not
// hash (too short or too long).
var ErrPasswordPolicy = errors.New("credential: password rejected")

// HashPassword hashes password with argon2id and DefaultPasswordParams and
// returns a PHC string: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash> (salt and
// hash in unpadded standard base64). It returns ErrPasswordPolicy (wrapped)
// for a password shorter than MinPasswordLength or longer than
// MaxPasswordLength bytes. It is safe for concurrent use.
func HashPassword(password string) (string, error) {
	return HashPasswordWith(password, DefaultPasswordParams)
}

// HashPasswordWith is HashPassword with explicit parameters, for tests and
// for raising the cost later.
func HashPasswordWith(password string, p PasswordParams) (string, error) {
	if n := len(password); n < MinPasswordLength || n > MaxPasswordLength {
		return "", fmt.Errorf("%w: length must be %d to %d bytes", ErrPasswordPolicy, MinPasswordLength, MaxPasswordLength)
	}
	if p.Memory == 0 || p.Memory > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || p.Threads == 0 || p.SaltLen < 16 || p.KeyLen < 16 {
		return "", fmt.Errorf("credential: argon2id parameters out of range: %+v", p)
	}
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks password against a hash from HashPassword, in
// constant time over the derived key. It returns nil on a match,
// ErrPasswordMismatch when the password is wrong, and ErrMalformedHash
// (wrapped) when phc is not an argon2id PHC string with sane parameters.
// It is safe for concurrent use.
func VerifyPassword(password, phc string) error {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return err
	}
	if len(password) > MaxPasswordLength {
		return ErrPasswordMismatch
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// PasswordNeedsRehash reports whether phc was made with parameters other
// than DefaultPasswordParams, so a sign-in can store a fresh hash. A
// malformed hash needs one too.
func PasswordNeedsRehash(phc string) bool {
	p, salt, key, err := parsePHC(phc)
	d := DefaultPasswordParams
	return err != nil || p.Memory != d.Memory || p.Time != d.Time || p.Threads != d.Threads ||
		uint32(len(salt)) != d.SaltLen || uint32(len(key)) != d.KeyLen
}

func parsePHC(phc string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 '$'-separated fields", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q, want argon2id", ErrMalformedHash, parts[1])
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version field %q, want v=%d", ErrMalformedHash, parts[2], argon2.Version)
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) != parts[3] {
		return p, nil, nil, fmt.Errorf("%w: parameter field %q", ErrMalformedHash, parts[3])
	}
	if p.Memory == 0 || p.Memory > maxMemoryKiB || p.Time == 0 || p.Time > maxTime || threads == 0 || threads > 255 {
		return p, nil, nil, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	p.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: hash", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// PasswordGate bounds how many password hashes and verifications run at
// once, so a burst of sign-ins costs at most n × 64 MiB instead of growing
// with the request count. It is safe for concurrent use.
type PasswordGate struct {
	slots chan struct{}
}

// NewPasswordGate returns a gate admitting n concurrent operations (n < 1
// is taken as 1).
func NewPasswordGate(n int) *PasswordGate {
	return &PasswordGate{slots: make(chan struct{}, max(n, 1))}
}

// Verify is VerifyPassword run when a slot is free. It returns ctx's error
// if ctx ends while waiting.
func (g *PasswordGate) Verify(ctx context.Context, password, phc string) error {
	if err := g.acquire(ctx); err != nil {
		return err
	}
	defer g.release()
	return VerifyPassword(password, phc)
}

// Hash is HashPassword run when a slot is free. It returns ctx's error if
// ctx ends while waiting.
func (g *PasswordGate) Hash(ctx context.Context, password string) (string, error) {
	if err := g.acquire(ctx); err != nil {
		return "", err
	}
	defer g.release()
	return HashPassword(password)
}

func (g *PasswordGate) acquire(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("credential: waiting to check a password: %w", ctx.Err())
	}
}

func (g *PasswordGate) release() { <-g.slots }

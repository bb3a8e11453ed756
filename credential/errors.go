package credential

import (
	"errors"
	"fmt"
)

// Sentinel errors. Authorisation and authentication failures wrap
// ErrUnauthenticated or ErrForbidden inside a *DeniedError; test with
// errors.Is and read the caller-facing text with errors.As.
var (
	// ErrUnauthenticated means no usable credential was presented: missing,
	// malformed, unknown, expired or revoked. HTTP layers answer 401.
	ErrUnauthenticated = errors.New("credential: not authenticated")

	// ErrForbidden means the caller is known but its role, scope or project
	// restriction does not allow the action. HTTP layers answer 403.
	ErrForbidden = errors.New("credential: forbidden")

	// ErrKeyNotFound is what KeyStore and KeyLookup implementations return
	// when no key matches; the Authenticator turns it into ErrUnauthenticated.
	ErrKeyNotFound = errors.New("credential: API key not found")

	// ErrMalformedKey is wrapped by ParseAPIKey for a string that is not a
	// Portiere API key.
	ErrMalformedKey = errors.New("credential: malformed API key")

	// ErrWeakSecret is returned by constructors given a JWT secret or API key
	// salt shorter than MinSecretLength bytes.
	ErrWeakSecret = errors.New("credential: secret too short")

	// ErrPasswordMismatch is returned by VerifyPassword when the password
	// does not match the hash.
	ErrPasswordMismatch = errors.New("credential: password does not match")

	// ErrMalformedHash is wrapped by VerifyPassword when the stored hash is
	// not an argon2id PHC string it can read.
	ErrMalformedHash = errors.New("credential: malformed password hash")
)

// DeniedError is an authentication or authorisation refusal. Kind is
// ErrUnauthenticated or ErrForbidden; Detail is a sentence that never
// contains a secret, a hash or a storage error, so HTTP layers may return it
// as the response's detail.
type DeniedError struct {
	Kind   error
	Detail string
}

func (e *DeniedError) Error() string { return e.Kind.Error() + ": " + e.Detail }

// Unwrap returns Kind so that errors.Is(err, ErrForbidden) works.
func (e *DeniedError) Unwrap() error { return e.Kind }

func unauthenticated(format string, args ...any) error {
	return &DeniedError{Kind: ErrUnauthenticated, Detail: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &DeniedError{Kind: ErrForbidden, Detail: fmt.Sprintf(format, args...)}
}

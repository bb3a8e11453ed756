// Package credential turns what a caller presents — an API key, a JWT, the
// operator token or a password — into a Principal, and decides what that
// Principal may do.
//
// It owns the credential formats and their storage forms:
//
//   - API keys look like "pt_sk_" followed by 52 lowercase base32 characters
//     (256 bits from crypto/rand). Only HMAC-SHA256(API_KEY_SALT, key) is ever
//     stored; the first 8 random characters, with the "pt_sk_" marker, form a
//     public prefix used to list and revoke keys.
//   - Access tokens are JWTs signed with HS256 and JWT_SECRET, issued in
//     exchange for an API key (POST /api/v1/auth/token). Verification pins the
//     algorithm, the issuer and requires an expiry; the key behind a token is
//     looked up on every request so that revoking a key also refuses its
//     tokens at once.
//   - Passwords are hashed with argon2id and kept as PHC strings
//     ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so parameters can be raised
//     later without invalidating stored hashes.
//
// The package knows nothing about where keys live: it asks a KeyStore (and,
// for tokens, a KeyLookup) that the tenancy store implements. Authorisation
// is a set of pure methods on Principal returning nil, ErrUnauthenticated
// (HTTP 401) or ErrForbidden (HTTP 403); every such error is a *DeniedError
// whose Detail is safe to show to the caller.
package credential

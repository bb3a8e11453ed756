package apiserver

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// Authenticator resolves a request's credentials, read from its headers,
// into the principal the request acts for. It is the API's one
// authentication port: *credential.Authenticator is its implementation in
// production and in tests (API keys pt_sk_… as Authorization: Bearer or
// X-Portiere-API-Key, access tokens from POST /api/v1/auth/token, and the
// operator's ADMIN_TOKEN), so every credential is parsed and checked in one
// place.
//
// Authenticate returns an error wrapping credential.ErrUnauthenticated
// (401, its detail saying what was wrong) when the credentials are missing,
// malformed, unknown, expired or revoked; any other error is a failure of
// the authenticator itself (500, logged). Implementations must be safe for
// concurrent use.
type Authenticator interface {
	Authenticate(ctx context.Context, h credential.Headers) (credential.Principal, error)
}

// errNoAuthenticator answers protected routes of a server built without an
// Authenticator.
var errNoAuthenticator = &Error{Status: fiber.StatusUnauthorized, Detail: "this server accepts no credentials (no authenticator configured)"}

type principalKey struct{}

// PrincipalFrom returns the principal authentication put in ctx; ok is
// false on public routes.
func PrincipalFrom(ctx context.Context) (p tenancy.Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(tenancy.Principal)
	return p, ok
}

// authenticate is the middleware of protected groups: it hands the
// request's headers to a, unparsed.
func authenticate(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if a == nil {
			return errNoAuthenticator
		}
		p, err := a.Authenticate(c.UserContext(), credential.HeaderFunc(func(name string) string { return c.Get(name) }))
		if err != nil {
			return err
		}
		c.SetUserContext(context.WithValue(c.UserContext(), principalKey{}, p))
		return c.Next()
	}
}

// RequireOperator lets through the operator (ADMIN_TOKEN) and an
// organization owner or admin with an organization-wide write credential
// (credential.Principal.CanOperate); others get 403.
func RequireOperator() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalFrom(c.UserContext())
		if err := p.CanOperate(); err != nil {
			return err
		}
		return c.Next()
	}
}

// RequireReader lets through the operator and any member of an
// organization, viewers and read-scope keys included
// (credential.Principal.CanRead); the shared vocabulary routes (concept
// search and detail) use it. Others get 403.
func RequireReader() fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalFrom(c.UserContext())
		if !p.Operator {
			if err := p.CanRead(""); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

package apiserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// Credentials are what a request presents: the bearer token of its
// Authorization header and its X-Portiere-API-Key header (X-API-Key is read
// too, for older clients), either possibly empty.
type Credentials struct {
	Bearer string
	APIKey string
}

// Authenticator resolves credentials into the principal a request acts
// for. It returns an error wrapping ErrUnauthenticated when the credentials
// are missing or not valid (the request gets 401); any other error is a
// failure of the authenticator itself (500, logged). Implementations must
// be safe for concurrent use.
//
// The operator's ADMIN_TOKEN is one (AdminToken); API keys and session
// tokens resolving to an organization, user, role and scope are others,
// chained with FirstOf.
type Authenticator interface {
	Authenticate(ctx context.Context, c Credentials) (tenancy.Principal, error)
}

// ErrUnauthenticated means the request's credentials are missing or
// invalid.
var ErrUnauthenticated = errors.New("a valid admin token is required (Authorization: Bearer <ADMIN_TOKEN>)")

// AdminToken authenticates the deployment's operator by ADMIN_TOKEN: a
// bearer token equal to token is the operator principal. An empty token
// refuses every request.
func AdminToken(token string) Authenticator { return adminToken(token) }

type adminToken string

func (a adminToken) Authenticate(_ context.Context, c Credentials) (tenancy.Principal, error) {
	if a == "" || c.Bearer == "" || subtle.ConstantTimeCompare([]byte(c.Bearer), []byte(a)) != 1 {
		return tenancy.Principal{}, ErrUnauthenticated
	}
	return tenancy.Principal{Operator: true}, nil
}

// FirstOf tries each authenticator in turn and returns the first principal
// one resolves; ErrUnauthenticated when none does.
func FirstOf(as ...Authenticator) Authenticator { return firstOf(as) }

type firstOf []Authenticator

func (f firstOf) Authenticate(ctx context.Context, c Credentials) (tenancy.Principal, error) {
	for _, a := range f {
		p, err := a.Authenticate(ctx, c)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrUnauthenticated) {
			return tenancy.Principal{}, err
		}
	}
	return tenancy.Principal{}, ErrUnauthenticated
}

type principalKey struct{}

// PrincipalFrom returns the principal authentication put in ctx; ok is
// false on public routes.
func PrincipalFrom(ctx context.Context) (p tenancy.Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(tenancy.Principal)
	return p, ok
}

// authenticate is the middleware of protected groups.
func authenticate(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if a == nil {
			return ErrUnauthenticated
		}
		bearer, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") {
			bearer = ""
		}
		key := c.Get(credential.HeaderAPIKey)
		if key == "" {
			key = c.Get("X-API-Key")
		}
		p, err := a.Authenticate(c.UserContext(), Credentials{Bearer: strings.TrimSpace(bearer), APIKey: strings.TrimSpace(key)})
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

// Credentials resolves requests with credential's Authenticator: API keys
// (Authorization: Bearer pt_sk_… or X-Portiere-API-Key), access tokens
// from POST /api/v1/auth/token, and the operator token it was given.
func KeyAuth(a *credential.Authenticator) Authenticator { return credentialAuth{a} }

type credentialAuth struct{ a *credential.Authenticator }

func (c credentialAuth) Authenticate(ctx context.Context, cr Credentials) (tenancy.Principal, error) {
	return c.a.Authenticate(ctx, credential.HeaderFunc(func(name string) string {
		switch name {
		case "Authorization":
			if cr.Bearer != "" {
				return "Bearer " + cr.Bearer
			}
		case credential.HeaderAPIKey:
			return cr.APIKey
		}
		return ""
	}))
}

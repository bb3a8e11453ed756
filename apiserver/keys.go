package apiserver

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// KeyExchanger exchanges an API key for an access token;
// *credential.Authenticator is one.
type KeyExchanger interface {
	ExchangeKey(ctx context.Context, apiKey string) (credential.Token, error)
}

// AuthTokens is POST /api/v1/auth/token: an API key in, a short-lived
// bearer token out.
type AuthTokens struct {
	Exchanger KeyExchanger
}

// Routes registers the public token route on r.
func (h *AuthTokens) Routes(r *Router) {
	r.Add(fiber.MethodPost, "/auth/token", openapi.Operation{
		Summary:     "Exchange an API key for an access token",
		Description: "Returns a bearer JWT acting with the key's organization, role, scope and project. Revoking the key invalidates its tokens at once.",
		Tags:        []string{"auth"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"api_key"}, "properties": map[string]any{"api_key": openapi.Schema{"type": "string"}}},
		Responses: map[int]openapi.Response{
			200: {Description: "Access token", Schema: openapi.Schema{"type": "object", "properties": map[string]any{
				"access_token": openapi.Schema{"type": "string"}, "token_type": openapi.Schema{"type": "string"}, "expires_in": openapi.Schema{"type": "integer"}}}},
			401: errResp("Invalid, expired or revoked API key"),
			422: errResp("Invalid body"),
		},
	}, h.exchange)
}

func (h *AuthTokens) exchange(c *fiber.Ctx) error {
	var body struct {
		APIKey *string `json:"api_key"`
	}
	if err := decodeJSON(c, &body, Lenient, true); err != nil {
		return err
	}
	if body.APIKey == nil || *body.APIKey == "" {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "field \"api_key\" is required"}
	}
	t, err := h.Exchanger.ExchangeKey(c.UserContext(), *body.APIKey)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"access_token": t.AccessToken, "token_type": "bearer", "expires_in": int(t.ExpiresIn / time.Second)})
}

// KeyStore is what the API key routes need from tenancy's store.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k tenancy.APIKey) (tenancy.APIKey, error)
	APIKeys(ctx context.Context, orgID string) ([]tenancy.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	Project(ctx context.Context, id string) (tenancy.Project, error)
}

// APIKeys are an organization's API key routes, for its owners and admins:
// create (the key is shown once), list, revoke (refused from the next
// request on).
type APIKeys struct {
	Keys   KeyStore
	Hasher *credential.KeyHasher
	Now    func() time.Time
}

// Routes registers the key routes on r's protected group.
func (h *APIKeys) Routes(r *Router) {
	g := r.Group("/organizations/:org/api-keys").Protected(h.requireAdmin)
	keySchema := openapi.Schema{"type": "object", "properties": map[string]any{
		"id": openapi.Schema{"type": "string"}, "name": openapi.Schema{"type": "string"}, "prefix": openapi.Schema{"type": "string"},
		"scope": openapi.Schema{"type": "string"}, "project_id": openapi.Schema{"type": "string"},
		"created_at": openapi.Schema{"type": "string", "format": "date-time"}, "last_used_at": openapi.Schema{"type": "string", "format": "date-time"},
		"revoked_at": openapi.Schema{"type": "string", "format": "date-time"}}}
	forbidden := errResp("Not an owner or admin of this organization, or a read-scope or project key")
	g.Add(fiber.MethodPost, "", openapi.Operation{
		Summary: "Create an API key", Tags: []string{"api-keys"},
		Description: "Owners and admins of the organization (write scope, organization-wide credential). The response's `key` is shown only this once.",
		RequestBody: openapi.Schema{"type": "object", "properties": map[string]any{
			"name": openapi.Schema{"type": "string"}, "scope": openapi.Schema{"type": "string", "enum": []string{"read", "write"}},
			"project_id": openapi.Schema{"type": "string"}}},
		Responses: map[int]openapi.Response{201: {Description: "The key, with `key` set", Schema: keySchema}, 403: forbidden, 404: errResp("No such organization or project"), 422: errResp("Invalid body")},
	}, h.create)
	g.Add(fiber.MethodGet, "", openapi.Operation{
		Summary: "List API keys", Tags: []string{"api-keys"}, Description: "Owners and admins of the organization. Keys are listed by prefix; the key itself is never stored.",
		Responses: map[int]openapi.Response{200: {Description: "Keys, newest first", Schema: openapi.Schema{"type": "array", "items": keySchema}}, 403: forbidden},
	}, h.list)
	g.Add(fiber.MethodDelete, "/:id", openapi.Operation{
		Summary: "Revoke an API key", Tags: []string{"api-keys"}, Description: "Owners and admins of the organization. The key and its access tokens are refused from the next request on.",
		Responses: map[int]openapi.Response{204: {Description: "Revoked"}, 403: forbidden, 404: errResp("No such key in this organization")},
	}, h.revoke)
}

// requireAdmin admits the organization's owners and admins; another
// organization's credential gets 404, as if the organization did not
// exist.
func (h *APIKeys) requireAdmin(c *fiber.Ctx) error {
	p, _ := PrincipalFrom(c.UserContext())
	if !p.Operator && p.OrganizationID != c.Params("org") {
		return &Error{Status: fiber.StatusNotFound, Detail: "no such organization"}
	}
	if p.Operator {
		return c.Next()
	}
	if err := p.CanAdminProject(""); err != nil {
		return err
	}
	return c.Next()
}

type keyView struct {
	ID         string     `json:"id"`
	Key        string     `json:"key,omitempty"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	ProjectID  string     `json:"project_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func viewOf(k tenancy.APIKey) keyView {
	return keyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: string(tenancy.KeyScope(k)), ProjectID: k.ProjectID,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func (h *APIKeys) create(c *fiber.Ctx) error {
	var body struct {
		Name      string `json:"name"`
		Scope     string `json:"scope"`
		ProjectID string `json:"project_id"`
	}
	// Strict: a misspelt "scope" would otherwise quietly make a read key.
	if err := decodeJSON(c, &body, Strict, true); err != nil {
		return err
	}
	if body.Scope != "" {
		if _, err := credential.ParseScope(body.Scope); err != nil {
			return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "field \"scope\" must be read or write"}
		}
	}
	p, _ := PrincipalFrom(c.UserContext())
	// The steps of issuing (scope, the project's organization, the key and
	// its stored forms) are tenancy's, shared with the web dashboard.
	k, key, err := tenancy.IssueAPIKey(c.UserContext(), h.Keys, h.Hasher, tenancy.KeyRequest{
		OrganizationID: c.Params("org"), UserID: p.UserID, ProjectID: body.ProjectID, Name: body.Name, Scope: body.Scope,
	})
	if err != nil {
		return err
	}
	v := viewOf(k)
	v.Key = key
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (h *APIKeys) list(c *fiber.Ctx) error {
	keys, err := h.Keys.APIKeys(c.UserContext(), c.Params("org"))
	if err != nil {
		return err
	}
	out := make([]keyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, viewOf(k))
	}
	return c.JSON(out)
}

func (h *APIKeys) revoke(c *fiber.Ctx) error {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if err := tenancy.RevokeOrganizationKey(c.UserContext(), h.Keys, c.Params("org"), c.Params("id"), now()); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

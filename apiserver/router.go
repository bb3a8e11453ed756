package apiserver

import (
	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
)

// Resource is one HTTP resource (concepts, workflows, projects, ...): a
// small handler type holding only its own dependencies. Routes registers
// its routes on r, which is the /api/v1 group; a resource that needs
// credentials registers on r.Protected().
type Resource interface {
	Routes(r *Router)
}

// Router registers routes on a Fiber group and documents them in the same
// step, so the OpenAPI document cannot miss a route. Groups carry their
// middleware (authentication on protected groups) into each route's
// handler chain rather than through Fiber's Use, whose prefix matching
// would run a protected group's middleware for public routes that share
// its prefix.
type Router struct {
	fiber   fiber.Router
	doc     *openapi.Document
	prefix  string
	mw      []fiber.Handler
	secured bool
	auth    fiber.Handler
	// bodyLimit bounds the request body a route registered with Add may
	// read (Fiber streams every body; see bufferBody).
	bodyLimit int
	// afterAuth run on protected routes right after authentication, before
	// the group's own middleware: the rate limit (Config.RateLimit).
	afterAuth []fiber.Handler
	// legacy is the /v1 group at the server's root (see Legacy).
	legacy *Router
}

// Add registers h for method on path (relative to the group) behind the
// group's middleware and documents op. The request body reaches h whole,
// in memory, up to the server's body limit (larger is 413).
func (r *Router) Add(method, path string, op openapi.Operation, h ...fiber.Handler) {
	r.add(method, path, op, append([]fiber.Handler{bufferBody(r.bodyLimit)}, h...))
}

// AddStreamed is Add for a route that reads its request body as a stream
// (c.Context().RequestBodyStream()) and bounds it itself: a file upload.
// Nothing is read before h runs, so h can refuse an oversized body after
// reading only as much as its limit.
func (r *Router) AddStreamed(method, path string, op openapi.Operation, h ...fiber.Handler) {
	r.add(method, path, op, h)
}

func (r *Router) add(method, path string, op openapi.Operation, h []fiber.Handler) {
	op.Secured = op.Secured || r.secured
	if op.Secured {
		if op.Responses == nil {
			op.Responses = map[int]openapi.Response{}
		}
		if _, ok := op.Responses[fiber.StatusUnauthorized]; !ok {
			op.Responses[fiber.StatusUnauthorized] = openapi.Response{Description: "Missing or invalid credentials", Schema: openapi.Ref("Error")}
		}
		if _, ok := op.Responses[fiber.StatusTooManyRequests]; !ok && len(r.afterAuth) > 0 {
			op.Responses[fiber.StatusTooManyRequests] = openapi.Response{Description: "Rate limit exceeded (Retry-After), or a plan quota (error_code QUOTA_EXCEEDED)", Schema: openapi.Ref("Error")}
		}
	}
	chain := append(append([]fiber.Handler{}, r.mw...), h...)
	r.fiber.Add(method, path, chain...)
	r.doc.Add(method, r.prefix+path, op)
}

// Group returns a sub-group under prefix whose routes run mw first.
func (r *Router) Group(prefix string, mw ...fiber.Handler) *Router {
	g := *r
	g.fiber = r.fiber.Group(prefix)
	g.prefix = r.prefix + prefix
	g.mw = append(append([]fiber.Handler{}, r.mw...), mw...)
	return &g
}

// Protected returns the group with authentication in front: its routes
// answer 401 without valid credentials and see the request's
// tenancy.Principal through PrincipalFrom. mw run after authentication
// (authorization rules such as RequireOperator), after the server's rate
// limit.
func (r *Router) Protected(mw ...fiber.Handler) *Router {
	chain := append(append([]fiber.Handler{r.auth}, r.afterAuth...), mw...)
	g := r.Group("", chain...)
	g.secured = true
	return g
}

// Schema registers a named component schema.
func (r *Router) Schema(name string, s openapi.Schema) { r.doc.AddSchema(name, s) }

// Legacy returns the /v1 group at the server's root, without /api: the
// Portiere SDK's Review API documentation writes its routes there, so the
// review routes are registered on both. Like any group, call Protected on
// it for authenticated routes.
func (r *Router) Legacy() *Router { return r.legacy }

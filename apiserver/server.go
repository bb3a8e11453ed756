// Package apiserver is Portiere's HTTP API (Fiber): health and readiness,
// the OpenAPI document with Swagger UI and ReDoc, and the /api/v1 routes the
// Portiere SDK calls.
//
// The API is organised by resource: each Resource (ConceptSearch,
// ConceptDetail, WorkflowRuns, Projects, ...) is a small handler type with
// its own dependencies and a Routes method that registers and documents its
// routes on the /api/v1 group, public or behind authentication
// (Router.Protected, resolved by an Authenticator). The package never
// builds stores or clients: cmd/portiere does, and hands them in.
//
// Handlers stay thin: they decode and validate, call a domain package with a
// context.Context, and encode a response DTO. Errors become JSON
// {"detail": ...} bodies in one place (errors.go), where domain sentinel
// errors map to a status by kind.
package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"github.com/portiere/portiere/apiserver/docsui"
	"github.com/portiere/portiere/apiserver/openapi"
)

// Config is what the server needs to know about its surroundings. Stores
// and clients are not here: each Resource holds its own, built by the
// composition root (cmd/portiere).
type Config struct {
	Version     string
	CORSOrigins []string
	Logger      *slog.Logger
	// Dependencies are probed by /health/ready; each one that fails is
	// named in the 503 body.
	Dependencies []Dependency
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Auth resolves the credentials of requests to protected routes:
	// *credential.Authenticator, in production and in tests. nil refuses
	// them all (401).
	Auth Authenticator
	// RateLimit limits requests to protected routes per API key; nil
	// limits nothing.
	RateLimit *RateLimit
	// Resources are registered under /api/v1, in order. The composition
	// root lists a resource only when its dependency exists, so a missing
	// backend shows as an absent route (404, and absent from the OpenAPI
	// document) rather than a handler that always fails.
	Resources []Resource
}

// jsonBodyLimit bounds the body of every route but the streamed uploads.
const jsonBodyLimit = 32 << 20

// Server is the API. Build it with New, run it with Serve.
type Server struct {
	app  *fiber.App
	doc  *openapi.Document
	spec []byte
	cfg  Config
}

// New builds the router and the OpenAPI document.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, doc: openapi.New("Portiere API", cfg.Version)}
	s.app = fiber.New(fiber.Config{
		AppName:               "portiere",
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Bodies are streamed: above BodyLimit fasthttp hands the handler a
		// stream instead of refusing, and every route but the uploads
		// reads it through bufferBody, bounded by the same limit.
		// Multipart bodies are not pre-parsed (that would spool an upload
		// of any size to disk before the route's own limit applies).
		BodyLimit:                    jsonBodyLimit,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
	})
	s.app.Use(recover.New())
	s.app.Use(closeAfterUnreadBody)
	s.app.Use(requestid.New())
	s.app.Use(s.logRequests)
	s.app.Use(cors.New(cors.Config{
		AllowOrigins: strings.Join(cfg.CORSOrigins, ","),
		AllowHeaders: "Origin, Content-Type, Accept, Authorization, X-Portiere-API-Key, X-Request-ID",
		AllowMethods: "GET,POST,PUT,PATCH,DELETE,OPTIONS",
		// A browser client (the dashboard) may read its rate limit.
		ExposeHeaders: "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-ID",
	}))

	root := &Router{fiber: s.app, doc: s.doc, auth: authenticate(cfg.Auth), bodyLimit: jsonBodyLimit}
	if cfg.RateLimit != nil {
		root.afterAuth = []fiber.Handler{cfg.RateLimit.handler(cfg.Logger)}
	}
	s.routes(root)
	v1 := root.Group("/api/v1")
	v1.legacy = root.Group("/v1")
	for _, r := range cfg.Resources {
		r.Routes(v1)
	}

	spec, err := s.doc.JSON()
	if err != nil {
		return nil, fmt.Errorf("apiserver: render OpenAPI document: %w", err)
	}
	s.spec = spec
	return s, nil
}

// routes registers what every server has: health and the documentation.
func (s *Server) routes(r *Router) {
	s.healthRoutes(r)

	r.Add(fiber.MethodGet, "/openapi.json", openapi.Operation{
		Summary: "This OpenAPI 3 document", Tags: []string{"docs"},
		Responses: map[int]openapi.Response{200: {Description: "OpenAPI document", Schema: openapi.Schema{"type": "object"}}},
	}, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(s.spec)
	})
	html := map[int]openapi.Response{200: {Description: "HTML page", ContentType: "text/html"}}
	r.Add(fiber.MethodGet, "/docs", openapi.Operation{Summary: "Swagger UI", Tags: []string{"docs"}, Responses: html},
		docsui.Swagger("Portiere API", "/openapi.json"))
	r.Add(fiber.MethodGet, "/redoc", openapi.Operation{Summary: "ReDoc", Tags: []string{"docs"}, Responses: html},
		docsui.Redoc("Portiere API", "/openapi.json"))
	r.Add(fiber.MethodGet, docsui.AssetPrefix+":name", openapi.Operation{
		Summary: "Embedded documentation assets", Tags: []string{"docs"},
		Responses: map[int]openapi.Response{
			200: {Description: "Asset", ContentType: "application/octet-stream"},
			404: {Description: "No such asset", Schema: openapi.Ref("Error")},
		},
	}, docsui.Assets())

	r.Schema("Error", openapi.Schema{
		"type": "object", "required": []string{"detail"},
		"properties": map[string]any{"detail": openapi.Schema{"type": "string"}},
	})
}

// App exposes the router for in-process tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Spec is the rendered OpenAPI document.
func (s *Server) Spec() []byte { return s.spec }

// Documented reports whether method on a Fiber route path is in the OpenAPI
// document.
func (s *Server) Documented(method, path string) bool { return s.doc.Has(method, path) }

// Serve accepts connections on ln until ctx is cancelled, then stops
// accepting and waits up to drain for in-flight requests to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := s.app.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("apiserver: shutdown: %w", err)
	}
	<-errc
	return nil
}

// closeAfterUnreadBody closes the connection after a request whose body
// was streamed from the connection and may be left partly unread — a
// refused upload, a large body sent without credentials: the next request
// on the connection would start in the middle of it. Bodies up to
// jsonBodyLimit are read whole by fasthttp before any handler runs.
func closeAfterUnreadBody(c *fiber.Ctx) error {
	err := c.Next()
	if c.Request().IsBodyStream() {
		if cl := c.Request().Header.ContentLength(); cl < 0 || cl > jsonBodyLimit {
			c.Context().SetConnectionClose()
		}
	}
	return err
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(requestid.ConfigDefault.ContextKey).(string); ok {
		return v
	}
	return ""
}

// logRequests writes one structured line per request, carrying the request
// id that is also returned in the X-Request-ID header.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler set the status before we log it.
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.cfg.Logger.Log(c.UserContext(), level, "request",
		"request_id", requestID(c), "method", c.Method(), "path", c.Path(),
		"status", status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
	return nil
}

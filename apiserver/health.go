package apiserver

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
)

// Dependency is one thing the API needs to serve traffic. Check returns nil
// when it is usable; it should honour ctx's deadline.
type Dependency struct {
	Name  string
	Check func(ctx context.Context) error
	// Info, when set, adds details to the dependency's entry (e.g. which
	// search index version this replica serves).
	Info func() any
	// Optional dependencies do not make the API unready: when one fails
	// the API keeps serving without it (Redis: in-process cache and rate
	// limiter), and readiness names it under degraded with a 200 instead
	// of failing with a 503.
	Optional bool
}

// readinessTimeout bounds each dependency check so a hung dependency makes
// /health/ready answer 503 quickly instead of hanging the prober.
const readinessTimeout = 2 * time.Second

type healthResponse struct {
	Status    string `json:"status"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
}

type checkResult struct {
	Status    string  `json:"status"` // "ok", "failed" or "degraded"
	Error     string  `json:"error,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	Info      any     `json:"info,omitempty"`
}

type readyResponse struct {
	Status    string                 `json:"status"` // "ready" or "not_ready"
	Version   string                 `json:"version"`
	Timestamp string                 `json:"timestamp"`
	Checks    map[string]checkResult `json:"checks"`
	Failing   []string               `json:"failing"`
	// Degraded names the optional dependencies that failed.
	Degraded []string `json:"degraded"`
}

func (s *Server) healthRoutes(r *Router) {
	r.Schema("Health", openapi.Schema{
		"type": "object", "required": []string{"status", "version", "timestamp"},
		"properties": map[string]any{
			"status":    openapi.Schema{"type": "string", "example": "healthy"},
			"version":   openapi.Schema{"type": "string"},
			"timestamp": openapi.Schema{"type": "string", "format": "date-time"},
		},
	})
	r.Schema("Readiness", openapi.Schema{
		"type": "object", "required": []string{"status", "checks", "failing", "degraded"},
		"properties": map[string]any{
			"status":    openapi.Schema{"type": "string", "enum": []string{"ready", "not_ready"}},
			"version":   openapi.Schema{"type": "string"},
			"timestamp": openapi.Schema{"type": "string", "format": "date-time"},
			"checks": openapi.Schema{"type": "object", "additionalProperties": openapi.Schema{
				"type": "object",
				"properties": map[string]any{
					"status":     openapi.Schema{"type": "string", "enum": []string{"ok", "failed", "degraded"}},
					"error":      openapi.Schema{"type": "string"},
					"latency_ms": openapi.Schema{"type": "number"},
				},
			}},
			"failing": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"}},
			"degraded": openapi.Schema{"type": "array", "items": openapi.Schema{"type": "string"},
				"description": "optional dependencies that failed; the API serves without them (Redis: per-process cache and rate limits)"},
		},
	})
	health := map[int]openapi.Response{200: {Description: "The process is up", Schema: openapi.Ref("Health")}}
	r.Add(fiber.MethodGet, "/health", openapi.Operation{
		Summary: "Service status and version", Tags: []string{"health"}, Responses: health,
	}, s.health)
	r.Add(fiber.MethodGet, "/health/live", openapi.Operation{
		Summary: "Liveness: answers while the process runs; checks no dependency", Tags: []string{"health"}, Responses: health,
	}, s.health)
	r.Add(fiber.MethodGet, "/health/ready", openapi.Operation{
		Summary:     "Readiness: every dependency reachable",
		Description: "Probes PostgreSQL, Temporal, and Redis and Elasticsearch when configured. 503 names each failing dependency; Redis is optional: when it fails the API keeps serving (in-process cache and per-replica rate limits) and readiness names it under degraded.",
		Tags:        []string{"health"},
		Responses: map[int]openapi.Response{
			200: {Description: "Every dependency answered", Schema: openapi.Ref("Readiness")},
			503: {Description: "At least one dependency failed; see failing", Schema: openapi.Ref("Readiness")},
		},
	}, s.ready)
}

func (s *Server) health(c *fiber.Ctx) error {
	return c.JSON(healthResponse{Status: "healthy", Version: s.cfg.Version, Timestamp: s.cfg.Now().UTC().Format(time.RFC3339)})
}

func (s *Server) ready(c *fiber.Ctx) error {
	res := readyResponse{
		Status: "ready", Version: s.cfg.Version, Timestamp: s.cfg.Now().UTC().Format(time.RFC3339),
		Checks: map[string]checkResult{}, Failing: []string{}, Degraded: []string{},
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, d := range s.cfg.Dependencies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(c.UserContext(), readinessTimeout)
			defer cancel()
			start := time.Now()
			err := d.Check(ctx)
			r := checkResult{Status: "ok", LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				r.Status, r.Error = "failed", err.Error()
				if d.Optional {
					r.Status = "degraded"
				}
			}
			if d.Info != nil {
				r.Info = d.Info()
			}
			mu.Lock()
			res.Checks[d.Name] = r
			switch {
			case err != nil && d.Optional:
				res.Degraded = append(res.Degraded, d.Name)
			case err != nil:
				res.Failing = append(res.Failing, d.Name)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(res.Degraded)
	if len(res.Failing) > 0 {
		sort.Strings(res.Failing)
		res.Status = "not_ready"
		return c.Status(fiber.StatusServiceUnavailable).JSON(res)
	}
	return c.JSON(res)
}

package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/platform/ratelimit"
)

// PlanLimits returns an organization's requests per API key per minute; 0
// means its plan sets none (billing.Service).
type PlanLimits interface {
	RateLimit(ctx context.Context, org string) (int, error)
}

// RateLimit limits the requests of each API key (of each organization for
// a signed-in user without key) per minute, on every protected route,
// after authentication. Every limited response carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset (seconds until the full
// allowance is back); a refused one is 429 {detail} with Retry-After. The
// operator (ADMIN_TOKEN) is not limited.
type RateLimit struct {
	// Limiter decides (ratelimit.Fallback over Redis, or memory).
	Limiter ratelimit.Limiter
	// Default is RATE_LIMIT_PER_MINUTE, for plans without a limit.
	Default int
	// Plans gives an organization's plan limit; nil applies Default to
	// all.
	Plans PlanLimits
}

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

func (l *RateLimit) handler(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := PrincipalFrom(c.UserContext())
		if p.Operator || p.OrganizationID == "" {
			return c.Next()
		}
		key := "key:" + p.KeyID
		if p.KeyID == "" {
			key = "org:" + p.OrganizationID
		}
		limit := l.Default
		if l.Plans != nil {
			n, err := l.Plans.RateLimit(c.UserContext(), p.OrganizationID)
			if err != nil {
				log.Warn("rate limit: plan lookup failed; using the default limit", "request_id", requestID(c), "error", err)
			} else if n > 0 {
				limit = n
			}
		}
		d, err := l.Limiter.Allow(c.UserContext(), key, limit)
		if err != nil {
			// Fail open: a limiter failure never refuses a request.
			log.Warn("rate limit: limiter failed; request let through", "request_id", requestID(c), "error", err)
			return c.Next()
		}
		c.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		c.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		c.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(d.Reset)))
		if !d.Allowed {
			retry := max(ceilSeconds(d.RetryAfter), 1)
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retry))
			return &Error{Status: fiber.StatusTooManyRequests, Detail: fmt.Sprintf("rate limit of %d requests per minute exceeded; retry in %d s", d.Limit, retry)}
		}
		return c.Next()
	}
}

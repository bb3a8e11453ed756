// Package temporal connects Portiere's services to the Temporal frontend with
// the project's logger and retry policy.
package temporal

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to the frontend at hostPort, retrying with backoff until it
// answers a health check or timeout passes: in a fresh stack the worker
// often starts before Temporal.
func Dial(ctx context.Context, hostPort, namespace string, logger *slog.Logger, timeout time.Duration) (client.Client, error) {
	c, err := client.NewLazyClient(Options(hostPort, namespace, logger))
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	deadline := time.Now().Add(timeout)
	wait := 200 * time.Millisecond
	for {
		hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = c.CheckHealth(hctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			return c, nil
		}
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			c.Close()
			return nil, fmt.Errorf("temporal: cannot reach %s: %w", hostPort, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 3*time.Second)
	}
}

// Options are the client options every Portiere process uses.
func Options(hostPort, namespace string, logger *slog.Logger) client.Options {
	return client.Options{
		HostPort:  hostPort,
		Namespace: namespace,
		Logger:    tlog.NewStructuredLogger(logger.With("component", "temporal")),
	}
}

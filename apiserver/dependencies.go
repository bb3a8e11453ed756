package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
)

// PostgreSQLDependency checks the pool with a round trip to the server.
func PostgreSQLDependency(pool *pgxpool.Pool) Dependency {
	return Dependency{Name: "postgresql", Check: func(ctx context.Context) error {
		var one int
		return pool.QueryRow(ctx, "select 1").Scan(&one)
	}}
}

// TemporalDependency checks the Temporal frontend's health endpoint.
func TemporalDependency(c client.Client) Dependency {
	return Dependency{Name: "temporal", Check: func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// RedisDependency pings Redis. It is optional: without Redis the API
// serves with an in-process cache and rate limiter (each replica limiting
// on its own), so readiness names it as degraded instead of failing.
func RedisDependency(rdb *redis.Client) Dependency {
	return Dependency{Name: "redis", Optional: true, Check: func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}}
}

// ElasticsearchDependency asks for cluster health and fails on "red".
func ElasticsearchDependency(es *elasticsearch.Client) Dependency {
	return Dependency{Name: "elasticsearch", Check: func(ctx context.Context) error {
		res, err := es.Cluster.Health(es.Cluster.Health.WithContext(ctx))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			return fmt.Errorf("cluster health: HTTP %d: %s", res.StatusCode, b)
		}
		var body struct {
			Status string `json:"status"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			return fmt.Errorf("cluster health: %w", err)
		}
		if body.Status == "red" {
			return fmt.Errorf("cluster health is red")
		}
		return nil
	}}
}

// SearchIndexDependency reports whether a search engine is served, and
// which index version.
func SearchIndexDependency(check func(context.Context) error, info func() any) Dependency {
	return Dependency{Name: "search_index", Check: check, Info: info}
}

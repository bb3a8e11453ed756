package apiserver

import (
	"fmt"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/config"
)

// Backends are the services the API talks to. Redis and Elasticsearch are
// nil when not configured; the API then uses its in-process equivalents.
type Backends struct {
	Pool          *pgxpool.Pool
	Temporal      client.Client
	Redis         *redis.Client
	Elasticsearch *elasticsearch.Client
}

// OpenOptional creates the Redis and Elasticsearch clients that cfg names.
// Neither connects until first used; readiness reports whether they answer.
func OpenOptional(cfg config.Config) (*redis.Client, *elasticsearch.Client, error) {
	var rdb *redis.Client
	if cfg.Redis.Configured() {
		rdb = redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr(), Password: cfg.Redis.Password})
	}
	var es *elasticsearch.Client
	if cfg.Elasticsearch.Configured() {
		var err error
		es, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.Elasticsearch.URL}})
		if err != nil {
			return nil, nil, fmt.Errorf("apiserver: ELASTICSEARCH_URL: %w", err)
		}
	}
	return rdb, es, nil
}

// Dependencies lists what /health/ready probes for b.
func (b Backends) Dependencies() []Dependency {
	deps := []Dependency{PostgreSQLDependency(b.Pool)}
	if b.Temporal != nil {
		deps = append(deps, TemporalDependency(b.Temporal))
	}
	if b.Redis != nil {
		deps = append(deps, RedisDependency(b.Redis))
	}
	if b.Elasticsearch != nil {
		deps = append(deps, ElasticsearchDependency(b.Elasticsearch))
	}
	return deps
}

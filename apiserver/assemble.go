package apiserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/cache"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// ElasticsearchAlias is the alias the lexical tier searches; the population
// workflow points it at a complete index.
const ElasticsearchAlias = "portiere-concepts"

// IndexWatchInterval is how often each API replica checks whether a new
// dense index was saved at FAISS_INDEX_PATH.
const IndexWatchInterval = 10 * time.Second

// Assembled is an API server wired to its backends, with the search index
// loading in the background.
type Assembled struct {
	Server *Server
	Search *searchindex.Live
	close  []func()
}

// Close releases the clients Assemble opened.
func (a *Assembled) Close() {
	for i := len(a.close) - 1; i >= 0; i-- {
		a.close[i]()
	}
}

// Assemble builds the API the way `portiere api` and `portiere dev` serve
// it: PostgreSQL and Temporal as given, Redis and Elasticsearch when cfg
// names them, and the search engine loaded from the database into a
// searchindex.Live in the background (readiness reports it until done).
func Assemble(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, tc client.Client, version string, log *slog.Logger) (*Assembled, error) {
	rdb, es, err := OpenOptional(cfg)
	if err != nil {
		return nil, err
	}
	a := &Assembled{Search: &searchindex.Live{}}
	var c cache.Cache = cache.NewMemory(10_000)
	if rdb != nil {
		a.close = append(a.close, func() { rdb.Close() })
		c = cache.NewRedis(rdb, "portiere:")
	}
	store := vocabstore.New(pool)
	backends := Backends{Pool: pool, Temporal: tc, Redis: rdb, Elasticsearch: es}
	deps := append(backends.Dependencies(), SearchIndexDependency(a.Search.Check, func() any {
		if info, ok := a.Search.Info(); ok {
			return info
		}
		return nil
	}))
	a.Server, err = New(Config{
		Version: version, CORSOrigins: cfg.HTTP.CORSOrigins, Logger: log, Dependencies: deps,
		Search: a.Search, Concepts: store, Cache: c,
		Workflows: &workflows.Client{Temporal: tc, ESAlias: ElasticsearchAlias}, Projects: mappingjobstore.New(pool),
		AdminToken: cfg.Auth.AdminToken, ElasticsearchConfigured: es != nil,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	idx := searchindex.Config{
		EmbeddingModel: cfg.Search.EmbeddingModel, ModelPath: cfg.Search.EmbeddingModelPath,
		IndexPath: cfg.Search.FAISSIndexPath, Logger: log,
	}
	go func() {
		if es != nil {
			// Search Elasticsearch only once the population workflow has
			// pointed the alias at a complete index; until then the
			// embedded lexical index serves.
			ec := elastic.New(es)
			if n, err := ec.Count(ctx, ElasticsearchAlias); err != nil || n == 0 {
				log.Warn("Elasticsearch alias not populated; using the embedded lexical index (run the es-populate workflow)", "alias", ElasticsearchAlias, "error", err)
			} else {
				idx.Lexical = ec.Searcher(ElasticsearchAlias)
			}
		}
		if err := a.Search.Load(ctx, store.LoadCorpus, idx); err != nil && ctx.Err() == nil {
			log.Error("search index not loaded", "error", err)
		}
		// Pick up indexes the index build workflow saves, without downtime.
		a.Search.Watch(ctx, store.LoadCorpus, idx, IndexWatchInterval)
	}()
	return a, nil
}

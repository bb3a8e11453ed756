package worker

import (
	"fmt"
	"log/slog"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// NewActivities builds the activities the way `portiere worker` and
// `portiere dev` run them: PostgreSQL stores on pool, the embedder and
// FAISS_INDEX_PATH from cfg, and Elasticsearch when ELASTICSEARCH_URL is
// set.
func NewActivities(cfg config.Config, pool *pgxpool.Pool, version string, log *slog.Logger) (*activities.Activities, error) {
	a := &activities.Activities{
		Vocabulary: vocabstore.New(pool),
		Jobs:       mappingjobstore.New(pool),
		Index: searchindex.Config{
			EmbeddingModel: cfg.Search.EmbeddingModel, ModelPath: cfg.Search.EmbeddingModelPath,
			IndexPath: cfg.Search.FAISSIndexPath,
		},
		EngineVersion: version,
		Logger:        log,
	}
	if cfg.Elasticsearch.Configured() {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.Elasticsearch.URL}})
		if err != nil {
			return nil, fmt.Errorf("worker: ELASTICSEARCH_URL: %w", err)
		}
		a.Elasticsearch = elastic.New(es)
		// The engine's lexical tier stays the embedded BM25: mapping must
		// not depend on the alias the population workflow is moving.
	}
	return a, nil
}

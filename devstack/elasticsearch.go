package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/platform/esnode"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// startElasticsearch starts the local node of `portiere dev --elasticsearch`
// in dataDir/elasticsearch (its output in dataDir/elasticsearch.log) and
// returns its URL and how to stop it.
func startElasticsearch(ctx context.Context, dataDir string, log *slog.Logger) (string, func(), error) {
	install, err := esnode.Find()
	if err != nil {
		return "", nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dataDir, "elasticsearch.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("devstack: %w", err)
	}
	log.Info("starting Elasticsearch", "install", install, "dir", filepath.Join(dataDir, "elasticsearch"))
	node, err := esnode.Start(ctx, esnode.Options{Install: install, Dir: filepath.Join(dataDir, "elasticsearch"), Log: logf})
	if err != nil {
		logf.Close()
		return "", nil, err
	}
	return node.URL(), func() {
		log.Info("stopping Elasticsearch")
		if err := node.Stop(); err != nil {
			log.Error("stop Elasticsearch", "error", err)
		}
		logf.Close()
	}, nil
}

// populateElasticsearch brings the alias the API searches up to date with
// the vocabulary before the API starts, so that it serves the lexical tier
// from Elasticsearch from its first request. It runs the population
// workflow's activities in order, in process (the worker is not up yet):
// create the versioned index, bulk-index it unless it is already complete,
// check the count, move the alias.
func populateElasticsearch(ctx context.Context, url string, pool *pgxpool.Pool, log *slog.Logger) error {
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
	if err != nil {
		return fmt.Errorf("devstack: Elasticsearch: %w", err)
	}
	ec := elastic.New(es)
	a := (&activities.Activities{Vocabulary: vocabstore.New(pool), Elasticsearch: ec, Logger: log}).ESPopulate()
	plan, err := a.CreateESIndex(ctx, activities.ESPlanInput{Alias: workflows.ElasticsearchAlias})
	if err != nil {
		return err
	}
	if err := ec.Refresh(ctx, plan.Index); err != nil {
		return err
	}
	if n, err := ec.Count(ctx, plan.Index); err != nil || n != int64(plan.Documents) {
		log.Info("populating Elasticsearch", "index", plan.Index, "documents", plan.Documents)
		for _, ch := range plan.Chunks {
			if _, err := a.IndexESChunk(ctx, activities.ESChunkInput{Index: plan.Index, Fingerprint: plan.Fingerprint, Chunk: ch}); err != nil {
				return err
			}
		}
	}
	if _, err := a.VerifyESCount(ctx, activities.ESVerifyInput{Index: plan.Index, Want: plan.Documents}); err != nil {
		return err
	}
	return a.SwapESAlias(ctx, activities.ESSwapInput{Alias: workflows.ElasticsearchAlias, Index: plan.Index})
}

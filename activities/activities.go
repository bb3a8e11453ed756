// Package activities holds the Temporal activities of Portiere's workflows,
// one struct per workflow holding only its dependencies: IndexBuild
// (indexbuild.go), ESPopulate (elastic.go), BulkMapping (bulkmapping.go),
// UsageReport (usagereport.go), Payout (payout.go).
// Each activity is one call into the package that owns the work
// (searchindex, mappingjob, search/elastic) plus heartbeats. Workflows call
// them through a typed nil pointer, `var a *activities.BulkMapping;
// workflow.ExecuteActivity(ctx, a.MapChunk, in)`.
//
// Every activity is idempotent: a retried one rewrites the same rows (keyed
// by project, source and code), the same Elasticsearch documents (ids
// derived from concept ids) or the same files (written under temporary
// names and renamed).
package activities

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab"
)

// Vocabulary is where the live vocabulary is read from
// (vocabstore.Store).
type Vocabulary interface {
	LoadCorpus(ctx context.Context) (*search.Corpus, error)
	// LastImport identifies the live vocabulary cheaply; vocab.ErrNotFound
	// when none was imported.
	LastImport(ctx context.Context) (vocab.Report, error)
}

// Activities are the dependencies of every workflow's activities, as the
// worker receives them from the composition root. Register them with
// Register (package workflows), which splits them into one struct per
// workflow — IndexBuild, ESPopulate, BulkMapping — each holding only what
// its activities use. Fields must not change after the first split.
type Activities struct {
	Vocabulary Vocabulary
	Jobs       mappingjob.Store
	// Index selects the embedder, FAISS_INDEX_PATH and the lexical tier.
	Index searchindex.Config
	// Search is the live engine bulk mapping uses: the process's one
	// searchindex.Live, shared with the API in `portiere dev`. Nil means
	// one of the activities' own, opened on first use.
	Search *searchindex.Live
	// Embedder, when set, replaces the one Index names (tests).
	Embedder search.Embedder
	// Elasticsearch is nil without ELASTICSEARCH_URL.
	Elasticsearch *elastic.Client
	// EngineVersion is recorded in each mapping item's provenance (the
	// portiere build version).
	EngineVersion string
	Logger        *slog.Logger
	// Billing reports metered usage to Stripe (billing.Service); nil
	// reports nothing.
	Billing UsageReporter
	// Metering counts bulk-mapped items against the organization's plan
	// (billing.Service); nil meters nothing.
	Metering Metering
	// Crowd pays Portiere Mapper's reviewers (crowd.Service); Transfers
	// is the Stripe Connect client and Notifier the LINE pusher (nil:
	// no notifications); PayoutMinCents the default minimum payout.
	// Without Crowd or Transfers PayoutWorkflow fails, saying so.
	Crowd          Payouts
	Transfers      crowd.Transfers
	Notifier       crowd.Notifier
	PayoutMinCents int64

	once     sync.Once
	corpus   *corpusCache
	index    *IndexBuild
	populate *ESPopulate
	mapping  *BulkMapping
	usage    *UsageReport
	payout   *Payout
}

func (a *Activities) split() {
	a.once.Do(func() {
		log := a.Logger
		if log == nil {
			log = slog.Default()
		}
		search := a.Search
		if search == nil {
			search = &searchindex.Live{}
		}
		a.corpus = &corpusCache{vocabulary: a.Vocabulary}
		a.index = &IndexBuild{corpus: a.corpus, index: a.Index, embedderOverride: a.Embedder, logger: log}
		a.populate = &ESPopulate{corpus: a.corpus, elasticsearch: a.Elasticsearch, logger: log}
		a.usage = &UsageReport{billing: a.Billing}
		a.payout = &Payout{crowd: a.Crowd, transfers: a.Transfers, notifier: a.Notifier, minCents: a.PayoutMinCents}
		a.mapping = &BulkMapping{vocabulary: a.Vocabulary, jobs: a.Jobs, index: a.Index, search: search, engineVersion: a.EngineVersion, logger: log, metering: a.Metering}
	})
}

// IndexBuild returns the activities of IndexBuildWorkflow and
// IndexFreshnessWorkflow.
func (a *Activities) IndexBuild() *IndexBuild { a.split(); return a.index }

// ESPopulate returns the activities of ESPopulateWorkflow.
func (a *Activities) ESPopulate() *ESPopulate { a.split(); return a.populate }

// UsageReport returns the activities of UsageReportWorkflow.
func (a *Activities) UsageReport() *UsageReport { a.split(); return a.usage }

// Payout returns the activities of PayoutWorkflow.
func (a *Activities) Payout() *Payout { a.split(); return a.payout }

// BulkMapping returns the activities of BulkMappingWorkflow.
func (a *Activities) BulkMapping() *BulkMapping { a.split(); return a.mapping }

// corpusCache holds the live vocabulary's corpus until its last import
// changes. It is safe for concurrent use.
type corpusCache struct {
	vocabulary Vocabulary

	mu       sync.Mutex
	importID int64
	corpus   *search.Corpus
}

// vocabularyKey identifies the live vocabulary; 0 when none is recorded.
func (c *corpusCache) vocabularyKey(ctx context.Context) (int64, error) {
	rep, err := c.vocabulary.LastImport(ctx)
	if errors.Is(err, vocab.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return rep.ImportID, nil
}

// get returns the cached corpus, reloading it when the vocabulary was
// reimported. An empty vocabulary is a non-retryable error.
func (c *corpusCache) get(ctx context.Context) (*search.Corpus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key, err := c.vocabularyKey(ctx)
	if err != nil {
		return nil, err
	}
	if c.corpus != nil && key == c.importID {
		return c.corpus, nil
	}
	corpus, err := c.vocabulary.LoadCorpus(ctx)
	if err != nil {
		return nil, err
	}
	if len(corpus.Concepts) == 0 {
		return nil, temporal.NewNonRetryableApplicationError(
			"the vocabulary is empty: import one with `portiere vocab import DIR`", "EmptyVocabulary", nil)
	}
	c.corpus, c.importID = corpus, key
	return corpus, nil
}

// embedder is the embedder the index is built with.
func (a *IndexBuild) embedder() (search.Embedder, error) {
	if a.embedderOverride != nil {
		return a.embedderOverride, nil
	}
	return searchindex.NewEmbedder(a.index)
}

// keepAlive heartbeats (without details) every few seconds until the
// returned stop is called, for activities that block in one long call
// (building the engine or the FAISS index). Outside a worker — `portiere
// dev` runs the Elasticsearch population's activities in process before
// the worker starts — there is nothing to heartbeat to.
func keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

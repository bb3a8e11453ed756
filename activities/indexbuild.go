package activities

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
)

// DefaultEmbedBatch is the number of texts per embedding batch (and per
// file of finished vectors).
const DefaultEmbedBatch = searchindex.DefaultEmbedBatch

// IndexBuild holds the activities of IndexBuildWorkflow and
// IndexFreshnessWorkflow: the live vocabulary and the index configuration.
type IndexBuild struct {
	corpus           *corpusCache
	index            searchindex.Config
	embedderOverride search.Embedder
	logger           *slog.Logger
}

// EmbedInput configures EmbedVocabulary.
type EmbedInput struct {
	BatchSize int // 0 means DefaultEmbedBatch
}

// EmbedResult says where the vectors are. Skipped counts the batches found
// done by an earlier attempt.
type EmbedResult struct {
	Dir         string
	Fingerprint string
	EmbedderID  string
	Texts       int
	Batches     int
	Skipped     int
}

// EmbedVocabulary embeds every text of the live vocabulary with
// searchindex.EmbedBatches (finished batches saved beside FAISS_INDEX_PATH).
// It heartbeats the next batch's start; a retried attempt skips the batches
// already saved, so an interrupted build loses at most one batch.
func (a *IndexBuild) EmbedVocabulary(ctx context.Context, in EmbedInput) (EmbedResult, error) {
	if a.index.IndexPath == "" {
		return EmbedResult{}, temporal.NewNonRetryableApplicationError("activities: FAISS_INDEX_PATH is empty", "InvalidConfig", nil)
	}
	c, err := a.corpus.get(ctx)
	if err != nil {
		return EmbedResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return EmbedResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	resume := 0
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &resume); err != nil {
			resume = 0
		}
		a.logger.Info("resuming vocabulary embedding", "next_batch", resume)
	}
	b, err := searchindex.EmbedBatches(ctx, c, emb, a.index.IndexPath, in.BatchSize, resume,
		func(next int) { activity.RecordHeartbeat(ctx, next) }, a.logger.Warn)
	if err != nil {
		return EmbedResult{}, err
	}
	return EmbedResult(b), nil
}

// BuildIndexInput names the embedded vectors to index.
type BuildIndexInput struct {
	Embedded EmbedResult
	// Keep keeps the embedded batches after the index is saved (tests).
	Keep bool
}

// BuildIndexResult describes the saved index.
type BuildIndexResult struct {
	Path        string
	Version     string // searchindex.IndexVersion
	Fingerprint string
	EmbedderID  string
	Vectors     int
	Kind        string
	CreatedAt   time.Time
}

// BuildIndex builds the FAISS index from the embedded batches and saves it
// at FAISS_INDEX_PATH (searchindex.SaveFromBatches), heartbeating while
// FAISS works. The vocabulary must still be the one embedded.
func (a *IndexBuild) BuildIndex(ctx context.Context, in BuildIndexInput) (BuildIndexResult, error) {
	c, err := a.corpus.get(ctx)
	if err != nil {
		return BuildIndexResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return BuildIndexResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	stop := keepAlive(ctx)
	defer stop()
	saved, err := searchindex.SaveFromBatches(c, emb, searchindex.Batches(in.Embedded), a.index.IndexPath, in.Keep)
	if errors.Is(err, searchindex.ErrVocabularyChanged) {
		return BuildIndexResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "VocabularyChanged", nil)
	}
	if err != nil {
		return BuildIndexResult{}, err
	}
	return BuildIndexResult(saved), nil
}

// IndexFreshnessResult compares the live vocabulary with the saved index.
type IndexFreshnessResult struct {
	Stale                 bool
	Reason                string
	VocabularyFingerprint string
	IndexFingerprint      string
}

// IndexFreshness reports whether the index at FAISS_INDEX_PATH is missing
// or was built from another vocabulary or embedder than the live ones.
func (a *IndexBuild) IndexFreshness(ctx context.Context) (IndexFreshnessResult, error) {
	c, err := a.corpus.get(ctx)
	if err != nil {
		return IndexFreshnessResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return IndexFreshnessResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	return IndexFreshnessResult(searchindex.CheckFreshness(c, emb, a.index.IndexPath)), nil
}

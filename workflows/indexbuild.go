package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
)

// IndexBuildInput configures IndexBuildWorkflow.
type IndexBuildInput struct {
	BatchSize int // texts per embedding batch; 0 means activities.DefaultEmbedBatch
	// HeartbeatTimeout is how soon an embedding whose worker died resumes
	// elsewhere; 0 means 1m.
	HeartbeatTimeout time.Duration
}

// IndexBuildResult describes the index saved.
type IndexBuildResult struct {
	Version        string    `json:"version"`
	Path           string    `json:"path"`
	Vectors        int       `json:"vectors"`
	Kind           string    `json:"kind"`
	CreatedAt      time.Time `json:"created_at"`
	SkippedBatches int       `json:"skipped_batches"` // found done by an earlier attempt
}

// IndexFreshnessResult says whether the nightly check rebuilt the index.
type IndexFreshnessResult struct {
	Stale   bool   `json:"stale"`
	Reason  string `json:"reason,omitempty"`
	Rebuilt bool   `json:"rebuilt"`
}

// IndexBuildWorkflow embeds the live vocabulary in batches (a heartbeating
// activity that resumes from its last finished batch), builds the FAISS
// index and saves it at FAISS_INDEX_PATH with its metadata. API replicas
// watching that path (searchindex.Live.Watch) switch to it when its version
// changes.
func IndexBuildWorkflow(ctx workflow.Context, in IndexBuildInput) (IndexBuildResult, error) {
	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = time.Minute
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour, // a neural embedder on CPUs
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	})
	var a *activities.IndexBuild
	var emb activities.EmbedResult
	if err := workflow.ExecuteActivity(ctx, a.EmbedVocabulary, activities.EmbedInput{BatchSize: in.BatchSize}).Get(ctx, &emb); err != nil {
		return IndexBuildResult{}, err
	}
	var built activities.BuildIndexResult
	if err := workflow.ExecuteActivity(ctx, a.BuildIndex, activities.BuildIndexInput{Embedded: emb}).Get(ctx, &built); err != nil {
		return IndexBuildResult{}, err
	}
	return IndexBuildResult{
		Version: built.Version, Path: built.Path, Vectors: built.Vectors, Kind: built.Kind,
		CreatedAt: built.CreatedAt, SkippedBatches: emb.Skipped,
	}, nil
}

// IndexFreshnessWorkflow is the nightly check: it rebuilds the index (as a
// child IndexBuildWorkflow) when the saved one is missing or was built from
// another vocabulary or embedder than the live ones. A build already
// running counts as the rebuild.
func IndexFreshnessWorkflow(ctx workflow.Context) (IndexFreshnessResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var a *activities.IndexBuild
	var f activities.IndexFreshnessResult
	if err := workflow.ExecuteActivity(ctx, a.IndexFreshness).Get(ctx, &f); err != nil {
		return IndexFreshnessResult{}, err
	}
	res := IndexFreshnessResult{Stale: f.Stale, Reason: f.Reason}
	if !f.Stale {
		return res, nil
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: IndexBuildWorkflowID, TaskQueue: workflow.GetInfo(ctx).TaskQueueName,
	})
	err := workflow.ExecuteChildWorkflow(cctx, IndexBuildWorkflow, IndexBuildInput{}).Get(ctx, nil)
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Rebuilt = true
	return res, nil
}

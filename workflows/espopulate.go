package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
)

// ElasticsearchAlias is the alias the lexical tier searches; the
// population workflow points it at a complete index.
const ElasticsearchAlias = "portiere-concepts"

// ESPopulateInput configures ESPopulateWorkflow.
type ESPopulateInput struct {
	Alias       string // the alias moved at the end; required
	ChunkSize   int    // documents per bulk request; 0 means 2000
	Parallelism int    // chunk activities in flight; 0 means 4
	// HeartbeatTimeout is how soon a chunk whose worker died is retried
	// elsewhere; 0 means 1m.
	HeartbeatTimeout time.Duration
}

// ESPopulateResult describes the populated index.
type ESPopulateResult struct {
	Index     string `json:"index"`
	Documents int    `json:"documents"`
	Chunks    int    `json:"chunks"`
}

// ESPopulateWorkflow fills a new versioned Elasticsearch index (named after
// the vocabulary fingerprint and the mapping version) with the live
// vocabulary, one retryable bulk activity per chunk, checks that it holds
// as many documents as the vocabulary has texts, and only then moves the
// alias to it: the alias never points at a half-built index.
func ESPopulateWorkflow(ctx workflow.Context, in ESPopulateInput) (ESPopulateResult, error) {
	if in.Alias == "" {
		return ESPopulateResult{}, temporal.NewNonRetryableApplicationError("workflows: Elasticsearch population needs an alias", "InvalidInput", nil)
	}
	if in.Parallelism <= 0 {
		in.Parallelism = 4
	}
	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = time.Minute
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
		},
	})
	var a *activities.ESPopulate
	var plan activities.ESPlan
	if err := workflow.ExecuteActivity(ctx, a.CreateESIndex, activities.ESPlanInput{Alias: in.Alias, ChunkSize: in.ChunkSize}).Get(ctx, &plan); err != nil {
		return ESPopulateResult{}, err
	}
	// At most Parallelism chunks in flight, waited for in order. Chunks
	// heartbeat, so one whose worker died is retried within
	// HeartbeatTimeout, not StartToCloseTimeout.
	chunkCtx := workflow.WithHeartbeatTimeout(ctx, in.HeartbeatTimeout)
	var inFlight []workflow.Future
	for _, ch := range plan.Chunks {
		if len(inFlight) == in.Parallelism {
			if err := inFlight[0].Get(ctx, nil); err != nil {
				return ESPopulateResult{}, err
			}
			inFlight = inFlight[1:]
		}
		inFlight = append(inFlight, workflow.ExecuteActivity(chunkCtx, a.IndexESChunk, activities.ESChunkInput{
			Index: plan.Index, Fingerprint: plan.Fingerprint, Chunk: ch,
		}))
	}
	for _, f := range inFlight {
		if err := f.Get(ctx, nil); err != nil {
			return ESPopulateResult{}, err
		}
	}
	if err := workflow.ExecuteActivity(ctx, a.VerifyESCount, activities.ESVerifyInput{Index: plan.Index, Want: plan.Documents}).Get(ctx, nil); err != nil {
		return ESPopulateResult{}, err
	}
	if err := workflow.ExecuteActivity(ctx, a.SwapESAlias, activities.ESSwapInput{Alias: in.Alias, Index: plan.Index}).Get(ctx, nil); err != nil {
		return ESPopulateResult{}, err
	}
	return ESPopulateResult{Index: plan.Index, Documents: plan.Documents, Chunks: len(plan.Chunks)}, nil
}

package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/workflows"
)

type unitSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestUnit(t *testing.T) { suite.Run(t, new(unitSuite)) }

func (s *unitSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterActivity(&activities.BulkMapping{})
	s.env.RegisterActivity(&activities.IndexBuild{})
	s.env.RegisterActivity(&activities.ESPopulate{})
}

func (s *unitSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

var (
	bm *activities.BulkMapping
	ib *activities.IndexBuild
	es *activities.ESPopulate
)

// fakeCodes answers MapChunk for a project of n codes with ids 1..n, every
// third one routed to review.
func fakeCodes(n int64, calls *[]activities.MapChunkInput) func(context.Context, activities.MapChunkInput) (activities.MapChunkResult, error) {
	return func(_ context.Context, in activities.MapChunkInput) (activities.MapChunkResult, error) {
		*calls = append(*calls, in)
		r := activities.MapChunkResult{LastID: in.AfterID}
		for id := in.AfterID + 1; id <= n && id <= in.AfterID+int64(in.Limit); id++ {
			r.LastID = id
			r.Mapped++
			if id%3 == 0 {
				r.Review++
			} else {
				r.Auto++
			}
		}
		return r, nil
	}
}

func (s *unitSuite) TestBulkMappingCompletes() {
	var calls []activities.MapChunkInput
	s.env.OnActivity(bm.CountSourceCodes, mock.Anything, activities.CountSourceCodesInput{ProjectID: "p"}).Return(int64(25), nil).Once()
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(fakeCodes(25, &calls))
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: "p", ChunkSize: 10})
	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var p workflows.Progress
	s.NoError(s.env.GetWorkflowResult(&p))
	s.Equal(workflows.Progress{Total: 25, Done: 25, Auto: 17, Review: 8, Status: workflows.StatusCompleted, Runs: 1}, p)
	s.Len(calls, 3)
	s.Equal([]int64{0, 10, 20}, []int64{calls[0].AfterID, calls[1].AfterID, calls[2].AfterID})
}

// A per-source run hands its source to both activities, through
// continue-as-new too.
func (s *unitSuite) TestBulkMappingOfOneSourcePassesIt() {
	var calls []activities.MapChunkInput
	s.env.OnActivity(bm.CountSourceCodes, mock.Anything, activities.CountSourceCodesInput{ProjectID: "p", SourceID: "s1"}).Return(int64(25), nil).Once()
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(fakeCodes(25, &calls))
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: "p", SourceID: "s1", ChunkSize: 10, ChunksPerRun: 2})
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &can)
	var next workflows.BulkMappingInput
	s.NoError(converterDecode(can, &next))
	s.Equal("s1", next.SourceID)
	s.Len(calls, 2)
	for _, c := range calls {
		s.Equal("s1", c.SourceID)
	}
}

func (s *unitSuite) TestBulkMappingContinuesAsNew() {
	var calls []activities.MapChunkInput
	s.env.OnActivity(bm.CountSourceCodes, mock.Anything, mock.Anything).Return(int64(100), nil).Once()
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(fakeCodes(100, &calls))
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: "p", ChunkSize: 10, ChunksPerRun: 3})
	err := s.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	s.Require().True(errors.As(err, &can), "want continue-as-new, got %v", err)
	s.Equal("BulkMappingWorkflow", can.WorkflowType.Name)
	var next workflows.BulkMappingInput
	s.Require().NoError(converterDecode(can, &next))
	s.Equal(int64(30), next.AfterID)
	s.Equal(int64(30), next.Progress.Done)
	s.Equal(int64(100), next.Progress.Total)
	s.Equal(1, next.Progress.Runs)
	s.Len(calls, 3)
}

func (s *unitSuite) TestBulkMappingResumedRunDoesNotRecount() {
	var calls []activities.MapChunkInput
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(fakeCodes(35, &calls))
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{
		ProjectID: "p", ChunkSize: 10, AfterID: 30,
		Progress: workflows.Progress{Total: 35, Done: 30, Auto: 20, Review: 10, Runs: 1},
	})
	var p workflows.Progress
	s.NoError(s.env.GetWorkflowResult(&p))
	s.Equal(int64(35), p.Done)
	s.Equal(2, p.Runs)
	s.Equal(workflows.StatusCompleted, p.Status)
}

func (s *unitSuite) TestBulkMappingCancelSignal() {
	var calls []activities.MapChunkInput
	s.env.OnActivity(bm.CountSourceCodes, mock.Anything, mock.Anything).Return(int64(1000), nil).Once()
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.MapChunkInput) (activities.MapChunkResult, error) {
		return fakeCodes(1000, &calls)(ctx, in)
	}).After(time.Second)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalCancel, nil)
	}, 2500*time.Millisecond)
	var mid workflows.Progress
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(workflows.QueryProgress)
		s.NoError(err)
		s.NoError(v.Get(&mid))
	}, 1500*time.Millisecond)
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: "p", ChunkSize: 10})
	var p workflows.Progress
	s.NoError(s.env.GetWorkflowResult(&p))
	s.Equal(workflows.StatusCancelled, p.Status)
	s.Equal(workflows.StatusRunning, mid.Status)
	s.Equal(int64(10), mid.Done)
	s.Equal(int64(len(calls))*10, p.Done)
	s.Less(len(calls), 10)
}

func (s *unitSuite) TestBulkMappingChunkFailureFails() {
	s.env.OnActivity(bm.CountSourceCodes, mock.Anything, mock.Anything).Return(int64(10), nil).Once()
	s.env.OnActivity(bm.MapChunk, mock.Anything, mock.Anything).Return(activities.MapChunkResult{},
		temporal.NewNonRetryableApplicationError("boom", "Test", nil))
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{ProjectID: "p"})
	s.Error(s.env.GetWorkflowError())
	v, err := s.env.QueryWorkflow(workflows.QueryProgress)
	s.NoError(err)
	var p workflows.Progress
	s.NoError(v.Get(&p))
	s.Equal(workflows.StatusFailed, p.Status)
}

func (s *unitSuite) TestBulkMappingRejectsMissingProject() {
	s.env.ExecuteWorkflow(workflows.BulkMappingWorkflow, workflows.BulkMappingInput{})
	var ae *temporal.ApplicationError
	s.Require().True(errors.As(s.env.GetWorkflowError(), &ae))
	s.True(ae.NonRetryable())
}

func (s *unitSuite) TestIndexBuild() {
	emb := activities.EmbedResult{Dir: "/x", Fingerprint: "f", EmbedderID: "hash", Texts: 10, Batches: 2, Skipped: 1}
	s.env.OnActivity(ib.EmbedVocabulary, mock.Anything, activities.EmbedInput{BatchSize: 5}).Return(emb, nil).Once()
	s.env.OnActivity(ib.BuildIndex, mock.Anything, activities.BuildIndexInput{Embedded: emb}).
		Return(activities.BuildIndexResult{Path: "/i", Version: "v1", Vectors: 10, Kind: "flat"}, nil).Once()
	s.env.ExecuteWorkflow(workflows.IndexBuildWorkflow, workflows.IndexBuildInput{BatchSize: 5})
	var r workflows.IndexBuildResult
	s.NoError(s.env.GetWorkflowResult(&r))
	s.Equal(workflows.IndexBuildResult{Version: "v1", Path: "/i", Vectors: 10, Kind: "flat", SkippedBatches: 1}, r)
}

func (s *unitSuite) TestIndexFreshnessFresh() {
	s.env.OnActivity(ib.IndexFreshness, mock.Anything).Return(activities.IndexFreshnessResult{}, nil).Once()
	s.env.ExecuteWorkflow(workflows.IndexFreshnessWorkflow)
	var r workflows.IndexFreshnessResult
	s.NoError(s.env.GetWorkflowResult(&r))
	s.False(r.Rebuilt)
}

func (s *unitSuite) TestIndexFreshnessRebuilds() {
	s.env.RegisterWorkflow(workflows.IndexBuildWorkflow)
	s.env.OnActivity(ib.IndexFreshness, mock.Anything).Return(activities.IndexFreshnessResult{Stale: true, Reason: "vocabulary changed"}, nil).Once()
	s.env.OnActivity(ib.EmbedVocabulary, mock.Anything, mock.Anything).Return(activities.EmbedResult{}, nil).Once()
	s.env.OnActivity(ib.BuildIndex, mock.Anything, mock.Anything).Return(activities.BuildIndexResult{Version: "v2"}, nil).Once()
	s.env.ExecuteWorkflow(workflows.IndexFreshnessWorkflow)
	var r workflows.IndexFreshnessResult
	s.NoError(s.env.GetWorkflowResult(&r))
	s.True(r.Stale)
	s.True(r.Rebuilt)
}

func (s *unitSuite) TestESPopulateMovesAliasLast() {
	plan := activities.ESPlan{Index: "portiere-concepts-abc", Fingerprint: "abc", Documents: 30, Chunks: []activities.ESChunk{
		{From: 0, To: 3, Documents: 10}, {From: 3, To: 6, Documents: 10}, {From: 6, To: 9, Documents: 10},
	}}
	var order []string
	s.env.OnActivity(es.CreateESIndex, mock.Anything, activities.ESPlanInput{Alias: "portiere-concepts", ChunkSize: 10}).Return(plan, nil).Once()
	failed := false
	s.env.OnActivity(es.IndexESChunk, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ESChunkInput) (int, error) {
		if in.Chunk.From == 3 && !failed { // a transient failure is retried
			failed = true
			return 0, errors.New("bulk: 429")
		}
		order = append(order, "chunk")
		return in.Chunk.Documents, nil
	}).Times(4)
	s.env.OnActivity(es.VerifyESCount, mock.Anything, activities.ESVerifyInput{Index: plan.Index, Want: 30}).Return(func(context.Context, activities.ESVerifyInput) (int64, error) {
		order = append(order, "verify")
		return 30, nil
	}).Once()
	s.env.OnActivity(es.SwapESAlias, mock.Anything, activities.ESSwapInput{Alias: "portiere-concepts", Index: plan.Index}).Return(func(context.Context, activities.ESSwapInput) error {
		order = append(order, "swap")
		return nil
	}).Once()
	s.env.ExecuteWorkflow(workflows.ESPopulateWorkflow, workflows.ESPopulateInput{Alias: "portiere-concepts", ChunkSize: 10, Parallelism: 2})
	var r workflows.ESPopulateResult
	s.NoError(s.env.GetWorkflowResult(&r))
	s.Equal(workflows.ESPopulateResult{Index: plan.Index, Documents: 30, Chunks: 3}, r)
	s.Equal([]string{"chunk", "chunk", "chunk", "verify", "swap"}, order)
}

func (s *unitSuite) TestESPopulateCountMismatchNeverMovesAlias() {
	plan := activities.ESPlan{Index: "i", Fingerprint: "f", Documents: 10, Chunks: []activities.ESChunk{{From: 0, To: 1, Documents: 10}}}
	s.env.OnActivity(es.CreateESIndex, mock.Anything, mock.Anything).Return(plan, nil)
	s.env.OnActivity(es.IndexESChunk, mock.Anything, mock.Anything).Return(10, nil)
	s.env.OnActivity(es.VerifyESCount, mock.Anything, mock.Anything).Return(int64(9), errors.New("holds 9, want 10"))
	s.env.ExecuteWorkflow(workflows.ESPopulateWorkflow, workflows.ESPopulateInput{Alias: "al"})
	s.Error(s.env.GetWorkflowError())
	// SwapESAlias has no expectation: calling it would fail the test.
}

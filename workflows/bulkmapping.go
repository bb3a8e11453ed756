package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
)

// BulkMappingWorkflowID is the workflow id of project's bulk mapping of
// every source.
func BulkMappingWorkflowID(project string) string { return bulkMappingIDPrefix + project }

// BulkMappingSourceWorkflowID is the workflow id of the bulk mapping of one
// source of project: a run of its own, so mapping one source neither joins
// nor blocks the run of another.
func BulkMappingSourceWorkflowID(project, source string) string {
	return bulkMappingIDPrefix + project + "-source-" + source
}

// Query and signal names.
const (
	// QueryProgress returns a Progress (bulk mapping, index build).
	QueryProgress = "progress"
	// SignalCancel asks a bulk mapping to stop after its current chunk.
	SignalCancel = "cancel"
)

// Status values of Progress.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
	StatusFailed    = "failed"
)

// BulkMappingInput starts (or, through continue-as-new, continues) a bulk
// mapping of a project's source codes.
type BulkMappingInput struct {
	ProjectID string
	// SourceID, when set, maps only that source's codes. Added after the
	// first histories were recorded: they decode it as "", every source.
	SourceID string `json:",omitempty"`
	// OrganizationID is whose plan the mapped items count against
	// (mapped_items); "" meters nothing (histories recorded before
	// metering, runs an operator starts for no organization).
	OrganizationID string `json:",omitempty"`
	ChunkSize      int    // codes per MapChunk activity; 0 means 500
	TopK           int    // candidates kept per item; 0 means 10
	// ChunksPerRun is how many chunks one run maps before continuing as
	// new, keeping the history small; 0 means 100.
	ChunksPerRun int
	// HeartbeatTimeout is how soon a chunk whose worker died is retried
	// elsewhere; 0 means 30s.
	HeartbeatTimeout time.Duration

	// Set by continue-as-new: the last mapped code's id and the progress
	// so far.
	AfterID  int64
	Progress Progress
}

// Progress is the state of a bulk mapping, from the progress query.
type Progress struct {
	Total  int64  `json:"total"`
	Done   int64  `json:"done"`
	Auto   int64  `json:"auto"`
	Review int64  `json:"review"`
	Manual int64  `json:"manual"`
	Failed int64  `json:"failed"`
	Status string `json:"status"` // running, completed, cancelled, failed
	// Runs counts the continue-as-new generations so far (1 for the
	// first).
	Runs          int   `json:"runs"`
	SearchMillis  int64 `json:"search_ms"`
	PersistMillis int64 `json:"persist_ms"`
}

// BulkMappingWorkflow maps every source code of a project, a chunk (one
// MapChunk activity) at a time, in code id order. Items are upserted, so a
// retried chunk rewrites its own items. It answers the "progress" query,
// stops between chunks on the "cancel" signal (or a cancellation request)
// with status "cancelled", and continues as new every ChunksPerRun chunks
// carrying its cursor and counts.
func BulkMappingWorkflow(ctx workflow.Context, in BulkMappingInput) (Progress, error) {
	if in.ProjectID == "" {
		return Progress{}, temporal.NewNonRetryableApplicationError("workflows: bulk mapping needs a project id", "InvalidInput", nil)
	}
	if in.ChunkSize <= 0 {
		in.ChunkSize = 500
	}
	if in.TopK <= 0 {
		in.TopK = 10
	}
	if in.ChunksPerRun <= 0 {
		in.ChunksPerRun = 100
	}
	if in.HeartbeatTimeout <= 0 {
		in.HeartbeatTimeout = 30 * time.Second
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute, // the first chunk may build the engine
		HeartbeatTimeout:    in.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 20,
		},
	})

	p := in.Progress
	p.Status = StatusRunning
	p.Runs++
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (Progress, error) { return p, nil }); err != nil {
		return p, err
	}
	cancelCh := workflow.GetSignalChannel(ctx, SignalCancel)
	cancelled := func() bool {
		got := false
		for cancelCh.ReceiveAsync(nil) {
			got = true
		}
		return got
	}

	var a *activities.BulkMapping
	if p.Runs == 1 {
		if err := workflow.ExecuteActivity(ctx, a.CountSourceCodes, activities.CountSourceCodesInput{ProjectID: in.ProjectID, SourceID: in.SourceID}).Get(ctx, &p.Total); err != nil {
			p.Status = StatusFailed
			return p, err
		}
	}
	info := workflow.GetInfo(ctx)
	wid := info.WorkflowExecution.ID
	after := in.AfterID
	for chunk := 0; ; chunk++ {
		if cancelled() {
			p.Status = StatusCancelled
			return p, nil
		}
		if chunk == in.ChunksPerRun {
			next := in
			next.AfterID, next.Progress = after, p
			return p, workflow.NewContinueAsNewError(ctx, BulkMappingWorkflow, next)
		}
		var r activities.MapChunkResult
		err := workflow.ExecuteActivity(ctx, a.MapChunk, activities.MapChunkInput{
			ProjectID: in.ProjectID, SourceID: in.SourceID, OrganizationID: in.OrganizationID,
			AfterID: after, Limit: in.ChunkSize, TopK: in.TopK, WorkflowID: wid, FirstRunID: info.FirstRunID,
		}).Get(ctx, &r)
		var ce *temporal.CanceledError
		switch {
		case errors.As(err, &ce) || errors.Is(ctx.Err(), workflow.ErrCanceled):
			p.Status = StatusCancelled
			return p, temporal.NewCanceledError()
		case err != nil:
			p.Status = StatusFailed
			return p, err
		}
		after = r.LastID
		p.Done += int64(r.Mapped)
		p.Auto += int64(r.Auto)
		p.Review += int64(r.Review)
		p.Manual += int64(r.Manual)
		p.Failed += int64(r.Failed)
		p.SearchMillis += r.SearchMillis
		p.PersistMillis += r.PersistMillis
		if r.Mapped < in.ChunkSize {
			break
		}
	}
	if p.Done > p.Total { // codes added while running
		p.Total = p.Done
	}
	p.Status = StatusCompleted
	return p, nil
}

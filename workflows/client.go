package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// ErrNotFound is returned when no workflow has the id asked about.
var ErrNotFound = errors.New("workflows: no such workflow")

// ErrUnavailable wraps the errors of a Temporal that cannot be reached or
// refuses a request.
var ErrUnavailable = errors.New("workflows: Temporal is not reachable")

// Run identifies a started workflow execution.
type Run struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// State is what the API reports about a workflow.
type State struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Type       string     `json:"type"`
	Status     string     `json:"status"` // Temporal's: running, completed, failed, canceled, terminated, continued_as_new, timed_out
	StartedAt  time.Time  `json:"started_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	// Progress is the bulk mapping's progress query answer; nil for other
	// workflows.
	Progress *Progress `json:"progress,omitempty"`
}

// Client starts and inspects Portiere's workflows for the API. It is safe
// for concurrent use.
type Client struct {
	Temporal client.Client
	// ESAlias is the alias ESPopulate moves.
	ESAlias string
}

// start starts workflow under id, or returns the run already running
// under id: WorkflowExecutionErrorWhenAlreadyStarted is false, and a
// closed run's id may be reused.
func (c *Client) start(ctx context.Context, id string, wf any, in any) (Run, error) {
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: false,
	}, wf, in)
	if err != nil {
		return Run{}, fmt.Errorf("%w: start %s: %w", ErrUnavailable, id, err)
	}
	return Run{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// StartIndexBuild starts IndexBuildWorkflow (or returns the running one).
func (c *Client) StartIndexBuild(ctx context.Context, in IndexBuildInput) (Run, error) {
	return c.start(ctx, IndexBuildWorkflowID, IndexBuildWorkflow, in)
}

// StartESPopulate starts ESPopulateWorkflow (or returns the running one).
func (c *Client) StartESPopulate(ctx context.Context, in ESPopulateInput) (Run, error) {
	if in.Alias == "" {
		in.Alias = c.ESAlias
	}
	return c.start(ctx, ESPopulateWorkflowID, ESPopulateWorkflow, in)
}

// StartBulkMapping starts the bulk mapping of in.ProjectID — of its source
// in.SourceID when set — or returns the one running for it.
func (c *Client) StartBulkMapping(ctx context.Context, in BulkMappingInput) (Run, error) {
	id := BulkMappingWorkflowID(in.ProjectID)
	if in.SourceID != "" {
		id = BulkMappingSourceWorkflowID(in.ProjectID, in.SourceID)
	}
	return c.start(ctx, id, BulkMappingWorkflow, in)
}

// StartPayout starts a payout batch on an admin's request (the Mapper
// admin page's "confirm batch"): in.BatchID names it (default: the start
// time, UTC); the batch's run is returned when it is running already.
func (c *Client) StartPayout(ctx context.Context, in PayoutInput) (Run, error) {
	if in.BatchID == "" {
		in.BatchID = "admin-" + time.Now().UTC().Format("20060102T150405.000Z")
	}
	return c.start(ctx, PayoutWorkflowID(in.BatchID), PayoutWorkflow, in)
}

// State describes the latest run of workflow id, with the bulk mapping's
// progress.
func (c *Client) State(ctx context.Context, id string) (State, error) {
	d, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return State{}, ErrNotFound
	}
	if err != nil {
		return State{}, fmt.Errorf("%w: describe %s: %w", ErrUnavailable, id, err)
	}
	info := d.GetWorkflowExecutionInfo()
	st := State{
		WorkflowID: id, RunID: info.GetExecution().GetRunId(), Type: info.GetType().GetName(),
		StartedAt: info.GetStartTime().AsTime(),
	}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.ClosedAt = &t
	}
	st.Status = statusName(info.GetStatus())
	if st.Type == "BulkMappingWorkflow" {
		v, err := c.Temporal.QueryWorkflow(ctx, id, st.RunID, QueryProgress)
		if err == nil {
			var p Progress
			if err := v.Get(&p); err == nil {
				st.Progress = &p
			}
		}
	}
	return st, nil
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued_as_new"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	}
	return "unknown"
}

// Cancel stops workflow id: a bulk mapping gets the cancel signal (it
// stops after its current chunk and reports "cancelled"); other workflows
// get a cancellation request.
func (c *Client) Cancel(ctx context.Context, id string) error {
	var err error
	if strings.HasPrefix(id, bulkMappingIDPrefix) {
		err = c.Temporal.SignalWorkflow(ctx, id, "", SignalCancel, nil)
	} else {
		err = c.Temporal.CancelWorkflow(ctx, id, "")
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%w: cancel %s: %w", ErrUnavailable, id, err)
	}
	return nil
}

package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
)

// PayoutScheduleID is the weekly schedule of PayoutWorkflow.
const PayoutScheduleID = "mapper-payout-weekly"

// PayoutWorkflowID is the id of an admin's payout batch.
func PayoutWorkflowID(batch string) string { return "mapper-payout-" + batch }

// PayoutInput selects what a payout batch pays; the zero value (the
// weekly run) pays every eligible mapper at the worker's minimum.
type PayoutInput struct {
	// BatchID names the batch ("" : the workflow id).
	BatchID string `json:"batch_id,omitempty"`
	// MapperIDs are the mappers an admin selected (every eligible one
	// when empty).
	MapperIDs []string `json:"mapper_ids,omitempty"`
	// MinCents overrides the worker's minimum payout (0: keep it).
	MinCents int64 `json:"min_cents,omitempty"`
	// TransferTimeout bounds one transfer attempt, so a transfer whose
	// worker died is retried elsewhere that soon; 0 means 1m.
	TransferTimeout time.Duration `json:"transfer_timeout,omitempty"`
}

// PayoutResult counts what a batch did, per status, with the cents paid
// per currency.
type PayoutResult struct {
	BatchID string           `json:"batch_id"`
	Paid    int              `json:"paid"`
	Failed  int              `json:"failed"`
	Pending int              `json:"pending"` // left processing; the next run resumes them
	Cents   map[string]int64 `json:"cents"`
}

// payoutParallelism bounds the transfers in flight at once.
const payoutParallelism = 8

// PayoutWorkflow pays Portiere Mapper's reviewers: PreparePayouts debits
// each eligible balance into a payout (the ledger and the payout row in
// one transaction), TransferPayout sends each as a Stripe Connect
// transfer whose idempotency key is derived from the ledger entries it
// pays and records its status, NotifyPayout tells the mapper on LINE. A
// run killed anywhere resumes from Temporal's history; a retried transfer
// carries the same key, so Stripe pays it once; a payout a run could not
// finish stays processing and the next run resumes it with the same key;
// Stripe's refusal fails the payout and credits the balance back.
func PayoutWorkflow(ctx workflow.Context, in PayoutInput) (PayoutResult, error) {
	if in.TransferTimeout <= 0 {
		in.TransferTimeout = time.Minute
	}
	if in.BatchID == "" {
		in.BatchID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: in.TransferTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	})
	var a *activities.Payout
	var prepared activities.PreparedPayouts
	if err := workflow.ExecuteActivity(ctx, a.PreparePayouts, activities.PayoutBatch{BatchID: in.BatchID, MapperIDs: in.MapperIDs, MinCents: in.MinCents}).Get(ctx, &prepared); err != nil {
		return PayoutResult{BatchID: in.BatchID}, err
	}
	res := PayoutResult{BatchID: in.BatchID, Cents: map[string]int64{}}
	for start := 0; start < len(prepared.IDs); start += payoutParallelism {
		end := min(start+payoutParallelism, len(prepared.IDs))
		futures := make([]workflow.Future, 0, end-start)
		for _, id := range prepared.IDs[start:end] {
			futures = append(futures, workflow.ExecuteActivity(ctx, a.TransferPayout, id))
		}
		var finished []string
		for _, f := range futures {
			var p activities.PaidPayout
			if err := f.Get(ctx, &p); err != nil {
				workflow.GetLogger(ctx).Warn("payout not finished; the next run resumes it with the same idempotency key", "error", err)
				res.Pending++
				continue
			}
			switch p.Status {
			case "paid":
				res.Paid++
				res.Cents[p.Currency] += p.Cents
			case "failed":
				res.Failed++
			default:
				res.Pending++
				continue
			}
			finished = append(finished, p.ID)
		}
		for _, id := range finished {
			// A notification that cannot be sent does not undo a payout.
			if err := workflow.ExecuteActivity(ctx, a.NotifyPayout, id).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Warn("payout notification not sent", "payout", id, "error", err)
			}
		}
	}
	return res, nil
}

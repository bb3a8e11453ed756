package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portiere/portiere/activities"
)

// UsageReportWorkflowID is the id of the hourly run (one at a time: the
// schedule skips a run while the previous one is still going).
const UsageReportWorkflowID = "usage-report"

// UsageReportScheduleID is the hourly schedule of UsageReportWorkflow.
const UsageReportScheduleID = "usage-report-hourly"

// UsageReportInput tunes UsageReportWorkflow; the zero value is the
// scheduled run's.
type UsageReportInput struct {
	// SendTimeout bounds one attempt to send a report, so a report whose
	// worker died is retried elsewhere that soon; 0 means 1m.
	SendTimeout time.Duration `json:"send_timeout,omitempty"`
}

// UsageReportResult counts what a run sent.
type UsageReportResult struct {
	Reports  int   `json:"reports"`
	Quantity int64 `json:"quantity"`
	// Failed reports stay unsent and are retried by the next run.
	Failed int `json:"failed"`
}

// sendParallelism bounds the reports in flight at once.
const sendParallelism = 8

// UsageReportWorkflow reports metered usage (mapped items) to Stripe:
// PrepareUsageReports snapshots the usage not yet reported into reports
// in one transaction, then SendUsageReport sends each with the report id
// as Stripe's idempotency key and marks it sent. A run killed anywhere
// resumes from Temporal's history; a report is computed once and sent
// once (a resend of an unmarked one is deduplicated by Stripe); reports a
// run could not send are sent by the next.
func UsageReportWorkflow(ctx workflow.Context, in UsageReportInput) (UsageReportResult, error) {
	if in.SendTimeout <= 0 {
		in.SendTimeout = time.Minute
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: in.SendTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	})
	var a *activities.UsageReport
	var prepared activities.PreparedReports
	if err := workflow.ExecuteActivity(ctx, a.PrepareUsageReports).Get(ctx, &prepared); err != nil {
		return UsageReportResult{}, err
	}
	var res UsageReportResult
	for start := 0; start < len(prepared.IDs); start += sendParallelism {
		end := min(start+sendParallelism, len(prepared.IDs))
		futures := make([]workflow.Future, 0, end-start)
		for _, id := range prepared.IDs[start:end] {
			futures = append(futures, workflow.ExecuteActivity(ctx, a.SendUsageReport, id))
		}
		for _, f := range futures {
			var sent activities.SentReport
			if err := f.Get(ctx, &sent); err != nil {
				workflow.GetLogger(ctx).Warn("usage report not sent; the next run retries it", "error", err)
				res.Failed++
				continue
			}
			res.Reports++
			res.Quantity += sent.Quantity
		}
	}
	return res, nil
}

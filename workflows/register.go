package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/portiere/portiere/activities"
)

// Register registers every workflow on w, and each workflow's activity
// struct built from a's dependencies.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflow(BulkMappingWorkflow)
	w.RegisterActivity(a.BulkMapping())
	w.RegisterWorkflow(IndexBuildWorkflow)
	w.RegisterWorkflow(IndexFreshnessWorkflow)
	w.RegisterActivity(a.IndexBuild())
	w.RegisterWorkflow(ESPopulateWorkflow)
	w.RegisterActivity(a.ESPopulate())
	w.RegisterWorkflow(UsageReportWorkflow)
	w.RegisterActivity(a.UsageReport())
	w.RegisterWorkflow(PayoutWorkflow)
	w.RegisterActivity(a.Payout())
}

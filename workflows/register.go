package workflows

import (
	"go.temporal.io/sdk/worker"

	"github.com/portiere/portiere/activities"
)

// Register registers every workflow and a's activities on w.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflow(BulkMappingWorkflow)
	w.RegisterWorkflow(IndexBuildWorkflow)
	w.RegisterWorkflow(IndexFreshnessWorkflow)
	w.RegisterWorkflow(ESPopulateWorkflow)
	w.RegisterActivity(a)
}

package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/portiere/portiere/workflows"
)

// TestReplay replays a history of every workflow recorded from a real run
// on the Temporal dev server (regenerate with PORTIERE_UPDATE_HISTORIES=1
// and the integration tests that save them): a change to a workflow that
// breaks determinism fails here.
func TestReplay(t *testing.T) {
	for _, h := range []struct {
		file     string
		wf       any
		children []any
	}{
		{"bulkmapping.json", workflows.BulkMappingWorkflow, nil},
		{"indexbuild.json", workflows.IndexBuildWorkflow, nil},
		{"indexfreshness.json", workflows.IndexFreshnessWorkflow, []any{workflows.IndexBuildWorkflow}},
		{"espopulate.json", workflows.ESPopulateWorkflow, nil},
		{"usagereport.json", workflows.UsageReportWorkflow, nil},
		{"payout.json", workflows.PayoutWorkflow, nil},
	} {
		t.Run(h.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(h.wf)
			for _, c := range h.children {
				r.RegisterWorkflow(c)
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", h.file)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

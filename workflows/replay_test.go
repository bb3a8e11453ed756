package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/portiere/portiere/workflows"
)

// TestReplay replays histories recorded from real runs (regenerate with
// PORTIERE_UPDATE_HISTORIES=1 and the integration tests): a change to a
// workflow that breaks determinism fails here.
func TestReplay(t *testing.T) {
	for _, h := range []struct {
		file string
		wf   any
	}{
		{"bulkmapping.json", workflows.BulkMappingWorkflow},
		{"indexbuild.json", workflows.IndexBuildWorkflow},
	} {
		t.Run(h.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(h.wf)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", h.file)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

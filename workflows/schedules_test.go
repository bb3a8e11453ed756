package workflows_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/workflows"
)

// TestEnsureSchedules against the dev server: the first call creates the
// nightly freshness schedule, a second (a worker restart) leaves it as it
// is, and a changed cron expression updates it in place.
func TestEnsureSchedules(t *testing.T) {
	tc := devTemporal(t)
	ctx := context.Background()
	scheds := workflows.Schedules()
	if err := workflows.EnsureSchedules(ctx, tc, scheds); err != nil {
		t.Fatal(err)
	}
	h := tc.ScheduleClient().GetHandle(ctx, workflows.IndexFreshnessScheduleID)
	t.Cleanup(func() { h.Delete(context.Background()) })
	t.Cleanup(func() {
		tc.ScheduleClient().GetHandle(ctx, workflows.UsageReportScheduleID).Delete(context.Background())
	})
	first, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkNextRuns(t, first, 2, 30)
	if a, ok := first.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.Workflow != "IndexFreshnessWorkflow" || a.TaskQueue != workflows.TaskQueue {
		t.Errorf("action %#v", first.Schedule.Action)
	}

	if err := workflows.EnsureSchedules(ctx, tc, scheds); err != nil {
		t.Fatalf("second call: %v", err)
	}
	second, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Info.CreatedAt.Equal(first.Info.CreatedAt) {
		t.Errorf("schedule recreated: created %s, then %s", first.Info.CreatedAt, second.Info.CreatedAt)
	}
	checkNextRuns(t, second, 2, 30)
	// Exactly one schedule of that id is listed (visibility is eventually
	// consistent: wait for it to appear).
	waitFor(t, "the schedule listed", 10*time.Second, func() bool {
		return countSchedules(t, tc, workflows.IndexFreshnessScheduleID) > 0
	})
	if n := countSchedules(t, tc, workflows.IndexFreshnessScheduleID); n != 1 {
		t.Errorf("%d schedules listed with id %s", n, workflows.IndexFreshnessScheduleID)
	}

	scheds[0].Cron = []string{"15 4 * * *"}
	if err := workflows.EnsureSchedules(ctx, tc, scheds); err != nil {
		t.Fatalf("changed spec: %v", err)
	}
	third, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkNextRuns(t, third, 4, 15)
	if !third.Info.CreatedAt.Equal(first.Info.CreatedAt) {
		t.Errorf("schedule recreated on update")
	}
}

// checkNextRuns checks that the schedule's next actions fall daily at
// hour:minute UTC.
func checkNextRuns(t *testing.T, d *client.ScheduleDescription, hour, minute int) {
	t.Helper()
	if len(d.Info.NextActionTimes) < 2 {
		t.Fatalf("next actions %v", d.Info.NextActionTimes)
	}
	for i, at := range d.Info.NextActionTimes {
		at = at.UTC()
		if at.Hour() != hour || at.Minute() != minute {
			t.Errorf("next action %s, want %02d:%02d UTC", at, hour, minute)
		}
		if i > 0 && at.Sub(d.Info.NextActionTimes[i-1]) != 24*time.Hour {
			t.Errorf("next actions %v are not a day apart", d.Info.NextActionTimes)
		}
	}
}

func countSchedules(t *testing.T, tc client.Client, id string) int {
	t.Helper()
	it, err := tc.ScheduleClient().List(context.Background(), client.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == id {
			n++
		}
	}
	return n
}

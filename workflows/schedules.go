package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Schedule is a recurring workflow, registered by EnsureSchedules.
type Schedule struct {
	ID     string
	Cron   []string // cron expressions, UTC
	Action *client.ScheduleWorkflowAction
	Note   string
}

// Schedules are the recurring workflows Portiere runs (what Celery Beat
// ran): the nightly index freshness check at 02:30 UTC, the hourly
// usage report to Stripe and the weekly mapper payout (Mondays 03:00 UTC).
func Schedules() []Schedule {
	return []Schedule{{
		ID:   IndexFreshnessScheduleID,
		Cron: []string{"30 2 * * *"},
		Action: &client.ScheduleWorkflowAction{
			ID: "index-freshness-check", Workflow: IndexFreshnessWorkflow, TaskQueue: TaskQueue,
		},
		Note: "Rebuild the dense search index when the vocabulary changed",
	}, {
		ID:   UsageReportScheduleID,
		Cron: []string{"5 * * * *"},
		Action: &client.ScheduleWorkflowAction{
			ID: UsageReportWorkflowID, Workflow: UsageReportWorkflow, TaskQueue: TaskQueue,
			Args: []any{UsageReportInput{}},
		},
		Note: "Report metered usage (mapped items) to Stripe, each report once",
	}, {
		ID:   PayoutScheduleID,
		Cron: []string{"0 3 * * 1"},
		Action: &client.ScheduleWorkflowAction{
			ID: "mapper-payout-weekly", Workflow: PayoutWorkflow, TaskQueue: TaskQueue,
			Args: []any{PayoutInput{}},
		},
		Note: "Pay Portiere Mapper's reviewers their balances above the minimum (Stripe Connect), each once",
	}}
}

// EnsureSchedules creates each schedule, or updates its spec and action
// when it exists, so every worker start converges on the same schedules.
// They are listed in the Temporal UI under Schedules.
func EnsureSchedules(ctx context.Context, c client.Client, schedules []Schedule) error {
	sc := c.ScheduleClient()
	for _, s := range schedules {
		spec := client.ScheduleSpec{CronExpressions: s.Cron}
		_, err := sc.Create(ctx, client.ScheduleOptions{ID: s.ID, Spec: spec, Action: s.Action, Note: s.Note})
		if err == nil {
			continue
		}
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return fmt.Errorf("workflows: create schedule %s: %w", s.ID, err)
		}
		err = sc.GetHandle(ctx, s.ID).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sch := in.Description.Schedule
				sch.Spec = &spec
				sch.Action = s.Action
				return &client.ScheduleUpdate{Schedule: &sch}, nil
			},
		})
		if err != nil {
			return fmt.Errorf("workflows: update schedule %s: %w", s.ID, err)
		}
	}
	return nil
}

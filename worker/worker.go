// Package worker runs Portiere's Temporal worker: it registers every
// workflow and activity (package workflows) on the task queue, makes sure
// the schedules exist, and polls until stopped.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/workflows"
)

// TaskQueue is the queue Portiere's workflows and activities run on.
const TaskQueue = workflows.TaskQueue

// Options configure Run.
type Options struct {
	// Activities hold the workflows' dependencies (database, index path,
	// Elasticsearch).
	Activities *activities.Activities
	// Schedules are created or updated at start; nil means
	// workflows.Schedules(), an empty non-nil slice none.
	Schedules []workflows.Schedule
	// TaskQueue overrides TaskQueue (tests sharing one Temporal).
	TaskQueue string
	// Worker tunes the SDK worker.
	Worker sdkworker.Options
}

// Run polls TaskQueue until ctx is cancelled, then stops the worker, letting
// running activities finish within the SDK's stop timeout.
func Run(ctx context.Context, c client.Client, logger *slog.Logger, opts Options) error {
	if opts.Activities == nil {
		return fmt.Errorf("worker: no activities")
	}
	scheds := opts.Schedules
	if scheds == nil {
		scheds = workflows.Schedules()
	}
	if err := workflows.EnsureSchedules(ctx, c, scheds); err != nil {
		return err
	}
	queue := opts.TaskQueue
	if queue == "" {
		queue = TaskQueue
	}
	w := sdkworker.New(c, queue, opts.Worker)
	workflows.Register(w, opts.Activities)
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	logger.Info("worker polling", "task_queue", queue, "schedules", len(scheds))
	<-ctx.Done()
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

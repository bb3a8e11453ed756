// Package worker runs Portiere's Temporal worker: it registers every
// workflow and activity on the task queue and polls until stopped.
//
// The workflows (index build, Elasticsearch population, bulk mapping,
// schedules) are added by the workflows and activities packages as they
// land; the worker process, its connection handling and its shutdown are
// here.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
)

// TaskQueue is the queue Portiere's workflows and activities run on.
const TaskQueue = "portiere"

// Run polls TaskQueue until ctx is cancelled, then stops the worker, letting
// running activities finish within the SDK's stop timeout.
func Run(ctx context.Context, c client.Client, logger *slog.Logger) error {
	w := sdkworker.New(c, TaskQueue, sdkworker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	logger.Info("worker polling", "task_queue", TaskQueue)
	<-ctx.Done()
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

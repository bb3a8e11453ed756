package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/platform/temporal"
	"github.com/portiere/portiere/workflows"
)

// initCommand is what a Kubernetes init Job runs: it builds the search
// index through the worker (IndexBuildWorkflow) and, with
// ELASTICSEARCH_URL, populates Elasticsearch (ESPopulateWorkflow), waiting
// for both. A build already running is joined, not duplicated.
func initCommand(ctx context.Context) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Build the search index (and populate Elasticsearch) through the worker, and wait",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(config.ModeCLI, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			tc, err := temporal.Dial(ctx, cfg.Temporal.Address, cfg.Temporal.Namespace, logger, 2*time.Minute)
			if err != nil {
				return err
			}
			defer tc.Close()
			wc := &workflows.Client{Temporal: tc, ESAlias: workflows.ElasticsearchAlias}
			run, err := wc.StartIndexBuild(ctx, workflows.IndexBuildInput{})
			if err != nil {
				return err
			}
			logger.Info("index build running", "workflow_id", run.WorkflowID, "run_id", run.RunID)
			var built workflows.IndexBuildResult
			if err := tc.GetWorkflow(ctx, run.WorkflowID, run.RunID).Get(ctx, &built); err != nil {
				return fmt.Errorf("index build: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "search index %s saved at %s (%d vectors)\n", built.Version, built.Path, built.Vectors)
			if !cfg.Elasticsearch.Configured() {
				return nil
			}
			run, err = wc.StartESPopulate(ctx, workflows.ESPopulateInput{})
			if err != nil {
				return err
			}
			logger.Info("Elasticsearch population running", "workflow_id", run.WorkflowID, "run_id", run.RunID)
			var es workflows.ESPopulateResult
			if err := tc.GetWorkflow(ctx, run.WorkflowID, run.RunID).Get(ctx, &es); err != nil {
				return fmt.Errorf("Elasticsearch population: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Elasticsearch index %s holds %d documents; alias %s points at it\n", es.Index, es.Documents, workflows.ElasticsearchAlias)
			return nil
		},
	}
}

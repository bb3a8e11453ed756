package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/devstack"
	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/temporal"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/web"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

func devCommand(ctx context.Context) *cobra.Command {
	var dataDir string
	var temporalPort, temporalUIPort int
	var withES bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole stack on this machine (PostgreSQL, Temporal, worker, API)",
		Long: `Run the whole stack on this machine with one command.

Unless DB_HOST is set, a private PostgreSQL cluster is created from this
machine's server binaries (initdb, pg_ctl) in <data-dir>/pg and started on a
free port on 127.0.0.1. Unless TEMPORAL_ADDRESS is set, the Temporal
development server is started (Web UI on --temporal-ui-port). Migrations run,
then the worker, the API (API_PORT, default 8000), the Cloud dashboard
(WEB_PORT, default 3000) and Portiere Mapper (MAPPER_PORT, default 3001;
MAPPER_DEV_LOGIN=true adds a sign-in taking any LINE user id). Secrets are generated on
first start and kept in <data-dir>/dev-secrets.env. Ctrl-C stops everything;
a second start reuses the data.

With --elasticsearch (and ELASTICSEARCH_URL unset) an Elasticsearch node is
started in <data-dir>/elasticsearch on a free port on 127.0.0.1 (make tools
installs it) and filled from the vocabulary; the API and the worker use it
as ELASTICSEARCH_URL. Without it the lexical tier is the embedded BM25 index.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(config.ModeDev, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			abs, err := absDir(dataDir)
			if err != nil {
				return err
			}
			return devstack.Run(ctx, devstack.Options{
				Config: cfg, DataDir: abs,
				TemporalPort:   temporalPort,
				TemporalUIPort: temporalUIPort,
				Elasticsearch:  withES,
				Version:        version, Logger: logger, Out: cmd.OutOrStdout(),
				Serve: func(ctx context.Context, st devstack.Stack) error {
					return serveDev(ctx, st, logger)
				},
			})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".portiere", "folder for the private database, Temporal state and dev secrets")
	cmd.Flags().IntVar(&temporalPort, "temporal-port", 7233, "port of the Temporal development server (when TEMPORAL_ADDRESS is unset)")
	cmd.Flags().IntVar(&temporalUIPort, "temporal-ui-port", 8233, "port of the Temporal Web UI (when TEMPORAL_ADDRESS is unset)")
	cmd.Flags().BoolVar(&withES, "elasticsearch", false, "start a local Elasticsearch node and search through it (ELASTICSEARCH_URL, when set, is used instead)")
	return cmd
}

func apiCommand(ctx context.Context) *cobra.Command {
	var host string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API (needs DB_PASSWORD, JWT_SECRET, API_KEY_SALT)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, pool, err := loadConfigAndDB(ctx, config.ModeAPI, cmd.ErrOrStderr(), postgres.Options{})
			if err != nil {
				return err
			}
			defer pool.Close()
			// Lazy: the API starts even while Temporal is down, and
			// /health/ready says so instead.
			tc, err := client.NewLazyClient(temporal.Options(cfg.Temporal.Address, cfg.Temporal.Namespace, logger))
			if err != nil {
				return err
			}
			defer tc.Close()
			b, err := openBackends(cfg, pool, tc, version, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			b.startSearch(ctx)
			srv, err := b.api()
			if err != nil {
				return err
			}
			addr := net.JoinHostPort(host, strconv.Itoa(cfg.HTTP.Port))
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			logger.Info("API listening", "addr", addr, "version", version)
			return ignoreCancel(srv.Serve(ctx, ln, config.ShutdownTimeout))
		},
	}
	cmd.Flags().StringVar(&host, "host", "0.0.0.0", "interface to listen on")
	return cmd
}

func workerCommand(ctx context.Context) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker (needs DB_PASSWORD and a reachable TEMPORAL_ADDRESS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, pool, err := loadConfigAndDB(ctx, config.ModeWorker, cmd.ErrOrStderr(), postgres.Options{})
			if err != nil {
				return err
			}
			defer pool.Close()
			tc, err := temporal.Dial(ctx, cfg.Temporal.Address, cfg.Temporal.Namespace, logger, 2*time.Minute)
			if err != nil {
				return err
			}
			defer tc.Close()
			b, err := openBackends(cfg, pool, tc, version, logger)
			if err != nil {
				return err
			}
			defer b.Close()
			b.startSearch(ctx)
			return ignoreCancel(worker.Run(ctx, tc, logger, worker.Options{Activities: b.activities()}))
		},
	}
}

func migrateCommand(ctx context.Context) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations (safe to run from several replicas at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, logger, pool, err := loadConfigAndDB(ctx, config.ModeMigrate, cmd.ErrOrStderr(), postgres.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer pool.Close()
			res, err := migrate.Up(ctx, pool, migrate.Schema())
			if err != nil {
				return err
			}
			for _, m := range res.Applied {
				logger.Info("applied migration", "version", m.Version, "name", m.Name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "schema at version %d (%d applied now)\n", res.Current, len(res.Applied))
			return nil
		},
	}
}

// serveDev runs the worker and the API of `portiere dev` on the stack
// devstack started, composed exactly as `portiere api` and `portiere
// worker` compose them.
func serveDev(ctx context.Context, st devstack.Stack, logger *slog.Logger) error {
	b, err := openBackends(st.Config, st.Pool, st.Temporal, version, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	g, gctx := errgroup.WithContext(ctx)
	b.startSearch(gctx)
	srv, err := b.api()
	if err != nil {
		return err
	}
	dash, err := b.web()
	if err != nil {
		return err
	}
	var payouts web.PayoutStarter
	if b.workflows != nil {
		payouts = b.workflows
	}
	mapperApp, err := mapperWeb(st.Config, st.Pool, b.crowd, b.search, payouts, logger)
	if err != nil {
		return err
	}
	acts := b.activities()
	g.Go(func() error { return worker.Run(gctx, st.Temporal, logger, worker.Options{Activities: acts}) })
	g.Go(func() error { return srv.Serve(gctx, st.Listener, config.ShutdownTimeout) })
	g.Go(func() error { return dash.Serve(gctx, st.WebListener, config.ShutdownTimeout) })
	g.Go(func() error { return mapperApp.Serve(gctx, st.MapperListener, config.ShutdownTimeout) })
	// The first run has no index yet: start its build (joined if one is
	// running); API and worker pick it up when it is saved.
	if c, err := b.vocabulary.LoadCorpus(gctx); err == nil && len(c.Concepts) > 0 {
		if emb, err := searchindex.NewEmbedder(b.searchCfg); err == nil {
			if f := searchindex.CheckFreshness(c, emb, b.searchCfg.IndexPath); f.Stale {
				if run, err := b.workflows.StartIndexBuild(gctx, workflows.IndexBuildInput{}); err != nil {
					logger.Error("could not start the index build", "error", err)
				} else {
					logger.Info("search index "+f.Reason+"; index build started", "workflow_id", run.WorkflowID)
				}
			}
		}
	}
	return g.Wait()
}

func absDir(dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("--data-dir must not be empty")
	}
	return filepath.Abs(dir)
}

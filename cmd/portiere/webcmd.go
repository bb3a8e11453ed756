package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/temporal"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/web"
	"github.com/portiere/portiere/workflows"
)

// sessionSweepInterval is how often a web process deletes expired
// sessions (they are refused anyway; this keeps the table small).
const sessionSweepInterval = time.Hour

func webCommand(ctx context.Context) *cobra.Command {
	var app, host string
	var port int
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve a web app: the Cloud dashboard (--app=cloud; needs DB_PASSWORD, API_KEY_SALT) or Portiere Mapper (--app=mapper)",
		Long: `Serve a web app on --port: --app=cloud is the Cloud dashboard (sign up,
projects and their settings, API keys, vocabulary status); --app=mapper is
Portiere Mapper (LINE sign-in, applications, KYC documents, admin review;
default port 3001). The mapper needs DB_PASSWORD, MAPPER_KYC_KEYS and, for
LINE sign-in, LINE_CHANNEL_ID and NEXT_PUBLIC_LIFF_ID; ADMIN_LINE_USER_IDS
names its admins (docs/mapper.md).

The dashboard uses the API's database (DB_*) and API_KEY_SALT (it issues
API keys); NEXT_PUBLIC_API_URL is the API address its pages show.
With TEMPORAL_ADDRESS set it starts and follows bulk mappings of uploaded
sources (a worker runs them); without it, those pages say bulk mapping
needs the worker.
Run it behind HTTPS: its session cookies are Secure unless
SESSION_COOKIE_SECURE=false.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if app != web.AppCloud && app != web.AppMapper {
				return fmt.Errorf("--app=%q: want cloud or mapper", app)
			}
			if app == web.AppMapper && !cmd.Flags().Changed("port") {
				port = config.DefaultMapperPort
			}
			cfg, logger, pool, err := loadConfigAndDB(ctx, config.ModeWeb, cmd.ErrOrStderr(), postgres.Options{})
			if err != nil {
				return err
			}
			defer pool.Close()
			if app == web.AppMapper {
				crowdSvc, err := newCrowd(cfg, pool)
				if err != nil {
					return err
				}
				var payouts web.PayoutStarter
				if cfg.IsSet("TEMPORAL_ADDRESS") {
					// Admins start payout batches (a worker runs them);
					// lazy, so the app starts while Temporal is down.
					tc, err := client.NewLazyClient(temporal.Options(cfg.Temporal.Address, cfg.Temporal.Namespace, logger))
					if err != nil {
						return err
					}
					defer tc.Close()
					payouts = &workflows.Client{Temporal: tc}
				}
				srv, err := mapperWeb(cfg, pool, crowdSvc, nil, payouts, logger)
				if err != nil {
					return err
				}
				go sweepSessions(ctx, mapperstore.NewSessions(pool), logger)
				return serveWeb(ctx, srv, app, host, port, logger)
			}
			st := newWebStores(pool)
			if cfg.IsSet("TEMPORAL_ADDRESS") {
				// Bulk mapping and index builds from the dashboard: lazy,
				// so the dashboard starts while Temporal is down and its
				// pages say so.
				tc, err := client.NewLazyClient(temporal.Options(cfg.Temporal.Address, cfg.Temporal.Namespace, logger))
				if err != nil {
					return err
				}
				defer tc.Close()
				wc := &workflows.Client{Temporal: tc}
				st.mapping, st.indexBuilds = wc, wc
			}
			srv, err := webApp(app, cfg, st, savedIndexState(cfg.Search.FAISSIndexPath), logger)
			if err != nil {
				return err
			}
			go sweepSessions(ctx, st.sessions, logger)
			return serveWeb(ctx, srv, app, host, port, logger)
		},
	}
	cmd.Flags().StringVar(&app, "app", web.AppCloud, "the app to serve: cloud or mapper")
	cmd.Flags().StringVar(&host, "host", "0.0.0.0", "interface to listen on")
	cmd.Flags().IntVar(&port, "port", config.DefaultWebPort, "port to listen on (default 3000; 3001 for --app=mapper)")
	return cmd
}

// serveWeb serves srv on host:port until ctx is done.
func serveWeb(ctx context.Context, srv *web.Server, app, host string, port int, logger *slog.Logger) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	logger.Info("web app listening", "app", app, "addr", addr, "version", version)
	return ignoreCancel(srv.Serve(ctx, ln, config.ShutdownTimeout))
}

// savedIndexState reports the dense index saved at path from its metadata,
// for a web process that does not load the engine. Deployments that do not
// mount the index volume into the web app see "unknown".
func savedIndexState(path string) func(context.Context) web.IndexState {
	return func(context.Context) web.IndexState {
		info, err := searchindex.SavedIndex(path)
		if err != nil {
			return web.IndexState{State: "unknown", Detail: "The index file is not visible to the dashboard; the API's /health/ready reports the index it serves."}
		}
		return web.IndexState{State: "saved", Version: info.Version, Embedder: info.EmbedderID,
			Concepts: info.Concepts, CreatedAt: info.IndexCreatedAt}
	}
}

// sessionSweeper deletes the sessions that expired before now (sessionstore
// and mapperstore's Sessions).
type sessionSweeper interface {
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
}

// sweepSessions deletes expired sessions every sessionSweepInterval until
// ctx is done.
func sweepSessions(ctx context.Context, s sessionSweeper, log *slog.Logger) {
	t := time.NewTicker(sessionSweepInterval)
	defer t.Stop()
	for {
		if n, err := s.DeleteExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("could not delete expired sessions", "error", err)
		} else if n > 0 {
			log.Info("expired sessions deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

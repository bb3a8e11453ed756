// Package devstack runs the whole Portiere stack on one machine for
// `portiere dev`: a private PostgreSQL cluster (unless DB_HOST is set), the
// Temporal development server (unless TEMPORAL_ADDRESS is set), migrations,
// the demo vocabulary when the vocabulary is empty and the demo project,
// then hands the running infrastructure to the caller's Serve (the worker
// and the API, composed in cmd/portiere), and stops everything in order on
// cancellation. RunningDatabase lets other commands find the private
// cluster of a running stack.
package devstack

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/pgcluster"
	"github.com/portiere/portiere/platform/ports"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/stripemock"
	"github.com/portiere/portiere/platform/temporal"
	"github.com/portiere/portiere/platform/temporaldev"
	"github.com/portiere/portiere/workflows"
)

// Options configure Run.
type Options struct {
	// Config is loaded with config.ModeDev. Unless TEMPORAL_ADDRESS was set
	// (Config.IsSet), the development server is started on TemporalPort /
	// TemporalUIPort.
	Config         config.Config
	DataDir        string // private cluster, Temporal state, dev secrets
	TemporalPort   int
	TemporalUIPort int
	// Elasticsearch starts a local node (platform/esnode) in
	// DataDir/elasticsearch unless ELASTICSEARCH_URL is set, and fills its
	// alias before the API starts; without it the lexical tier is the
	// embedded BM25 index.
	Elasticsearch bool
	Version       string
	Logger        *slog.Logger
	Out           io.Writer // where the URLs are printed
	// Serve runs the worker and the API on the stack until ctx is done.
	Serve func(ctx context.Context, st Stack) error
}

// Stack is the running infrastructure Run hands to Options.Serve.
type Stack struct {
	// Config is Options.Config completed: the private database, the
	// development Temporal, generated secrets, the index path in DataDir.
	Config   config.Config
	Pool     *pgxpool.Pool
	Temporal client.Client
	// Listener is the API's, on 127.0.0.1:API_PORT.
	Listener net.Listener
	// WebListener is the Cloud dashboard's, on 127.0.0.1:WEB_PORT.
	WebListener net.Listener
	// MapperListener is the mapper app's, on 127.0.0.1:MAPPER_PORT.
	MapperListener net.Listener
	// DemoProjectID is the seeded demo project.
	DemoProjectID string
}

// Run starts the stack and blocks until ctx is cancelled, then stops
// everything it started, in reverse order.
func Run(ctx context.Context, o Options) (err error) {
	if o.Serve == nil {
		return errors.New("devstack: Options.Serve is nil: nothing would run on the stack")
	}
	cfg := o.Config
	log := o.Logger
	temporalSet := cfg.IsSet("TEMPORAL_ADDRESS")
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	// Fail before starting anything if a port we need is taken.
	needed := []int{cfg.HTTP.Port, cfg.Web.Port, cfg.Mapper.Port}
	if !temporalSet {
		needed = append(needed, o.TemporalPort, o.TemporalUIPort)
	}
	for _, p := range needed {
		if err := ports.Available(p); err != nil {
			return err
		}
	}

	secrets, err := devSecrets(filepath.Join(o.DataDir, secretsFile), "JWT_SECRET", "API_KEY_SALT", "ADMIN_TOKEN", "DB_PASSWORD", devAPIKey, devPassword, devKYCKey, devStripeWebhook)
	if err != nil {
		return err
	}
	if cfg.Auth.JWTSecret == "" {
		cfg.Auth.JWTSecret = secrets["JWT_SECRET"]
	}
	if cfg.Auth.APIKeySalt == "" {
		cfg.Auth.APIKeySalt = secrets["API_KEY_SALT"]
	}
	if cfg.Auth.AdminToken == "" {
		cfg.Auth.AdminToken = secrets["ADMIN_TOKEN"]
	}
	if len(cfg.Mapper.KYCKeys) == 0 {
		key, err := base64.RawURLEncoding.DecodeString(secrets[devKYCKey])
		if err != nil || len(key) != 32 {
			return fmt.Errorf("devstack: %s in %s is not 32 bytes of base64; delete the line to make a new one", devKYCKey, secretsFile)
		}
		cfg.Mapper.KYCKeys = []config.KYCKey{{ID: "dev", Key: key}}
	}

	// stops run in reverse order when Run returns.
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	if cfg.DB.Host == "" {
		cl, err := startCluster(ctx, filepath.Join(o.DataDir, "pg"), secrets["DB_PASSWORD"], log)
		if err != nil {
			return err
		}
		stops = append(stops, func() {
			log.Info("stopping PostgreSQL")
			if err := cl.Stop(context.Background()); err != nil {
				log.Error("stop PostgreSQL", "error", err)
			}
		})
		cfg.DB = config.Database{Host: "127.0.0.1", Port: cl.Port(), Name: config.DefaultDBName, User: pgcluster.Superuser, Password: secrets["DB_PASSWORD"]}
		if err := ensureDatabase(ctx, cl.ConnString("postgres"), cfg.DB.Name); err != nil {
			return err
		}
	}

	var temporalUI string
	if !temporalSet {
		cli, err := temporaldev.FindCLI(cfg.Tools.TemporalCLI)
		if err != nil {
			return err
		}
		logf, err := os.OpenFile(filepath.Join(o.DataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
		stops = append(stops, func() { logf.Close() })
		log.Info("starting Temporal development server", "cli", cli, "port", o.TemporalPort, "ui_port", o.TemporalUIPort)
		ts, err := temporaldev.Start(ctx, temporaldev.Options{
			CLI: cli, DBFile: filepath.Join(o.DataDir, "temporal.db"),
			Port: o.TemporalPort, UIPort: o.TemporalUIPort, Namespace: cfg.Temporal.Namespace, Log: logf,
		})
		if err != nil {
			return err
		}
		stops = append(stops, func() {
			log.Info("stopping Temporal")
			if err := ts.Stop(); err != nil {
				log.Error("stop Temporal", "error", err)
			}
		})
		cfg.Temporal.Address = ts.Address()
		temporalUI = ts.UIURL()
	}

	pool, err := postgres.Open(ctx, cfg.DB.ConnString(), postgres.Options{})
	if err != nil {
		return err
	}
	stops = append(stops, pool.Close)
	res, err := migrate.Up(ctx, pool, migrate.Schema())
	if err != nil {
		return err
	}
	log.Info("schema migrated", "applied", len(res.Applied), "version", res.Current)
	if err := seedVocabulary(ctx, pool, log); err != nil {
		return err
	}
	demoProjectID, err := seedDemoProject(ctx, pool, log)
	if err != nil {
		return err
	}
	demo, err := seedDemoAccess(ctx, pool, cfg.Auth.APIKeySalt, secrets[devAPIKey], secrets[devPassword])
	if err != nil {
		return err
	}

	if o.Elasticsearch {
		if !cfg.Elasticsearch.Configured() {
			url, stop, err := startElasticsearch(ctx, o.DataDir, log)
			if err != nil {
				return err
			}
			stops = append(stops, stop)
			cfg.Elasticsearch.URL = url
		}
		if err := populateElasticsearch(ctx, cfg.Elasticsearch.URL, pool, log); err != nil {
			return err
		}
	}

	var fakeStripe string
	if !cfg.Stripe.Configured() {
		// Billing's checkout and the mappers' payouts against stripe-mock
		// when make tools installed it: a demo of the whole loop that moves
		// no money. Without it the stack runs without payments.
		if bin, err := stripemock.Find("."); err == nil {
			sm, err := stripemock.Start(ctx, bin, io.Discard)
			if err != nil {
				return err
			}
			stops = append(stops, func() { sm.Stop() })
			cfg.Stripe = devStripe(cfg.Stripe, sm.URL(), secrets[devStripeWebhook])
			fakeStripe = sm.URL()
		}
	}

	tc, err := temporal.Dial(ctx, cfg.Temporal.Address, cfg.Temporal.Namespace, log, time.Minute)
	if err != nil {
		return err
	}
	stops = append(stops, tc.Close)

	if !filepath.IsAbs(cfg.Search.FAISSIndexPath) && !cfg.IsSet("FAISS_INDEX_PATH") {
		cfg.Search.FAISSIndexPath = filepath.Join(o.DataDir, "index", "faiss.index")
	}
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.HTTP.Port))
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return &ports.PortInUseError{Port: cfg.HTTP.Port}
	}

	webAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Web.Port))
	webLn, err := net.Listen("tcp", webAddr)
	if err != nil {
		ln.Close()
		return &ports.PortInUseError{Port: cfg.Web.Port}
	}

	mapperAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Mapper.Port))
	mapperLn, err := net.Listen("tcp", mapperAddr)
	if err != nil {
		ln.Close()
		webLn.Close()
		return &ports.PortInUseError{Port: cfg.Mapper.Port}
	}

	apiURL := "http://localhost:" + strconv.Itoa(cfg.HTTP.Port)
	fmt.Fprintf(o.Out, "\nPortiere is running (Ctrl-C stops everything):\n")
	fmt.Fprintf(o.Out, "  Dashboard      http://localhost:%d  (sign up, or log in as the demo user below)\n", cfg.Web.Port)
	fmt.Fprintf(o.Out, "  Mapper         http://localhost:%d  (%s)\n", cfg.Mapper.Port, mapperSignIn(cfg.Mapper))
	fmt.Fprintf(o.Out, "  API            %s\n", apiURL)
	fmt.Fprintf(o.Out, "  Readiness      %s/health/ready\n", apiURL)
	fmt.Fprintf(o.Out, "  API docs       %s/docs  (ReDoc: %s/redoc, OpenAPI: %s/openapi.json)\n", apiURL, apiURL, apiURL)
	if temporalUI != "" {
		fmt.Fprintf(o.Out, "  Temporal UI    %s\n", temporalUI)
	}
	fmt.Fprintf(o.Out, "  Temporal       %s (namespace %s)\n", cfg.Temporal.Address, cfg.Temporal.Namespace)
	if cfg.Elasticsearch.Configured() {
		fmt.Fprintf(o.Out, "  Elasticsearch  %s (alias %s)\n", cfg.Elasticsearch.URL, workflows.ElasticsearchAlias)
	}
	if fakeStripe != "" {
		fmt.Fprintf(o.Out, "  Stripe         %s  (stripe-mock: checkout and mapper payouts succeed, no money moves)\n", fakeStripe)
	}
	fmt.Fprintf(o.Out, "  PostgreSQL     postgres://%s@%s:%d/%s\n", cfg.DB.User, cfg.DB.Host, cfg.DB.Port, cfg.DB.Name)
	fmt.Fprintf(o.Out, "  Admin token    %s  (Authorization: Bearer …, operator routes /api/v1/workflows)\n", cfg.Auth.AdminToken)
	fmt.Fprintf(o.Out, "  Demo org       %s (id %s); user %s, password %s\n", demoOrganization, demo.OrganizationID, demoEmail, secrets[devPassword])
	fmt.Fprintf(o.Out, "  Demo API key   %s  (write scope, owner; kept in %s)\n", secrets[devAPIKey], filepath.Join(o.DataDir, secretsFile))
	fmt.Fprintf(o.Out, "  Search         (every /api/v1 route but /auth/token needs the key or its token)\n")
	fmt.Fprintf(o.Out, "    curl -X POST -H 'X-Portiere-API-Key: %s' -H 'Content-Type: application/json' -d '{\"query\": \"paracetamol\", \"limit\": 5}' %s/api/v1/concepts/search\n", secrets[devAPIKey], apiURL)
	fmt.Fprintf(o.Out, "  Demo project   %s — map its source codes with:\n", demoProjectID)
	fmt.Fprintf(o.Out, "    curl -X POST -H 'X-Portiere-API-Key: %s' %s/api/v1/projects/%s/bulk-mapping\n", secrets[devAPIKey], apiURL, demoProjectID)
	fmt.Fprintf(o.Out, "    curl -H 'Authorization: Bearer %s' %s/api/v1/workflows/<workflow_id>\n", secrets[devAPIKey], apiURL)
	fmt.Fprintf(o.Out, "  Data folder    %s\n\n", o.DataDir)

	err = o.Serve(ctx, Stack{Config: cfg, Pool: pool, Temporal: tc, Listener: ln, WebListener: webLn, MapperListener: mapperLn, DemoProjectID: demoProjectID})
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("shutting down")
	return err
}

func startCluster(ctx context.Context, dir, password string, log *slog.Logger) (*pgcluster.Cluster, error) {
	cl, err := pgcluster.New(pgcluster.Options{Dir: dir, Password: password})
	if err != nil {
		return nil, err
	}
	if !cl.Initialized() {
		log.Info("initialising private PostgreSQL cluster", "dir", dir)
	}
	if err := cl.Init(ctx); err != nil {
		return nil, err
	}
	if err := cl.Start(ctx); err != nil {
		return nil, err
	}
	log.Info("PostgreSQL running", "port", cl.Port(), "pid", cl.PID())
	return cl, nil
}

// ensureDatabase creates the application database on first start.
func ensureDatabase(ctx context.Context, adminConn, name string) error {
	conn, err := pgx.Connect(ctx, adminConn)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("devstack: create database %s: %w", name, err)
	}
	return nil
}

// mapperSignIn says how the mapper app's users sign in under this
// configuration.
func mapperSignIn(m config.Mapper) string {
	switch {
	case m.DevLogin && m.LineChannelID != "":
		return "LINE, or the development sign-in"
	case m.DevLogin:
		return "development sign-in: any LINE user id; admins are ADMIN_LINE_USER_IDS"
	case m.LineChannelID != "":
		return "LINE sign-in"
	}
	return "no sign-in configured: set MAPPER_DEV_LOGIN=true, or LINE_CHANNEL_ID and NEXT_PUBLIC_LIFF_ID"
}

// devStripe is s pointed at a local stripe-mock at url: a test key, the
// dev webhook secret and placeholder prices where none are set.
func devStripe(s config.Stripe, url, webhookSecret string) config.Stripe {
	s.SecretKey, s.APIURL, s.WebhookSecret = "sk_test_PortiereDevStripeMock", url, webhookSecret
	s.PricePro = cmp.Or(s.PricePro, "price_dev_pro")
	s.PriceEnterprise = cmp.Or(s.PriceEnterprise, "price_dev_enterprise")
	s.PriceMappedItems = cmp.Or(s.PriceMappedItems, "price_dev_mapped_items")
	return s
}

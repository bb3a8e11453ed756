package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/billing/billingstripe"
	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/crossmap/crossmapstore"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/cache"
	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/ratelimit"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/schemamap"
	"github.com/portiere/portiere/schemamap/schemamapstore"
	"github.com/portiere/portiere/search/elastic"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/session/sessionstore"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/web"
	"github.com/portiere/portiere/workflows"
)

// indexWatchInterval is how often each process checks whether a new dense
// index was saved at FAISS_INDEX_PATH.
const indexWatchInterval = 10 * time.Second

// backends is the composition root of `portiere api`, `portiere worker`
// and `portiere dev`: every client, store and the live search engine,
// built once from the configuration and handed to apiserver and worker as
// the interfaces they declare. Nothing else builds a store or a client.
type backends struct {
	cfg      config.Config
	log      *slog.Logger
	version  string
	pool     *pgxpool.Pool
	temporal client.Client
	redis    *redis.Client         // nil without REDIS_HOST
	es       *elasticsearch.Client // nil without ELASTICSEARCH_URL

	vocabulary *vocabstore.Store
	jobs       *mappingjobstore.Store
	tenants    *tenancystore.Store
	// schemaItems and crossRuns are the SDK's schema mapping items and
	// cross-mapping runs; cdm is the OMOP CDM field list their suggestions
	// and overrides use.
	schemaItems *schemamapstore.Store
	crossRuns   *crossmapstore.Store
	cdm         *schemamap.Model
	workflows   *workflows.Client
	// billing meters usage against plans, and runs Stripe when
	// STRIPE_SECRET_KEY is set.
	billing *billing.Service
	// crowd is Portiere Mapper's voting, ledger and payouts over its
	// store, the mapper profiles and the project items (the API's crowd
	// routes, the mapper web app, the payout activities).
	crowd *crowd.Service
	// connect is Stripe Connect (nil without STRIPE_SECRET_KEY); line
	// pushes LINE messages (nil without LINE_CHANNEL_ACCESS_TOKEN).
	connect *stripeconnect.Client
	line    *line.Pusher
	// search is the live engine the API serves and the worker maps with;
	// it only opens the index the index build workflow saves, with
	// searchCfg (set by startSearch).
	search    *searchindex.Live
	searchCfg searchindex.Config
	// uploads bounds each organization's source uploads in progress in
	// this process, shared by the API and the dashboard beside it.
	uploads *mappingjob.UploadSlots

	close []func()
}

// openBackends builds the clients and stores cfg names on pool and tc
// (opened by the caller, who closes them). Redis and Elasticsearch clients
// do not connect until used; readiness reports whether they answer.
func openBackends(cfg config.Config, pool *pgxpool.Pool, tc client.Client, version string, log *slog.Logger) (*backends, error) {
	b := &backends{
		cfg: cfg, log: log, version: version, pool: pool, temporal: tc,
		vocabulary:  vocabstore.New(pool),
		jobs:        mappingjobstore.New(pool),
		tenants:     tenancystore.New(pool),
		schemaItems: schemamapstore.New(pool),
		crossRuns:   crossmapstore.New(pool),
		workflows:   &workflows.Client{Temporal: tc, ESAlias: workflows.ElasticsearchAlias},
		uploads:     &mappingjob.UploadSlots{},
	}
	cdm, err := schemamap.LoadCDM54()
	if err != nil {
		return nil, err
	}
	b.cdm = cdm
	if b.crowd, err = newCrowd(cfg, pool); err != nil {
		return nil, err
	}
	if cfg.Mapper.LineChannelToken != "" {
		if b.line, err = line.NewPusher(line.PusherOptions{BaseURL: cfg.Mapper.LineAPIURL, Token: cfg.Mapper.LineChannelToken}); err != nil {
			return nil, err
		}
	}
	if cfg.Redis.Configured() {
		// Short timeouts: Redis is optional (cache, shared rate limits), so
		// when it is down a request should lose at most a fraction of a
		// second finding out, not go-redis's 5 s default dial timeout. Nor
		// its default retries: 4 tries of each command, each dialling up to
		// 5 times 100 ms apart, made a search with Redis stopped take 3.7 s
		// (cache get and set); one retry of one dial bounds it
		// (TestRedisStoppedAndRestarted).
		b.redis = redis.NewClient(&redis.Options{
			Addr: cfg.Redis.Addr(), Password: cfg.Redis.Password,
			DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
			MaxRetries: 1, DialerRetries: 1,
		})
		b.close = append(b.close, func() { b.redis.Close() })
	}
	var payments billing.Payments
	if cfg.Stripe.Configured() {
		sc, err := billingstripe.New(billingstripe.Config{
			SecretKey: cfg.Stripe.SecretKey, WebhookSecret: cfg.Stripe.WebhookSecret,
			Prices:       map[string]string{billing.PlanPro: cfg.Stripe.PricePro, billing.PlanEnterprise: cfg.Stripe.PriceEnterprise},
			MeteredPrice: cfg.Stripe.PriceMappedItems, MeterEvent: cfg.Stripe.MeterEvent, URL: cfg.Stripe.APIURL,
		})
		if err != nil {
			b.Close()
			return nil, err
		}
		payments = sc
		if b.connect, err = stripeconnect.New(stripeconnect.Config{SecretKey: cfg.Stripe.SecretKey, URL: cfg.Stripe.APIURL}); err != nil {
			b.Close()
			return nil, err
		}
	}
	b.billing = billing.NewService(billingstore.New(pool), billing.Options{Payments: payments})
	if cfg.Elasticsearch.Configured() {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{cfg.Elasticsearch.URL}})
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("ELASTICSEARCH_URL: %w", err)
		}
		b.es = es
	}
	b.search = &searchindex.Live{}
	b.searchCfg = b.indexConfig()
	return b, nil
}

// Close releases the clients openBackends opened.
func (b *backends) Close() {
	for i := len(b.close) - 1; i >= 0; i-- {
		b.close[i]()
	}
}

// indexConfig is the search index configuration of a deployment.
func (b *backends) indexConfig() searchindex.Config {
	return searchindex.Config{
		EmbeddingModel: b.cfg.Search.EmbeddingModel, ModelPath: b.cfg.Search.EmbeddingModelPath,
		RuntimeLibrary: b.cfg.Tools.ONNXRuntimeLib,
		IndexPath:      b.cfg.Search.FAISSIndexPath, Logger: b.log,
	}
}

// lexical returns the Elasticsearch lexical tier when Elasticsearch is
// configured and its alias populated, else nil (the embedded BM25). API and
// worker both ask here, so they rank with the same tier.
func (b *backends) lexical(ctx context.Context) *elastic.Searcher {
	if b.es == nil {
		return nil
	}
	ec := elastic.New(b.es)
	if n, err := ec.Count(ctx, workflows.ElasticsearchAlias); err != nil || n == 0 {
		b.log.Warn("Elasticsearch alias not populated; using the embedded lexical index (run the es-populate workflow)",
			"alias", workflows.ElasticsearchAlias, "error", err)
		return nil
	}
	return ec.Searcher(workflows.ElasticsearchAlias)
}

// startSearch picks the lexical tier (so API and worker rank with the
// same one) and opens the live engine in the background, keeping it on
// the index the build workflow saves, until ctx is done. Call it before
// building the activities.
func (b *backends) startSearch(ctx context.Context) {
	if l := b.lexical(ctx); l != nil {
		b.searchCfg.Lexical = l
	}
	cfg := b.searchCfg
	go func() {
		if err := b.search.Load(ctx, b.vocabulary.LoadCorpus, cfg); err != nil && ctx.Err() == nil {
			b.log.Warn("search index not loaded yet", "error", err)
		}
		b.search.Watch(ctx, b.vocabulary.LoadCorpus, cfg, indexWatchInterval)
	}()
}

// dependencies are what /health/ready probes.
func (b *backends) dependencies() []apiserver.Dependency {
	deps := []apiserver.Dependency{apiserver.PostgreSQLDependency(b.pool)}
	if b.temporal != nil {
		deps = append(deps, apiserver.TemporalDependency(b.temporal))
	}
	if b.redis != nil {
		deps = append(deps, apiserver.RedisDependency(b.redis))
	}
	if b.es != nil {
		deps = append(deps, apiserver.ElasticsearchDependency(b.es))
	}
	return append(deps, apiserver.SearchIndexDependency(b.search.Check, func() any {
		if info, ok := b.search.Info(); ok {
			return info
		}
		return nil
	}))
}

// api builds the HTTP API on b: each resource gets only its own
// dependencies, and is listed only when they exist.
func (b *backends) api() (*apiserver.Server, error) {
	var c cache.Cache = cache.NewMemory(10_000)
	if b.redis != nil {
		c = cache.NewRedis(b.redis, "portiere:")
	}
	// Redis shares the rate limit between replicas; when it fails each
	// replica limits on its own (readiness names Redis as degraded).
	var limiter ratelimit.Limiter = ratelimit.NewMemory(nil)
	if b.redis != nil {
		limiter = &ratelimit.Fallback{Primary: ratelimit.NewRedis(b.redis, "portiere:ratelimit:"), Secondary: limiter, Logger: b.log}
	}
	resources := []apiserver.Resource{
		&apiserver.ConceptSearch{Search: b.search, Cache: c, Metering: b.billing},
		&apiserver.ConceptDetail{Concepts: b.vocabulary, Cache: c},
		&apiserver.ProjectCatalog{Projects: b.tenants, Metering: b.billing},
		&apiserver.Sources{Projects: b.tenants, Sources: b.jobs, MaxBytes: b.cfg.HTTP.UploadMaxBytes, Slots: b.uploads},
		&apiserver.ConceptMapping{Search: b.search, Memory: b.jobs, MaxCodes: b.cfg.Mapping.SyncMaxCodes, Metering: b.billing},
		&apiserver.ConceptItems{Projects: b.tenants, Items: b.jobs},
		&apiserver.Review{Projects: b.tenants, Items: b.jobs, Concepts: b.vocabulary},
		&apiserver.Exports{Projects: b.tenants, Items: b.jobs},
		&apiserver.SchemaSuggest{CDM: b.cdm},
		&apiserver.SchemaMappings{Projects: b.tenants, Items: b.schemaItems, CDM: b.cdm},
		&apiserver.CrossMappings{Projects: b.tenants, Runs: b.crossRuns},
		&apiserver.Crowd{Projects: b.tenants, Crowd: b.crowd},
	}
	if b.temporal != nil {
		alias := ""
		if b.es != nil {
			alias = workflows.ElasticsearchAlias
		}
		resources = append(resources,
			&apiserver.WorkflowRuns{Workflows: b.workflows, ElasticsearchAlias: alias, Projects: b.tenants},
			&apiserver.Projects{Projects: b.tenants, Workflows: b.workflows, Sources: b.jobs})
	}
	// Every route under /api/v1 but POST /auth/token needs credentials, so
	// the API cannot run without its one authenticator.
	a, hasher, err := b.authenticator()
	if err != nil {
		return nil, err
	}
	resources = append(resources,
		&apiserver.AuthTokens{Exchanger: a},
		&apiserver.APIKeys{Keys: b.tenants, Hasher: hasher},
		&apiserver.Billing{Billing: b.billing, Payments: b.cfg.Stripe.Configured(), DefaultRateLimit: b.cfg.HTTP.RateLimitPerMinute})
	return apiserver.New(apiserver.Config{
		Version: b.version, CORSOrigins: b.cfg.HTTP.CORSOrigins, Logger: b.log,
		Dependencies: b.dependencies(),
		Auth:         a,
		RateLimit:    &apiserver.RateLimit{Limiter: limiter, Default: b.cfg.HTTP.RateLimitPerMinute, Plans: b.billing},
		Resources:    resources,
	})
}

// authenticator resolves API keys, access tokens and the operator token
// through tenancystore; its background last-used writes end with b. The
// production modes refuse to start without JWT_SECRET and API_KEY_SALT
// (config) and portiere dev generates them, so a missing one here is a
// configuration error named by its variable.
func (b *backends) authenticator() (*credential.Authenticator, *credential.KeyHasher, error) {
	for _, v := range []struct{ name, value string }{{"JWT_SECRET", b.cfg.Auth.JWTSecret}, {"API_KEY_SALT", b.cfg.Auth.APIKeySalt}} {
		if v.value == "" {
			return nil, nil, fmt.Errorf("%s is not set: the API authenticates every request with it (set it to a random string of at least %d characters)", v.name, config.MinSecretLength)
		}
	}
	hasher, err := credential.NewKeyHasher(b.cfg.Auth.APIKeySalt)
	if err != nil {
		return nil, nil, fmt.Errorf("API_KEY_SALT: %w", err)
	}
	keys := b.tenants.Keys()
	tokens, err := credential.NewTokenService(b.cfg.Auth.JWTSecret, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("JWT_SECRET: %w", err)
	}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{
		Keys: keys, Hasher: hasher, Tokens: tokens, OperatorToken: b.cfg.Auth.AdminToken, Logger: b.log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ADMIN_TOKEN: %w", err)
	}
	b.close = append(b.close, a.Close)
	return a, hasher, nil
}

// activities builds the worker's activities on b.
func (b *backends) activities() *activities.Activities {
	a := &activities.Activities{
		Vocabulary:    b.vocabulary,
		Jobs:          b.jobs,
		Index:         b.searchCfg,
		Search:        b.search,
		EngineVersion: b.version,
		Logger:        b.log,
		Billing:       b.billing,
		Metering:      b.billing,
		// Payouts: the crowd's ledger always; Stripe Connect transfers
		// when STRIPE_SECRET_KEY is set (without it PayoutWorkflow fails
		// saying so); LINE notifications when the Messaging API token is.
		Crowd:          b.crowd,
		PayoutMinCents: b.cfg.Mapper.PayoutMinCents,
	}
	if b.connect != nil {
		a.Transfers = b.connect
	}
	if b.line != nil {
		a.Notifier = b.line
	}
	if b.es != nil {
		a.Elasticsearch = elastic.New(b.es)
	}
	return a
}

// passwordSlots bounds concurrent argon2id hashes in a web process: each
// takes 64 MiB (credential.DefaultPasswordParams).
const passwordSlots = 4

// webStores are what a web app reads and writes, built on one pool.
type webStores struct {
	tenants    *tenancystore.Store
	vocabulary *vocabstore.Store
	sessions   *sessionstore.Store
	// billing holds projects and members to the plan and fills the
	// billing page; payments says it runs Stripe (only beside the API).
	billing  *billing.Service
	payments bool
	// jobs are the mapping items the review queue and exports read.
	jobs *mappingjobstore.Store
	// search answers the review queue's override search; nil where the
	// process does not hold the engine (`portiere web`).
	search web.SearchProvider
	// mapping starts and follows bulk mappings; nil without Temporal (the
	// pages then say bulk mapping needs the worker).
	mapping web.BulkMapping
	// indexBuilds starts and follows the search index build from the
	// vocabulary page; nil without Temporal (no build button).
	indexBuilds web.IndexBuilder
	// uploads bounds each organization's uploads in progress; nil gives
	// the dashboard its own (`portiere web`).
	uploads *mappingjob.UploadSlots
}

func newWebStores(pool *pgxpool.Pool) webStores {
	return webStores{tenants: tenancystore.New(pool), vocabulary: vocabstore.New(pool), sessions: sessionstore.New(pool),
		billing: billing.NewService(billingstore.New(pool), billing.Options{}), jobs: mappingjobstore.New(pool)}
}

// webApp builds web app app (`portiere web --app`, and the dashboard of
// `portiere dev`) on st. index reports the search index's state; nil when
// the process does not hold the engine.
func webApp(app string, cfg config.Config, st webStores, index func(context.Context) web.IndexState, log *slog.Logger) (*web.Server, error) {
	hasher, err := credential.NewKeyHasher(cfg.Auth.APIKeySalt)
	if err != nil {
		return nil, fmt.Errorf("API_KEY_SALT: %w", err)
	}
	return web.New(web.Config{
		App: app, Tenants: st.tenants, Sessions: st.sessions, Vocabulary: st.vocabulary, Quota: st.billing,
		Review: st.jobs, Concepts: st.vocabulary, Search: st.search, Billing: st.billing, Payments: st.payments,
		Sources: st.jobs, Items: st.jobs, Mapping: st.mapping, IndexBuilds: st.indexBuilds, UploadMaxBytes: cfg.HTTP.UploadMaxBytes,
		UploadSlots: st.uploads, Passwords: credential.NewPasswordGate(passwordSlots), Keys: hasher, Index: index,
		APIURL: cfg.Web.APIURL, SessionTTL: cfg.Web.SessionTTL, CookieSecure: cfg.Web.CookieSecure, Logger: log,
	})
}

// web builds the dashboard `portiere dev` serves beside the API: it shares
// the API's stores and shows the search index the process serves.
func (b *backends) web() (*web.Server, error) {
	st := webStores{tenants: b.tenants, vocabulary: b.vocabulary, sessions: sessionstore.New(b.pool),
		billing: b.billing, payments: b.cfg.Stripe.Configured(), jobs: b.jobs, search: b.search, uploads: b.uploads}
	if b.temporal != nil {
		st.mapping, st.indexBuilds = b.workflows, b.workflows
	}
	cfg := b.cfg
	if !cfg.IsSet("NEXT_PUBLIC_API_URL") {
		// The API is beside it on this machine: show its real port.
		cfg.Web.APIURL = "http://localhost:" + strconv.Itoa(cfg.HTTP.Port)
	}
	return webApp(web.AppCloud, cfg, st, func(ctx context.Context) web.IndexState {
		info, ok := b.search.Info()
		return web.IndexStateOf(info, ok, b.search.Check(ctx))
	}, b.log)
}

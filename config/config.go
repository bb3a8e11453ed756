// Package config reads Portiere's settings from the environment once, at
// start-up, into a Config value that is passed down explicitly.
//
// Every variable has the default documented in the README's environment
// reference. Which variables are required depends on the Mode the binary runs
// in: the production services (api, worker, migrate) refuse to start without
// their secrets, while dev mode generates and persists its own.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mode is the role the portiere binary plays; it decides which variables are
// required.
type Mode string

// The modes the binary runs in.
const (
	ModeAPI     Mode = "api"
	ModeWorker  Mode = "worker"
	ModeMigrate Mode = "migrate"
	ModeDev     Mode = "dev"
	ModeWeb     Mode = "web" // the web apps (portiere web --app=cloud|mapper)
	ModeCLI     Mode = "cli" // local tools that need no services (portiere map, version)
)

// Config is every setting of the API service and worker.
type Config struct {
	DB            Database
	Redis         Redis
	Elasticsearch Elasticsearch
	Temporal      Temporal
	Auth          Auth
	Search        Search
	HTTP          HTTP
	Mapping       Mapping
	Stripe        Stripe
	Web           Web
	Mapper        Mapper
	Tools         Tools
	LogLevel      slog.Level

	// set records which variables the environment gave a non-empty value,
	// so callers can tell a default from an explicit choice without
	// reading the environment themselves.
	set map[string]bool
}

// IsSet reports whether the environment gave the variable name a
// non-empty value when c was loaded.
func (c Config) IsSet(name string) bool { return c.set[name] }

// Web configures the web apps (portiere web, and the dashboard portiere
// dev serves beside the API).
type Web struct {
	// Port is WEB_PORT: where portiere dev serves the dashboard (portiere
	// web takes --port).
	Port int
	// APIURL is NEXT_PUBLIC_API_URL: the API's address as browsers and
	// SDK users reach it, shown in pages (docs links, curl examples).
	APIURL string
	// SessionTTL is SESSION_TTL: how long a sign-in lasts.
	SessionTTL time.Duration
	// CookieSecure is SESSION_COOKIE_SECURE: session cookies carry the
	// Secure attribute (sent over HTTPS only). True unless set false; dev
	// mode defaults to false, as it serves plain HTTP on localhost.
	CookieSecure bool
}

// Tools locates the helper binaries and libraries of the local tooling.
type Tools struct {
	// TemporalCLI is PORTIERE_TEMPORAL_CLI: the temporal binary `portiere
	// dev` runs; empty means look in ./bin, beside the executable, then PATH.
	TemporalCLI string
	// ONNXRuntimeLib is ONNXRUNTIME_LIB: the ONNX Runtime shared library
	// for EMBEDDING_MODEL=onnx; empty means look in ./lib and beside the
	// executable.
	ONNXRuntimeLib string
}

// Database locates PostgreSQL. An empty Host means "not configured": dev mode
// then runs a private cluster.
type Database struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password string
}

// ConnString is the libpq keyword/value connection string for d.
func (d Database) ConnString() string {
	kv := func(k, v string) string {
		return k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.Join([]string{
		kv("host", d.Host), kv("port", strconv.Itoa(d.Port)), kv("dbname", d.Name),
		kv("user", d.User), kv("password", d.Password), kv("sslmode", "prefer"),
	}, " ")
}

// Redis locates the shared cache and rate limiter. An empty Host selects the
// in-process cache and limiter.
type Redis struct {
	Host     string
	Port     int
	Password string
}

// Configured reports whether a Redis server was named.
func (r Redis) Configured() bool { return r.Host != "" }

// Addr is host:port.
func (r Redis) Addr() string { return r.Host + ":" + strconv.Itoa(r.Port) }

// Elasticsearch locates the BM25 tier at scale. An empty URL selects the
// in-process lexical index.
type Elasticsearch struct {
	URL string
}

// Configured reports whether an Elasticsearch URL was named.
func (e Elasticsearch) Configured() bool { return e.URL != "" }

// Temporal locates the Temporal frontend.
type Temporal struct {
	Address   string
	Namespace string
}

// Auth holds the secrets for tokens and API keys.
type Auth struct {
	JWTSecret  string
	APIKeySalt string
	// AdminToken is the operator's bearer token, checked by the API's one
	// authenticator (credential) beside API keys and access tokens; empty
	// means no operator token is accepted.
	AdminToken string
}

// Search configures the dense retrieval tier.
type Search struct {
	EmbeddingModel     string
	EmbeddingModelPath string // model.onnx + vocab.txt, for EMBEDDING_MODEL=onnx
	FAISSIndexPath     string
}

// HTTP configures the API listener.
type HTTP struct {
	Port               int
	CORSOrigins        []string
	RateLimitPerMinute int
	// UploadMaxBytes is UPLOAD_MAX_BYTES: the largest source CSV
	// POST /projects/{id}/sources accepts (larger is 413). Uploads are
	// streamed, so this bounds the parse, not the API's memory.
	UploadMaxBytes int64
}

// Mapping bounds the synchronous mapping route.
type Mapping struct {
	// SyncMaxCodes is MAP_SYNC_MAX_CODES: the most codes one POST
	// /concepts/map maps synchronously; more are refused (413) in favour
	// of a project's bulk mapping.
	SyncMaxCodes int
}

// Stripe configures billing. An empty SecretKey means no payments: plans,
// quotas and metering still apply, checkout, portal and webhook routes are
// absent and usage is not reported.
type Stripe struct {
	SecretKey     string // STRIPE_SECRET_KEY
	WebhookSecret string // STRIPE_WEBHOOK_SECRET
	// PricePro and PriceEnterprise are the plans' flat recurring prices;
	// PriceMappedItems the metered price mapped items are reported to.
	PricePro         string
	PriceEnterprise  string
	PriceMappedItems string
	// MeterEvent is the event name of the Billing Meter behind
	// PriceMappedItems, which usage reports are sent to.
	MeterEvent string
	// APIURL replaces https://api.stripe.com (stripe-mock); empty means
	// Stripe's.
	APIURL string
}

// Configured reports whether a Stripe secret key was given.
func (s Stripe) Configured() bool { return s.SecretKey != "" }

// Defaults. They match the environment reference in the README.
const (
	DefaultDBHost             = "localhost"
	DefaultDBPort             = 5432
	DefaultDBName             = "portiere"
	DefaultDBUser             = "portiere"
	DefaultRedisPort          = 6379
	DefaultEmbeddingModel     = "hash"
	DefaultFAISSIndexPath     = ".portiere/index/faiss.index"
	DefaultEmbeddingModelPath = ".portiere/models/sapbert"
	DefaultCORSOrigins        = "http://localhost:3000,http://localhost:3001"
	DefaultRateLimitPerMinute = 60
	DefaultUploadMaxBytes     = 20 << 20 // sourcefile's default: about 200,000 rows of source codes
	DefaultLogLevel           = "INFO"
	DefaultTemporalAddress    = "localhost:7233"
	DefaultTemporalNamespace  = "default"
	DefaultAPIPort            = 8000
	DefaultMapSyncMaxCodes    = 1000
	DefaultStripeMeterEvent   = "portiere_mapped_items"
	DefaultWebPort            = 3000
	DefaultAPIURL             = "http://localhost:8000"
	DefaultSessionTTL         = 12 * time.Hour

	// MinSecretLength is the shortest JWT_SECRET / API_KEY_SALT accepted:
	// HS256 wants at least 256 bits of key.
	MinSecretLength = 32
)

// Variables lists every environment variable Load reads, in the order the
// README documents them.
var Variables = []string{
	"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD",
	"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "ELASTICSEARCH_URL",
	"JWT_SECRET", "API_KEY_SALT", "ADMIN_TOKEN", "EMBEDDING_MODEL", "EMBEDDING_MODEL_PATH", "FAISS_INDEX_PATH",
	"CORS_ORIGINS", "RATE_LIMIT_PER_MINUTE", "UPLOAD_MAX_BYTES", "LOG_LEVEL",
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "API_PORT",
	"PORTIERE_TEMPORAL_CLI", "ONNXRUNTIME_LIB", "MAP_SYNC_MAX_CODES",
	"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_PRO", "STRIPE_PRICE_ENTERPRISE",
	"STRIPE_PRICE_MAPPED_ITEMS", "STRIPE_METER_EVENT", "STRIPE_API_URL",
	"WEB_PORT", "NEXT_PUBLIC_API_URL", "SESSION_TTL", "SESSION_COOKIE_SECURE",
	"MAPPER_PORT", "LINE_CHANNEL_ID", "NEXT_PUBLIC_LIFF_ID", "LINE_API_BASE_URL",
	"ADMIN_LINE_USER_IDS", "MAPPER_KYC_KEYS", "MAPPER_KYC_MAX_BYTES", "MAPPER_DEV_LOGIN",
	"LINE_CHANNEL_ACCESS_TOKEN", "MAPPER_PAYOUT_MIN_CENTS", "MAPPER_CONSENSUS_MIN_VOTES",
}

// required names the variables each mode cannot start without.
var required = map[Mode][]string{
	ModeAPI:     {"DB_PASSWORD", "JWT_SECRET", "API_KEY_SALT"},
	ModeWorker:  {"DB_PASSWORD"},
	ModeMigrate: {"DB_PASSWORD"},
	// The dashboard issues API keys, so it needs their salt.
	ModeWeb: {"DB_PASSWORD", "API_KEY_SALT"},
}

// Error reports every problem found in the environment at once, so an
// operator fixes them in one round.
type Error struct {
	Missing []string // required variables that are unset or empty
	Invalid []string // "NAME: reason" for variables with unusable values
}

func (e *Error) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing required environment variables: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Invalid) > 0 {
		parts = append(parts, "invalid environment variables: "+strings.Join(e.Invalid, "; "))
	}
	return "config: " + strings.Join(parts, "; ")
}

// LoadEnv is Load with the process environment: the one place Portiere
// reads it.
func LoadEnv(mode Mode) (Config, error) { return Load(mode, os.Getenv) }

// Load reads the configuration for mode from getenv (os.Getenv in
// production; a map in tests). It returns *Error listing every missing and
// invalid variable.
//
// In ModeDev, DB_HOST stays empty unless set (the caller then runs a private
// cluster) and unset secrets stay empty for the caller to generate.
func Load(mode Mode, getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	var c Config

	dbHostDefault := DefaultDBHost
	if mode == ModeDev {
		dbHostDefault = ""
	}
	c.DB = Database{
		Host:     p.str("DB_HOST", dbHostDefault),
		Port:     p.port("DB_PORT", DefaultDBPort),
		Name:     p.str("DB_NAME", DefaultDBName),
		User:     p.str("DB_USER", DefaultDBUser),
		Password: p.str("DB_PASSWORD", ""),
	}
	c.Redis = Redis{
		Host:     p.str("REDIS_HOST", ""),
		Port:     p.port("REDIS_PORT", DefaultRedisPort),
		Password: p.str("REDIS_PASSWORD", ""),
	}
	c.Elasticsearch = Elasticsearch{URL: p.httpURL("ELASTICSEARCH_URL")}
	c.Temporal = Temporal{
		Address:   p.hostPort("TEMPORAL_ADDRESS", DefaultTemporalAddress),
		Namespace: p.str("TEMPORAL_NAMESPACE", DefaultTemporalNamespace),
	}
	c.Auth = Auth{
		JWTSecret:  p.secret("JWT_SECRET"),
		APIKeySalt: p.secret("API_KEY_SALT"),
		AdminToken: p.secret("ADMIN_TOKEN"),
	}
	c.Search = Search{
		EmbeddingModel:     p.oneOf("EMBEDDING_MODEL", DefaultEmbeddingModel, "hash", "onnx"),
		EmbeddingModelPath: p.str("EMBEDDING_MODEL_PATH", DefaultEmbeddingModelPath),
		FAISSIndexPath:     p.str("FAISS_INDEX_PATH", DefaultFAISSIndexPath),
	}
	c.HTTP = HTTP{
		Port:               p.port("API_PORT", DefaultAPIPort),
		CORSOrigins:        p.origins("CORS_ORIGINS", DefaultCORSOrigins),
		RateLimitPerMinute: p.positiveInt("RATE_LIMIT_PER_MINUTE", DefaultRateLimitPerMinute),
		UploadMaxBytes:     int64(p.positiveInt("UPLOAD_MAX_BYTES", DefaultUploadMaxBytes)),
	}
	c.Mapping = Mapping{SyncMaxCodes: p.positiveInt("MAP_SYNC_MAX_CODES", DefaultMapSyncMaxCodes)}
	c.Stripe = Stripe{
		SecretKey:        p.str("STRIPE_SECRET_KEY", ""),
		WebhookSecret:    p.str("STRIPE_WEBHOOK_SECRET", ""),
		PricePro:         p.str("STRIPE_PRICE_PRO", ""),
		PriceEnterprise:  p.str("STRIPE_PRICE_ENTERPRISE", ""),
		PriceMappedItems: p.str("STRIPE_PRICE_MAPPED_ITEMS", ""),
		MeterEvent:       p.str("STRIPE_METER_EVENT", DefaultStripeMeterEvent),
		APIURL:           p.httpURL("STRIPE_API_URL"),
	}
	if c.Stripe.SecretKey != "" && c.Stripe.WebhookSecret == "" {
		p.fail("STRIPE_WEBHOOK_SECRET", "is required when STRIPE_SECRET_KEY is set (webhooks are how plans change)")
	}
	c.Web = Web{
		Port:         p.port("WEB_PORT", DefaultWebPort),
		APIURL:       p.httpURL("NEXT_PUBLIC_API_URL"),
		SessionTTL:   p.duration("SESSION_TTL", DefaultSessionTTL),
		CookieSecure: p.boolean("SESSION_COOKIE_SECURE", mode != ModeDev),
	}
	if c.Web.APIURL == "" {
		c.Web.APIURL = DefaultAPIURL
	}
	c.Mapper = p.loadMapper(mode)
	c.Tools = Tools{
		TemporalCLI:    p.str("PORTIERE_TEMPORAL_CLI", ""),
		ONNXRuntimeLib: p.str("ONNXRUNTIME_LIB", ""),
	}
	c.LogLevel = p.logLevel("LOG_LEVEL", DefaultLogLevel)
	c.set = map[string]bool{}
	for _, name := range Variables {
		if strings.TrimSpace(getenv(name)) != "" {
			c.set[name] = true
		}
	}

	// A dev run that points at a real database must bring its password.
	req := required[mode]
	if mode == ModeDev && c.DB.Host != "" {
		req = []string{"DB_PASSWORD"}
	}
	for _, name := range req {
		if strings.TrimSpace(getenv(name)) == "" {
			p.missing = append(p.missing, name)
		}
	}

	if len(p.missing) > 0 || len(p.invalid) > 0 {
		sort.Strings(p.invalid)
		return Config{}, &Error{Missing: p.missing, Invalid: p.invalid}
	}
	return c, nil
}

// parser accumulates errors so Load can report all of them together.
type parser struct {
	getenv  func(string) string
	missing []string
	invalid []string
}

func (p *parser) fail(name, format string, args ...any) {
	p.invalid = append(p.invalid, name+": "+fmt.Sprintf(format, args...))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) port(name string, def int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		p.fail(name, "%q is not a port number (1-65535)", v)
		return def
	}
	return n
}

func (p *parser) positiveInt(name string, def int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.fail(name, "%q is not a positive integer", v)
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		p.fail(name, "%q is not a duration of at least a minute (e.g. 12h, 30m)", v)
		return def
	}
	return d
}

func (p *parser) boolean(name string, def bool) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, "%q is not true or false", v)
		return def
	}
	return b
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(strings.TrimSpace(p.getenv(name)))
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

func (p *parser) secret(name string) string {
	v := p.getenv(name)
	if v != "" && len(v) < MinSecretLength {
		p.fail(name, "must be at least %d characters, got %d", MinSecretLength, len(v))
	}
	return v
}

func (p *parser) httpURL(name string) string {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, "%q is not an http(s) URL", v)
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (p *parser) hostPort(name, def string) string {
	v := p.str(name, def)
	i := strings.LastIndex(v, ":")
	if i <= 0 {
		p.fail(name, "%q is not host:port", v)
		return def
	}
	if n, err := strconv.Atoi(v[i+1:]); err != nil || n < 1 || n > 65535 {
		p.fail(name, "%q has no valid port", v)
		return def
	}
	return v
}

func (p *parser) origins(name, def string) []string {
	var out []string
	for _, o := range strings.Split(p.str(name, def), ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
				p.fail(name, "%q is not an origin like https://app.example.org", o)
				continue
			}
		}
		out = append(out, o)
	}
	return out
}

func (p *parser) logLevel(name, def string) slog.Level {
	v := strings.ToUpper(p.str(name, def))
	switch v {
	case "DEBUG":
		return slog.LevelDebug
	case "INFO":
		return slog.LevelInfo
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR", "CRITICAL":
		return slog.LevelError
	}
	p.fail(name, "%q is not one of DEBUG, INFO, WARNING, ERROR", p.getenv(name))
	return slog.LevelInfo
}

// ShutdownTimeout bounds how long a service drains in-flight work on SIGTERM.
const ShutdownTimeout = 20 * time.Second

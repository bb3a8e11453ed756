package check

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/portiere/portiere/config"
)

// seedPorts are the host ports of the seed's development stack (deployment
// guide, "Services"), with temporal-ui in place of the Celery services.
var seedPorts = map[string]string{
	"api": "8000", "postgres": "5432", "redis": "6379", "elasticsearch": "9200",
	"cloud": "3000", "mapper": "3001", "temporal-ui": "8233",
}

// seedIndexPath is the seed's FAISS index location (initJob.faissIndexPath);
// the image, the compose files and the chart keep it.
const seedIndexPath = "/data/faiss/index"

// prodEnv stands in for the operator's .env: every variable the production
// file insists on, with values config accepts.
var prodEnv = map[string]string{
	"DB_PASSWORD":    "a-database-password",
	"REDIS_PASSWORD": "a-redis-password",
	"JWT_SECRET":     strings.Repeat("j", config.MinSecretLength),
	"API_KEY_SALT":   strings.Repeat("s", config.MinSecretLength),
	"ADMIN_TOKEN":    strings.Repeat("a", config.MinSecretLength),
	"CORS_ORIGINS":   "https://cloud.example.org",
	// The API address the dashboard's pages show: localhost, the default,
	// would be wrong for every visitor.
	"NEXT_PUBLIC_API_URL": "https://api.example.org",
	// The mapper app's KYC key (config.MapperRequiredVariables).
	"MAPPER_KYC_KEYS": testKYCKeys,
}

// testKYCKeys is a MAPPER_KYC_KEYS value config accepts (one 32-byte key).
var testKYCKeys = "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// loadCompose loads file as `docker compose` would with env as the
// environment (.env) and the given profiles enabled.
func loadCompose(t *testing.T, file string, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	env = maps.Clone(env) // the loader adds COMPOSE_PROJECT_NAME to it
	abs, err := filepath.Abs(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("portiere", true)
		o.Profiles = profiles
	})
	if err != nil {
		t.Fatalf("%s does not load: %v", file, err)
	}
	return p
}

// portiereRole is the subcommand a service of the Portiere image runs, or ""
// for other images. The init service runs `portiere init` through a shell
// (to check the index afterwards), so its command is read as a shell line.
func portiereRole(s types.ServiceConfig) string {
	if !strings.HasPrefix(s.Image, "portiere") && !strings.Contains(s.Image, "/portiere") && !strings.HasPrefix(s.Image, "${") {
		return ""
	}
	if len(s.Entrypoint) >= 2 && s.Entrypoint[len(s.Entrypoint)-1] == "-c" && len(s.Command) == 1 {
		return shellRole(s.Command[0])
	}
	if len(s.Command) == 0 {
		return "api" // the image's CMD
	}
	return s.Command[0]
}

// modeOf maps a subcommand to the config.Mode it loads its settings in
// (cmd/portiere: init, like the other client commands, loads ModeCLI).
var modeOf = map[string]config.Mode{
	"api": config.ModeAPI, "worker": config.ModeWorker, "migrate": config.ModeMigrate,
	"init": config.ModeCLI, "web": config.ModeWeb,
	"vocab": config.ModeMigrate, // `portiere vocab import` with DB_HOST set
}

func env(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// checkDefaultServices: a plain `up` starts both web apps, the cloud
// dashboard and the mapper; no service hides behind a profile.
func checkDefaultServices(t *testing.T, file string, env map[string]string) {
	t.Helper()
	def := loadCompose(t, file, env)
	for svc, app := range map[string]string{"cloud": "cloud", "mapper": "mapper"} {
		s, ok := def.Services[svc]
		if !ok || portiereRole(s) != "web" || webApp(s.Command) != app {
			t.Errorf("%s: a plain `up` must start %s (portiere web --app=%s)", file, svc, app)
		}
	}
	for name, s := range def.Services {
		if len(s.Profiles) > 0 {
			t.Errorf("%s: %s sits behind profiles %v; a plain `up` must start it", file, name, s.Profiles)
		}
	}
}

// webApp is the --app of a `portiere web` command line, or the binary's
// default (cloud).
func webApp(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--app="); ok {
			return v
		}
		if a == "--app" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return "cloud"
}

func TestComposeDevelopment(t *testing.T) {
	checkDefaultServices(t, "docker-compose.yaml", map[string]string{})
	p := loadCompose(t, "docker-compose.yaml", map[string]string{})
	checkPortiereServices(t, p)
	checkStartOrder(t, p)
	for name, port := range seedPorts {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("docker-compose.yaml has no %s service (the seed's port %s)", name, port)
			continue
		}
		if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return pc.Published == port }) {
			t.Errorf("%s publishes %v, want host port %s as in the seed", name, s.Ports, port)
		}
	}
	es := env(p.Services["elasticsearch"])
	for k, v := range map[string]string{"discovery.type": "single-node", "xpack.security.enabled": "false"} {
		if es[k] != v {
			t.Errorf("elasticsearch: %s=%q, want %q", k, es[k], v)
		}
	}
	if !strings.Contains(es["ES_JAVA_OPTS"], "-Xmx") {
		t.Errorf("elasticsearch: ES_JAVA_OPTS %q sets no heap", es["ES_JAVA_OPTS"])
	}
	if !strings.HasPrefix(p.Services["elasticsearch"].Image, "docker.elastic.co/elasticsearch/elasticsearch:") {
		t.Errorf("elasticsearch runs %s, not the official image", p.Services["elasticsearch"].Image)
	}
	for _, name := range []string{"temporal", "temporal-ui", "worker", "init", "migrate"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("docker-compose.yaml has no %s service", name)
		}
	}
	for _, gone := range []string{"celery-worker", "celery-beat"} {
		if _, ok := p.Services[gone]; ok {
			t.Errorf("%s is replaced by Temporal; remove it", gone)
		}
	}
}

func TestComposeProduction(t *testing.T) {
	checkDefaultServices(t, "docker-compose.prod.yaml", prodEnv)
	p := loadCompose(t, "docker-compose.prod.yaml", prodEnv)
	checkPortiereServices(t, p)
	checkStartOrder(t, p)
	for name, s := range p.Services {
		oneShot := s.Restart == "no"
		if !oneShot && s.Restart != "unless-stopped" && s.Restart != "always" {
			t.Errorf("%s: restart %q; long-running services must restart", name, s.Restart)
		}
		if s.Logging == nil || s.Logging.Options["max-size"] == "" {
			t.Errorf("%s: logs are not rotated (logging.options.max-size)", name)
		}
		if s.Deploy == nil || s.Deploy.Resources.Limits == nil || s.Deploy.Resources.Limits.MemoryBytes == 0 {
			t.Errorf("%s: no memory limit (deploy.resources.limits.memory)", name)
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				t.Errorf("%s: bind mount %s; production uses named volumes", name, v.Source)
			} else if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("%s: volume %s is not declared", name, v.Source)
			}
		}
		for _, pc := range s.Ports {
			if pc.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on %q; production publishes on 127.0.0.1 behind nginx", name, pc.Published, pc.HostIP)
			}
		}
	}
	// The production file must refuse to start without each secret, the
	// mapper's required ones (never defaulted) included.
	for _, k := range config.MapperRequiredVariables() {
		if _, ok := prodEnv[k]; !ok {
			t.Errorf("the mapper requires %s: docker-compose.prod.yaml must take it from .env (add it to prodEnv)", k)
		}
	}
	for k := range prodEnv {
		short := map[string]string{}
		for kk, vv := range prodEnv {
			if kk != k {
				short[kk] = vv
			}
		}
		abs, _ := filepath.Abs(filepath.Join(repoRoot, "docker-compose.prod.yaml"))
		_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir: filepath.Dir(abs), ConfigFiles: []types.ConfigFile{{Filename: abs}}, Environment: short,
		}, func(o *loader.Options) { o.SetProjectName("portiere", true) })
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("docker-compose.prod.yaml loads without %s (err %v); it must insist on it", k, err)
		}
	}
}

// checkPortiereServices holds every service of the Portiere image to what
// the binary reads: its environment loads with config.Load for the role,
// names only variables config reads, sets each one the role requires and
// each whose default (localhost) is wrong inside a container; the addresses
// name services of the file; the index and model paths are mounted, the
// index read-only everywhere but the worker.
func checkPortiereServices(t *testing.T, p *types.Project) {
	t.Helper()
	defaults, err := config.Load(config.ModeCLI, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	// Inside a container "localhost" is the container itself.
	var containerRequired []string
	if defaults.DB.Host == "localhost" {
		containerRequired = append(containerRequired, "DB_HOST")
	}
	if strings.HasPrefix(defaults.Temporal.Address, "localhost:") {
		containerRequired = append(containerRequired, "TEMPORAL_ADDRESS")
	}
	if len(containerRequired) != 2 {
		t.Fatalf("config's defaults changed (%q, %q): revisit what a container must set", defaults.DB.Host, defaults.Temporal.Address)
	}
	roles := map[string]int{}
	for name, s := range p.Services {
		role := portiereRole(s)
		if role == "" {
			continue
		}
		roles[role]++
		mode, ok := modeOf[role]
		if !ok {
			t.Errorf("%s runs `portiere %s`, which is not a service role", name, role)
			continue
		}
		e := env(s)
		for k := range e {
			if !slices.Contains(config.Variables, k) {
				t.Errorf("%s sets %s, which config does not read", name, k)
			}
		}
		need := append(config.RequiredVariables(mode), "DB_HOST")
		if usesBackends(role) {
			need = append(need, containerRequired...)
			if _, ok := p.Services["elasticsearch"]; ok {
				need = append(need, "ELASTICSEARCH_URL") // else the in-process index is used and init skips the population
			}
			if _, ok := p.Services["redis"]; ok {
				need = append(need, "REDIS_HOST")
			}
		}
		if role == "web" {
			// The dashboard starts and follows bulk mappings (web/progress.go);
			// the mapper's admins start payout batches.
			need = append(need, "TEMPORAL_ADDRESS")
			if webApp(s.Command) == "mapper" {
				need = append(need, config.MapperRequiredVariables()...)
			}
		}
		for _, k := range need {
			if e[k] == "" {
				t.Errorf("%s (portiere %s) does not set %s", name, role, k)
			}
		}
		cfg, err := config.Load(mode, func(k string) string { return e[k] })
		if err != nil {
			t.Errorf("%s: the binary would refuse this environment: %v", name, err)
			continue
		}
		for what, addr := range map[string]string{
			"DB_HOST": cfg.DB.Host, "REDIS_HOST": cfg.Redis.Host,
			"TEMPORAL_ADDRESS": hostOf(cfg.Temporal.Address), "ELASTICSEARCH_URL": urlHost(cfg.Elasticsearch.URL),
		} {
			if addr == "" || e[what] == "" {
				continue // unset: a role that does not use it (the required ones are checked above)
			}
			if _, ok := p.Services[addr]; !ok {
				t.Errorf("%s: %s points at %q, which is no service of this file", name, what, addr)
			}
		}
		if role == "api" {
			if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return pc.Target == uint32(cfg.HTTP.Port) }) {
				t.Errorf("%s listens on API_PORT %d but publishes %v", name, cfg.HTTP.Port, s.Ports)
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), fmt.Sprintf(":%d/health/live", cfg.HTTP.Port)) {
				t.Errorf("%s: healthcheck %v does not probe /health/live on API_PORT", name, s.HealthCheck)
			}
		}
		if role == "web" {
			port := webPort(t, name, s.Command)
			if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return pc.Target == uint32(port) }) {
				t.Errorf("%s listens on --port=%d but publishes %v", name, port, s.Ports)
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), fmt.Sprintf(":%d%s", port, webHealthPath)) {
				t.Errorf("%s: healthcheck %v does not probe %s on --port", name, s.HealthCheck, webHealthPath)
			}
		}
		if cfg.Search.FAISSIndexPath != seedIndexPath {
			t.Errorf("%s: FAISS_INDEX_PATH %s, the seed's is %s", name, cfg.Search.FAISSIndexPath, seedIndexPath)
		}
		indexDir := path.Dir(cfg.Search.FAISSIndexPath)
		m, mounted := mountOf(s, indexDir)
		switch role {
		case "worker":
			// The worker runs the index build: it writes the index.
			if !mounted || m.ReadOnly {
				t.Errorf("%s: the index directory %s must be mounted read-write (mounted=%v)", name, indexDir, mounted)
			}
		case "api", "init":
			if !mounted || !m.ReadOnly {
				t.Errorf("%s: the index directory %s must be mounted read-only (mounted=%v)", name, indexDir, mounted)
			}
		case "web":
			// Optional: the dashboard shows the saved index's state when it sees it.
			if mounted && !m.ReadOnly {
				t.Errorf("%s: the dashboard may only read the index volume", name)
			}
		default:
			if mounted && !m.ReadOnly {
				t.Errorf("%s: only the worker may write the index volume", name)
			}
		}
		if role == "api" || role == "worker" {
			if mm, ok := mountOf(s, cfg.Search.EmbeddingModelPath); !ok || !mm.ReadOnly {
				t.Errorf("%s: the model path %s is not on a read-only volume", name, cfg.Search.EmbeddingModelPath)
			}
		}
	}
	for _, role := range []string{"api", "worker", "migrate", "init", "web"} {
		if roles[role] == 0 {
			t.Errorf("no service runs `portiere %s`", role)
		}
	}
	if roles["migrate"] != 1 || roles["init"] != 1 {
		t.Errorf("migrations and init must run in exactly one service each: %v", roles)
	}
	// The worker and the API read the index through the same volume.
	if w, a := p.Services["worker"], p.Services["api"]; len(w.Volumes) > 0 && len(a.Volumes) > 0 {
		wv, _ := mountOf(w, "/data/faiss/index")
		av, _ := mountOf(a, "/data/faiss/index")
		if wv.Source == "" || wv.Source != av.Source {
			t.Errorf("worker writes the index to volume %q, the API reads %q", wv.Source, av.Source)
		}
	}
}

// usesBackends reports whether a role talks to Temporal, Redis and
// Elasticsearch, so a container must name them (their defaults are
// localhost or the in-process tiers). migrate, vocab and the web apps use
// PostgreSQL only.
func usesBackends(role string) bool {
	return role == "api" || role == "worker" || role == "init"
}

// webHealthPath is the web apps' health route (web.Server: GET /healthz).
const webHealthPath = "/healthz"

// webPort is the --port of a `portiere web` command line, or the binary's
// default for its --app.
func webPort(t *testing.T, who string, args []string) int {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--port="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Errorf("%s: %s is not a port", who, a)
			}
			return n
		}
	}
	if webApp(args) == "mapper" {
		return config.DefaultMapperPort
	}
	return config.DefaultWebPort
}

// checkStartOrder: the API starts after init completed, init after the
// worker started, and every service_healthy dependency has a healthcheck.
func checkStartOrder(t *testing.T, p *types.Project) {
	t.Helper()
	want := map[string]map[string]string{
		"api":    {"init": types.ServiceConditionCompletedSuccessfully},
		"init":   {"worker": types.ServiceConditionStarted},
		"worker": {"migrate": types.ServiceConditionCompletedSuccessfully},
	}
	for svc, deps := range want {
		for dep, cond := range deps {
			if got := p.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with %q, want %q", svc, dep, got, cond)
			}
		}
	}
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			if d.Condition == types.ServiceConditionHealthy && (target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0) {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
}

// mountOf returns the volume mounted at p or at a directory above it.
func mountOf(s types.ServiceConfig, p string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if p == v.Target || strings.HasPrefix(p, strings.TrimSuffix(v.Target, "/")+"/") {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	return h
}

func urlHost(u string) string {
	if u == "" {
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Hostname()
}

// composeVariable matches a ${NAME...} interpolation ($${NAME} is a literal
// the container's shell expands).
var composeVariable = regexp.MustCompile(`(?:^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// TestEnvExample: .env.example names exactly the variables
// docker-compose.prod.yaml interpolates, and filled in with the secrets an
// operator adds, it gives every service an environment the binary accepts.
func TestEnvExample(t *testing.T) {
	example, err := dotenv.Read(filepath.Join(repoRoot, ".env.example"))
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range composeVariable.FindAllStringSubmatch(string(b), -1) {
		used[m[1]] = true
	}
	for v := range used {
		if _, ok := example[v]; !ok {
			t.Errorf("docker-compose.prod.yaml reads ${%s}; .env.example does not list it", v)
		}
	}
	for v := range example {
		if !used[v] {
			t.Errorf(".env.example lists %s, which docker-compose.prod.yaml does not read", v)
		}
	}
	filled := maps.Clone(example)
	for k, v := range prodEnv {
		if filled[k] == "" {
			filled[k] = v
		}
	}
	p := loadCompose(t, "docker-compose.prod.yaml", filled)
	checkPortiereServices(t, p)
	// What the operator must fill in is what the file insists on.
	for k := range prodEnv {
		if _, ok := example[k]; !ok {
			t.Errorf(".env.example does not list %s, which docker-compose.prod.yaml requires", k)
		}
	}
}

// TestComposeProductionStripe: with billing configured in .env, every Stripe
// variable config reads reaches the API and the worker (which reports
// usage), and the dashboard, which takes no payments, sees no Stripe secret.
func TestComposeProductionStripe(t *testing.T) {
	dotEnv := maps.Clone(prodEnv)
	var stripe []string
	for _, v := range config.Variables {
		if strings.HasPrefix(v, "STRIPE_") {
			stripe = append(stripe, v)
			dotEnv[v] = "https://stripe.example.org" // a value every Stripe variable accepts
		}
	}
	if len(stripe) == 0 {
		t.Fatal("config reads no STRIPE_ variables; revisit this test")
	}
	p := loadCompose(t, "docker-compose.prod.yaml", dotEnv)
	checkPortiereServices(t, p)
	for name, s := range p.Services {
		e := env(s)
		switch portiereRole(s) {
		case "api", "worker":
			for _, v := range stripe {
				if e[v] != dotEnv[v] {
					t.Errorf("%s: %s=%q; .env sets it", name, v, e[v])
				}
			}
		case "web":
			if webApp(s.Command) == "mapper" {
				// Mappers' payout accounts (Stripe Connect); the binary
				// refuses the key without the webhook secret.
				for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_URL"} {
					if e[v] != dotEnv[v] {
						t.Errorf("%s: %s=%q; the mapper's payout accounts need .env's", name, v, e[v])
					}
				}
				continue
			}
			for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} {
				if e[v] != "" {
					t.Errorf("%s: the dashboard takes no payments; do not hand it %s", name, v)
				}
			}
		}
	}
}

// mapperDotEnv sets every mapper setting to a value other than its default,
// as an operator's .env (or exported variables, for the development file)
// would.
var mapperDotEnv = map[string]string{
	"LINE_CHANNEL_ID": "1660000001", "NEXT_PUBLIC_LIFF_ID": "1660000001-abcdef",
	"ADMIN_LINE_USER_IDS": "Uadmin1,Uadmin2", "LINE_API_BASE_URL": "https://line.example.org",
	"MAPPER_KYC_KEYS":      "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)) + "," + testKYCKeys,
	"MAPPER_KYC_MAX_BYTES": "5242880", "LINE_CHANNEL_ACCESS_TOKEN": "a-line-channel-token",
	"MAPPER_PAYOUT_MIN_CENTS": "2500", "MAPPER_CONSENSUS_MIN_VOTES": "5",
}

// TestComposeMapper: in both files the mapper runs `portiere web
// --app=mapper`, after the migrations and a healthy PostgreSQL, and every
// mapper setting in .env reaches the process that uses it — compared as
// config.Load parses them (Config.Mapper), so a setting config adds is
// covered without a list here: the mapper app gets all of them but the
// worker's Messaging API token; the worker gets that token, the LINE base
// URL it pushes to, the payout minimum and the consensus votes; the API the
// consensus votes. The production mapper gets no JWT or operator secret.
func TestComposeMapper(t *testing.T) {
	for _, file := range []string{"docker-compose.yaml", "docker-compose.prod.yaml"} {
		dotEnv := maps.Clone(mapperDotEnv)
		if file == "docker-compose.prod.yaml" {
			for k, v := range prodEnv {
				if _, ok := dotEnv[k]; !ok {
					dotEnv[k] = v
				}
			}
		}
		want, err := config.Load(config.ModeWeb, func(k string) string {
			if k == "DB_PASSWORD" || k == "API_KEY_SALT" {
				return strings.Repeat("x", config.MinSecretLength)
			}
			return dotEnv[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		p := loadCompose(t, file, dotEnv)
		checkPortiereServices(t, p)
		s, ok := p.Services["mapper"]
		if !ok || portiereRole(s) != "web" || webApp(s.Command) != "mapper" {
			t.Fatalf("%s: no mapper service running `portiere web --app=mapper`", file)
		}
		for dep, cond := range map[string]string{"migrate": types.ServiceConditionCompletedSuccessfully, "postgres": types.ServiceConditionHealthy} {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s: the mapper depends on %s with %q, want %q", file, dep, got, cond)
			}
		}
		for name, svc := range p.Services {
			role := portiereRole(svc)
			if role == "" {
				continue
			}
			e := env(svc)
			cfg, err := config.Load(modeOf[role], func(k string) string { return e[k] })
			if err != nil {
				continue // checkPortiereServices reported it
			}
			got, exp := cfg.Mapper, want.Mapper
			switch {
			case role == "web" && webApp(svc.Command) == "mapper":
				// The Messaging API token is the worker's; MAPPER_PORT is portiere dev's.
				got.LineChannelToken, exp.LineChannelToken = "", ""
				got.Port, exp.Port = 0, 0
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("%s: %s's mapper settings\n%+v\ndiffer from .env's\n%+v", file, name, got, exp)
				}
				if file == "docker-compose.prod.yaml" {
					for _, v := range []string{"JWT_SECRET", "ADMIN_TOKEN"} {
						if e[v] != "" {
							t.Errorf("%s: the mapper does not use %s; do not hand it over", file, v)
						}
					}
				}
			case role == "worker":
				if got.LineChannelToken != exp.LineChannelToken || got.LineAPIURL != exp.LineAPIURL ||
					got.PayoutMinCents != exp.PayoutMinCents || got.ConsensusMinVotes != exp.ConsensusMinVotes {
					t.Errorf("%s: %s pays and notifies mappers but reads token %q, LINE %q, minimum %d, votes %d; .env says %q, %q, %d, %d",
						file, name, got.LineChannelToken, got.LineAPIURL, got.PayoutMinCents, got.ConsensusMinVotes,
						exp.LineChannelToken, exp.LineAPIURL, exp.PayoutMinCents, exp.ConsensusMinVotes)
				}
			case role == "api":
				if got.ConsensusMinVotes != exp.ConsensusMinVotes {
					t.Errorf("%s: %s resolves crowd votes with %d, .env says %d", file, name, got.ConsensusMinVotes, exp.ConsensusMinVotes)
				}
			}
		}
	}
}

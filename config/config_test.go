package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const secret = "0123456789abcdef0123456789abcdef"

func TestLoadDefaults(t *testing.T) {
	c, err := Load(ModeAPI, env(map[string]string{
		"DB_PASSWORD": "pw", "JWT_SECRET": secret, "API_KEY_SALT": secret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB.Host != "localhost" || c.DB.Port != 5432 || c.DB.Name != "portiere" || c.DB.User != "portiere" {
		t.Errorf("db defaults: %+v", c.DB)
	}
	if c.HTTP.Port != 8000 || c.HTTP.RateLimitPerMinute != 60 || c.Mapping.SyncMaxCodes != DefaultMapSyncMaxCodes {
		t.Errorf("http defaults: %+v", c.HTTP)
	}
	if got := strings.Join(c.HTTP.CORSOrigins, ","); got != DefaultCORSOrigins {
		t.Errorf("cors default %q", got)
	}
	if c.Temporal.Address != "localhost:7233" || c.Temporal.Namespace != "default" {
		t.Errorf("temporal defaults: %+v", c.Temporal)
	}
	if c.Redis.Configured() || c.Elasticsearch.Configured() {
		t.Error("redis/elasticsearch must default to unconfigured (in-process)")
	}
	if c.Search.EmbeddingModel != "hash" || c.LogLevel != slog.LevelInfo {
		t.Errorf("search/log defaults: %+v %v", c.Search, c.LogLevel)
	}
}

func TestLoadMissingNamesEveryVariableInOneLine(t *testing.T) {
	_, err := Load(ModeAPI, env(nil))
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *Error, got %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("message spans lines: %q", msg)
	}
	for _, name := range []string{"DB_PASSWORD", "JWT_SECRET", "API_KEY_SALT"} {
		if !strings.Contains(msg, name) {
			t.Errorf("message %q does not name %s", msg, name)
		}
	}
	// The worker needs the database but not the API's secrets.
	_, err = Load(ModeWorker, env(nil))
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") || strings.Contains(err.Error(), "JWT_SECRET") {
		t.Errorf("worker: %v", err)
	}
}

func TestLoadInvalidValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"DB_PORT":               "abc",
		"API_PORT":              "70000",
		"REDIS_PORT":            "-1",
		"LOG_LEVEL":             "loud",
		"RATE_LIMIT_PER_MINUTE": "0",
		"MAP_SYNC_MAX_CODES":    "many",
		"EMBEDDING_MODEL":       "bert",
		"ELASTICSEARCH_URL":     "localhost:9200",
		"CORS_ORIGINS":          "http://ok.example,notaurl",
		"TEMPORAL_ADDRESS":      "nohostport",
		"JWT_SECRET":            "short",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			m := map[string]string{"DB_PASSWORD": "pw", "JWT_SECRET": secret, "API_KEY_SALT": secret}
			m[name] = value
			_, err := Load(ModeAPI, env(m))
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Invalid) != 1 {
				t.Fatalf("want one invalid variable, got %v", err)
			}
			if !strings.HasPrefix(cerr.Invalid[0], name+":") {
				t.Errorf("%q does not start with %s", cerr.Invalid[0], name)
			}
		})
	}
}

func TestLoadDevModeNeedsNothing(t *testing.T) {
	c, err := Load(ModeDev, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB.Host != "" {
		t.Errorf("dev mode without DB_HOST must leave it empty (private cluster), got %q", c.DB.Host)
	}
	if _, err := Load(ModeDev, env(map[string]string{"DB_HOST": "db.internal"})); err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Errorf("dev mode against a real database must require DB_PASSWORD, got %v", err)
	}
}

func TestLogLevelAliases(t *testing.T) {
	for v, want := range map[string]slog.Level{"debug": slog.LevelDebug, "WARNING": slog.LevelWarn, "warn": slog.LevelWarn, "Error": slog.LevelError} {
		c, err := Load(ModeCLI, env(map[string]string{"LOG_LEVEL": v}))
		if err != nil || c.LogLevel != want {
			t.Errorf("LOG_LEVEL=%s: %v %v", v, c.LogLevel, err)
		}
	}
}

func TestConnStringQuotes(t *testing.T) {
	d := Database{Host: "h", Port: 1, Name: "n", User: "u", Password: `p'w\x`}
	if got := d.ConnString(); !strings.Contains(got, `password='p\'w\\x'`) {
		t.Errorf("conn string %q", got)
	}
}

// Stripe is optional; a secret key needs its webhook secret.
func TestLoadStripe(t *testing.T) {
	base := map[string]string{"DB_PASSWORD": "pw", "JWT_SECRET": secret, "API_KEY_SALT": secret}
	c, err := Load(ModeAPI, env(base))
	if err != nil || c.Stripe.Configured() || c.Stripe.MeterEvent != DefaultStripeMeterEvent {
		t.Fatalf("%+v %v", c.Stripe, err)
	}
	base["STRIPE_SECRET_KEY"] = "sk_test_1"
	var ce *Error
	if _, err := Load(ModeAPI, env(base)); !errors.As(err, &ce) || len(ce.Invalid) != 1 || !strings.HasPrefix(ce.Invalid[0], "STRIPE_WEBHOOK_SECRET") {
		t.Fatalf("secret key without webhook secret: %v", err)
	}
	base["STRIPE_WEBHOOK_SECRET"] = "whsec_1"
	base["STRIPE_PRICE_PRO"] = "price_1"
	base["STRIPE_API_URL"] = "http://127.0.0.1:12111/"
	c, err = Load(ModeAPI, env(base))
	if err != nil || !c.Stripe.Configured() || c.Stripe.PricePro != "price_1" || c.Stripe.APIURL != "http://127.0.0.1:12111" || !c.IsSet("STRIPE_SECRET_KEY") {
		t.Fatalf("%+v %v", c.Stripe, err)
	}
}

func TestWebSettings(t *testing.T) {
	c, err := Load(ModeWeb, env(map[string]string{"DB_PASSWORD": "pw", "API_KEY_SALT": secret}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.Port != 3000 || c.Web.APIURL != DefaultAPIURL || c.Web.SessionTTL != DefaultSessionTTL || !c.Web.CookieSecure {
		t.Errorf("web defaults: %+v", c.Web)
	}
	// The dashboard issues keys: it refuses to start without the salt.
	if _, err := Load(ModeWeb, env(map[string]string{"DB_PASSWORD": "pw"})); err == nil || !strings.Contains(err.Error(), "API_KEY_SALT") {
		t.Errorf("web without API_KEY_SALT: %v", err)
	}
	// portiere dev serves plain HTTP on localhost: cookies are not Secure
	// unless asked.
	d, err := Load(ModeDev, env(map[string]string{"WEB_PORT": "3100", "NEXT_PUBLIC_API_URL": "https://api.example.org/", "SESSION_TTL": "30m"}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Web.Port != 3100 || d.Web.APIURL != "https://api.example.org" || d.Web.SessionTTL.Minutes() != 30 || d.Web.CookieSecure {
		t.Errorf("dev web settings: %+v", d.Web)
	}
	if d, _ := Load(ModeDev, env(map[string]string{"SESSION_COOKIE_SECURE": "true"})); !d.Web.CookieSecure {
		t.Error("SESSION_COOKIE_SECURE=true ignored in dev")
	}
	_, err = Load(ModeDev, env(map[string]string{"SESSION_TTL": "30s", "SESSION_COOKIE_SECURE": "maybe", "NEXT_PUBLIC_API_URL": "api:8000", "WEB_PORT": "x"}))
	for _, name := range []string{"SESSION_TTL", "SESSION_COOKIE_SECURE", "NEXT_PUBLIC_API_URL", "WEB_PORT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("invalid %s not reported: %v", name, err)
		}
	}
}

func TestMapperConfig(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	env := map[string]string{"LINE_CHANNEL_ID": "1660000001", "NEXT_PUBLIC_LIFF_ID": "1660000001-abcd",
		"ADMIN_LINE_USER_IDS": " Uaaa, ,Ubbb ", "MAPPER_KYC_KEYS": "k2:" + key + ", k1:" + key}
	c, err := Load(ModeDev, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mapper
	if m.Port != 3001 || m.LineChannelID != "1660000001" || m.LIFFID != "1660000001-abcd" || m.LineAPIURL != "https://api.line.me" ||
		strings.Join(m.AdminLineUserIDs, ",") != "Uaaa,Ubbb" || len(m.KYCKeys) != 2 || m.KYCKeys[0].ID != "k2" ||
		len(m.KYCKeys[1].Key) != 32 || m.KYCMaxBytes != 10<<20 || m.DevLogin {
		t.Fatalf("mapper config %+v", m)
	}
	for name, bad := range map[string]map[string]string{
		"MAPPER_KYC_KEYS":      {"MAPPER_KYC_KEYS": "k1:c2hvcnQ="},
		"MAPPER_KYC_KEYS ":     {"MAPPER_KYC_KEYS": "nocolon"},
		"MAPPER_KYC_KEYS  ":    {"MAPPER_KYC_KEYS": "a:" + key + ",a:" + key},
		"LINE_API_BASE_URL":    {"LINE_API_BASE_URL": "ftp://x"},
		"MAPPER_KYC_MAX_BYTES": {"MAPPER_KYC_MAX_BYTES": "-1"},
	} {
		_, err := Load(ModeDev, func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The development login is refused in every production mode.
	for _, mode := range []Mode{ModeAPI, ModeWeb, ModeWorker, ModeMigrate} {
		_, err := Load(mode, func(k string) string { return map[string]string{"MAPPER_DEV_LOGIN": "true"}[k] })
		if err == nil || !strings.Contains(err.Error(), "MAPPER_DEV_LOGIN") {
			t.Errorf("%s accepted MAPPER_DEV_LOGIN: %v", mode, err)
		}
	}
	c, err = Load(ModeDev, func(k string) string { return map[string]string{"MAPPER_DEV_LOGIN": "true"}[k] })
	if err != nil || !c.Mapper.DevLogin {
		t.Fatalf("dev mode refused the dev login: %v", err)
	}
}

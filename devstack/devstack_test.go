package devstack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRunningDatabase(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunningDatabase(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("empty folder: %v", err)
	}
	writeFile(t, filepath.Join(dir, secretsFile), "# generated\nJWT_SECRET=x\nDB_PASSWORD=s3cret=with=equals\n")
	// This test process stands in for a live postmaster.
	pid := strconv.Itoa(os.Getpid())
	writeFile(t, filepath.Join(dir, "pg", "postmaster.pid"), pid+"\n"+dir+"/pg\n1700000000\n54321\n\n127.0.0.1\n  1234567\nready   \n")
	db, err := RunningDatabase(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Host != "127.0.0.1" || db.Port != 54321 || db.User != "portiere" || db.Name != "portiere" || db.Password != "s3cret=with=equals" {
		t.Fatalf("%+v", db)
	}

	// A pid file left by a server that died is not a running stack. Pid
	// numbers are bounded by pid_max, so this one cannot exist.
	writeFile(t, filepath.Join(dir, "pg", "postmaster.pid"), "2147483646\n"+dir+"/pg\n1700000000\n54321\n")
	if _, err := RunningDatabase(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("stale pid file: %v", err)
	}
	writeFile(t, filepath.Join(dir, "pg", "postmaster.pid"), pid+"\n")
	if _, err := RunningDatabase(dir); err == nil || errors.Is(err, ErrNotRunning) {
		t.Fatalf("truncated pid file: %v", err)
	}
}

func TestSeedVocabularyOnlyWhenEmpty(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := seedVocabulary(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	var n int
	pool.QueryRow(ctx, `select count(*) from concept`).Scan(&n)
	if n < 2000 {
		t.Fatalf("%d concepts after seeding", n)
	}
	if !strings.Contains(logs.String(), "demo vocabulary imported") {
		t.Fatalf("log:\n%s", logs.String())
	}
	first, err := vocabstore.New(pool).LastImport(ctx)
	if err != nil || first.Source.Path != demoLabel {
		t.Fatalf("import record %+v %v", first, err)
	}

	// A second start finds concepts and imports nothing.
	logs.Reset()
	if err := seedVocabulary(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	again, _ := vocabstore.New(pool).LastImport(ctx)
	if again.ImportID != first.ImportID || logs.Len() != 0 {
		t.Fatalf("second start imported again (%d, %d) or logged:\n%s", first.ImportID, again.ImportID, logs.String())
	}
}

func TestSeedDemoProjectOnce(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	id, err := seedDemoProject(ctx, pool, log)
	if err != nil {
		t.Fatal(err)
	}
	var codes int
	pool.QueryRow(ctx, `select count(*) from source_codes where project_id = $1`, id).Scan(&codes)
	if codes < 30 {
		t.Fatalf("demo project has %d source codes", codes)
	}
	var sources, withSource int
	pool.QueryRow(ctx, `select count(*) from sources where project_id = $1`, id).Scan(&sources)
	pool.QueryRow(ctx, `select count(*) from source_codes where project_id = $1 and source_id is not null`, id).Scan(&withSource)
	if sources != 1 || withSource != codes {
		t.Fatalf("demo project: %d sources, %d of %d codes with one", sources, withSource, codes)
	}
	again, err := seedDemoProject(ctx, pool, log)
	if err != nil || again != id {
		t.Fatalf("second seeding: %q %v (first %q)", again, err, id)
	}
	pool.QueryRow(ctx, `select count(*) from source_codes where project_id = $1`, id).Scan(&codes)
	var projects int
	pool.QueryRow(ctx, `select count(*) from projects`).Scan(&projects)
	if projects != 1 {
		t.Fatalf("%d projects after seeding twice", projects)
	}
}

func TestSeedDemoAccessOnce(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := seedDemoProject(ctx, pool, log); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secrets, err := devSecrets(filepath.Join(dir, secretsFile), "API_KEY_SALT", devAPIKey, devPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !credential.LooksLikeAPIKey(secrets[devAPIKey]) {
		t.Fatalf("dev key %q", secrets[devAPIKey])
	}
	again, err := devSecrets(filepath.Join(dir, secretsFile), "API_KEY_SALT", devAPIKey, devPassword)
	if err != nil || again[devAPIKey] != secrets[devAPIKey] {
		t.Fatalf("secrets file did not keep the dev key: %v", err)
	}
	first, err := seedDemoAccess(ctx, pool, secrets["API_KEY_SALT"], secrets[devAPIKey], secrets[devPassword])
	if err != nil {
		t.Fatal(err)
	}
	second, err := seedDemoAccess(ctx, pool, secrets["API_KEY_SALT"], secrets[devAPIKey], secrets[devPassword])
	if err != nil || second != first {
		t.Fatalf("second seeding: %+v %v (first %+v)", second, err, first)
	}
	var keys, users int
	pool.QueryRow(ctx, `select count(*) from api_keys`).Scan(&keys)
	pool.QueryRow(ctx, `select count(*) from users`).Scan(&users)
	if keys != 1 || users != 1 {
		t.Fatalf("%d keys, %d users after seeding twice", keys, users)
	}
	hasher, _ := credential.NewKeyHasher(secrets["API_KEY_SALT"])
	rec, err := tenancystore.New(pool).Keys().KeyByHash(ctx, hasher.Hash(secrets[devAPIKey]))
	if err != nil || rec.Role != credential.RoleOwner || rec.Scope != credential.ScopeWrite || rec.OrganizationID != first.OrganizationID {
		t.Fatalf("dev key resolves to %+v, %v", rec, err)
	}
}

// The dev stack's Stripe settings are ones stripe-mock accepts: its key
// must look like a test key (it refused "sk_test_portiere_dev").
func TestDevStripeWorksWithStripeMock(t *testing.T) {
	cfg := devStripe(config.Stripe{PricePro: "price_mine"}, stripetest.URL(t), "whsec")
	if cfg.PricePro != "price_mine" || cfg.PriceEnterprise == "" || cfg.PriceMappedItems == "" || cfg.WebhookSecret != "whsec" {
		t.Errorf("devStripe = %+v: keep set prices, fill the others, use the dev webhook secret", cfg)
	}
	c, err := stripeconnect.New(stripeconnect.Config{SecretKey: cfg.SecretKey, URL: cfg.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.CreateExpressAccount(context.Background(), stripeconnect.AccountRequest{Email: "m@example.org", Reference: "m", IdempotencyKey: "dev-stripe-test"})
	if err != nil || acct == "" {
		t.Fatalf("stripe-mock refused the dev stack's key %q: %v", cfg.SecretKey, err)
	}
}

package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

const cliSalt = "cli-salt-cli-salt-cli-salt-cli-salt-cli"

func runOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runWithInput(args, strings.NewReader(stdin), &out, &errOut); err != nil {
		t.Fatalf("portiere %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// TestTenancyCommands creates an organization, a user and a key with the
// CLI, resolves the key through the same store the API uses, and revokes it.
func TestTenancyCommands(t *testing.T) {
	setDBEnv(t)
	t.Setenv("API_KEY_SALT", cliSalt)
	out := runOK(t, "", "org", "create", "Saint Mary Hospital")
	if !strings.Contains(out, "slug saint-mary-hospital") {
		t.Fatalf("org create: %q", out)
	}
	out = runOK(t, "s3cret-pass\n", "user", "create", "--org", "saint-mary-hospital", "--email", "ana@example.org", "--role", "admin")
	if !strings.Contains(out, "is admin of saint-mary-hospital") || strings.Contains(out, "password:") {
		t.Fatalf("user create (stdin password): %q", out)
	}
	out = runOK(t, "", "user", "create", "--org", "saint-mary-hospital", "--email", "bo@example.org", "--role", "viewer")
	if !regexp.MustCompile(`password: \S{20,} \(shown once\)`).MatchString(out) {
		t.Fatalf("user create (generated password): %q", out)
	}
	key := strings.TrimSpace(runOK(t, "", "apikey", "create", "--org", "saint-mary-hospital", "--scope", "write", "--name", "etl", "--user", "ana@example.org"))
	if !credential.LooksLikeAPIKey(key) {
		t.Fatalf("apikey create printed %q", key)
	}

	cfg, err := config.LoadEnv(config.ModeMigrate)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(context.Background(), cfg.DB.ConnString(), postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := tenancystore.New(pool)
	u, err := s.UserByEmail(context.Background(), "ana@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := credential.VerifyPassword("s3cret-pass", u.PasswordHash); err != nil {
		t.Errorf("stored password: %v", err)
	}
	hasher, _ := credential.NewKeyHasher(cliSalt)
	rec, err := s.Keys().KeyByHash(context.Background(), hasher.Hash(key))
	if err != nil || rec.Role != credential.RoleAdmin || rec.Scope != credential.ScopeWrite || rec.Revoked() {
		t.Fatalf("created key resolves to %+v, %v", rec, err)
	}
	prefix, _ := credential.KeyPrefix(key)
	if out := runOK(t, "", "apikey", "revoke", prefix); !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q", out)
	}
	if rec, err := s.Keys().KeyByHash(context.Background(), hasher.Hash(key)); err != nil || !rec.Revoked() {
		t.Fatalf("after revoke: %+v %v", rec, err)
	}
	var errOut bytes.Buffer
	if err := runWithInput([]string{"apikey", "revoke", "pt_sk_nothere"}, strings.NewReader(""), &bytes.Buffer{}, &errOut); err == nil {
		t.Error("revoking an unknown prefix succeeded")
	}
}

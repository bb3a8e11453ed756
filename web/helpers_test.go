package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/session/sessionstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/web"
)

func TestMain(m *testing.M) { dbtest.Main(m, stripetest.Stop) }

const testSalt = "test-api-key-salt-0123456789abcdef-0123"

// clock is a settable clock for the throttle and sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// app is a dashboard on its own database, served by httptest.
type app struct {
	srv     *httptest.Server
	pool    *pgxpool.Pool
	tenants *tenancystore.Store
	hasher  *credential.KeyHasher
	clock   *clock
}

func newApp(t *testing.T, mod ...func(*web.Config)) *app {
	t.Helper()
	return newAppWithPool(t, dbtest.New(t), mod...)
}

// newAppWithPool is newApp on a database the caller made (a service the
// configuration holds needs its pool first).
func newAppWithPool(t *testing.T, pool *pgxpool.Pool, mod ...func(*web.Config)) *app {
	t.Helper()
	hasher, err := credential.NewKeyHasher(testSalt)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{pool: pool, tenants: tenancystore.New(pool), hasher: hasher, clock: &clock{t: time.Now()}}
	cfg := web.Config{
		App: web.AppCloud, Tenants: a.tenants, Sessions: sessionstore.New(pool), Vocabulary: vocabstore.New(pool),
		Passwords: credential.NewPasswordGate(2), Keys: hasher, APIURL: "https://api.example.org",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: a.clock.Now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(s)
	t.Cleanup(a.srv.Close)
	return a
}

// browser is a client with cookies that does not follow redirects and
// remembers the CSRF token of the last page it read.
type browser struct {
	t    *testing.T
	app  *app
	c    *http.Client
	csrf string
}

func (a *app) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, app: a, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

type response struct {
	status   int
	body     string
	location string
	header   http.Header
	cookies  []*http.Cookie
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return response{status: res.StatusCode, body: string(body), location: res.Header.Get("Location"), header: res.Header, cookies: res.Cookies()}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.app.srv.URL+path, nil)
	return b.do(req)
}

// post sends form with the remembered CSRF token (unless form sets
// csrf_token itself, even to "").
func (b *browser) post(path string, form url.Values, headers ...string) response {
	b.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	form = f
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// signUp creates an organization with b as its owner, signed in.
func (b *browser) signUp(org, email string) {
	b.t.Helper()
	b.get("/signup")
	res := b.post("/signup", url.Values{"organization": {org}, "name": {"Owner"}, "email": {email}, "password": {"correct horse battery"}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/projects") {
		b.t.Fatalf("sign up %s: %d %s\n%.500s", email, res.status, res.location, res.body)
	}
	b.get("/projects") // picks up the session's CSRF token
}

// logIn signs b in with the test password.
func (b *browser) logIn(email string) {
	b.t.Helper()
	b.get("/login")
	res := b.post("/login", url.Values{"email": {email}, "password": {"correct horse battery"}})
	if res.status != http.StatusSeeOther {
		b.t.Fatalf("log in %s: %d\n%.500s", email, res.status, res.body)
	}
	b.get("/projects")
}

// member adds a user with role to the organization org (by slug-free id)
// and returns a browser signed in as them.
func (a *app) member(t *testing.T, orgID, email string, role tenancy.Role) *browser {
	t.Helper()
	ctx := context.Background()
	hash, err := credential.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.tenants.CreateUser(ctx, tenancy.User{Email: email, Name: string(role), PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.tenants.AddMember(ctx, tenancy.Membership{OrganizationID: orgID, UserID: u.ID, Role: role}); err != nil {
		t.Fatal(err)
	}
	b := a.browser(t)
	b.logIn(email)
	return b
}

// org returns the organization of the user with email (its only one).
func (a *app) org(t *testing.T, email string) tenancy.Organization {
	t.Helper()
	ctx := context.Background()
	u, err := a.tenants.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := a.tenants.UserMemberships(ctx, u.ID)
	if err != nil || len(ms) == 0 {
		t.Fatalf("memberships of %s: %v %v", email, ms, err)
	}
	return ms[0].Organization
}

// createProject creates a project through the form and returns its id.
func (b *browser) createProject(name string) string {
	b.t.Helper()
	b.get("/projects/new")
	res := b.post("/projects", url.Values{"name": {name}, "description": {"test project"}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/projects/") {
		b.t.Fatalf("create project: %d %s\n%.500s", res.status, res.location, res.body)
	}
	id := strings.TrimPrefix(res.location, "/projects/")
	id, _, _ = strings.Cut(id, "?")
	return id
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/worker"
	"github.com/portiere/portiere/workflows"
)

// readOnlyWrites are the secured POST operations that change nothing an
// organization owns, so any member's read-scope key or viewer may call
// them (CanRead), each with the reason. Every other POST, PUT, PATCH and
// DELETE of the API must refuse a read-scope key and a viewer with 403.
var readOnlyWrites = map[string]string{
	"POST /api/v1/concepts/search":        "a search of the shared vocabulary, sent as POST for its JSON body",
	"POST /api/v1/concepts/map":           "maps codes synchronously and stores nothing (bulk mapping is the writing route)",
	"POST /api/v1/schema-mapping/suggest": "suggests OMOP targets for columns and stores nothing",
	"POST /api/v1/billing/webhook":        "not secured: Stripe's signature authenticates it",
	"POST /api/v1/auth/token":             "not secured: exchanges a key for a token",
}

// adminOperations are the secured operations an organization member (role
// member, write-scope key) may not call: project settings and deletion,
// API keys, billing changes and the deployment's operator routes. A member
// must get 403 {detail} on each; on every other GET a member is not
// refused.
var adminOperations = []string{
	"DELETE /api/v1/projects/{id}",
	"PATCH /api/v1/projects/{id}/settings",
	"GET /api/v1/organizations/{org}/api-keys",
	"POST /api/v1/organizations/{org}/api-keys",
	"DELETE /api/v1/organizations/{org}/api-keys/{id}",
	"POST /api/v1/billing/checkout",
	"POST /api/v1/billing/portal",
	"POST /api/v1/workflows/index-build",
	"POST /api/v1/workflows/es-populate",
	"GET /api/v1/workflows/{id}",
	"POST /api/v1/workflows/{id}/cancel",
}

// onlyWithBilling reports whether the operation name exists only when
// billing (Stripe) is configured, which the test world leaves off;
// apiserver/billing_test.go checks those routes' roles.
func onlyWithBilling(name string) bool {
	return strings.Contains(name, " /api/v1/billing/") && !strings.HasSuffix(name, "/usage") && !strings.HasSuffix(name, "/subscription")
}

// securedOperation is one operation of the OpenAPI document.
type securedOperation struct {
	method, path string // upper-case method, documented path
	secured      bool
	ct           string // the request body's first content type
	body         any    // an example body for ct, nil without one
}

func (o securedOperation) name() string { return o.method + " " + o.path }

func (o securedOperation) writes() bool {
	return o.method == "POST" || o.method == "PUT" || o.method == "PATCH" || o.method == "DELETE"
}

// apiOperations reads every operation of the server's OpenAPI document,
// sorted by path and method.
func apiOperations(t *testing.T, spec []byte) []securedOperation {
	t.Helper()
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []securedOperation
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security    []map[string]any `json:"security"`
				RequestBody struct {
					Content map[string]struct {
						Schema map[string]any `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			o := securedOperation{method: strings.ToUpper(method), path: path, secured: len(op.Security) > 0}
			cts := make([]string, 0, len(op.RequestBody.Content))
			for ct := range op.RequestBody.Content {
				cts = append(cts, ct)
			}
			sort.Strings(cts)
			if len(cts) > 0 {
				o.ct = cts[0]
				o.body = example(op.RequestBody.Content[o.ct].Schema, doc.Components.Schemas, 0)
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	return ops
}

// TestEverySecuredOperationChecksCredentials calls every secured operation
// of the production API's OpenAPI document on organization A's own
// resources (so a refusal is the credential's, not isolation's, which
// TestEveryProjectRouteIsolatesOrganizations covers): without credentials
// each answers 401 {detail}; every writing operation (readOnlyWrites
// aside) answers 403 {detail} to an owner's read-scope key and to a
// viewer's write key; every adminOperations entry answers 403 to a
// member's write key, and no other GET refuses a member. None of the
// refused calls changes a row of any table or A's workflow. The
// operations come from the document, so a new route is covered without a
// new test.
func TestEverySecuredOperationChecksCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	w := newIsolationWorld(t)
	ctx := context.Background()
	store := tenancystore.New(w.pool)
	hasher, err := credential.NewKeyHasher("isolation-salt-isolation-salt-isolation")
	if err != nil {
		t.Fatal(err)
	}
	keyOf := func(role tenancy.Role, scope credential.Scope) string {
		u, err := store.CreateUser(ctx, tenancy.User{Email: string(role) + "-" + string(scope) + "@a.example", Name: string(role)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddMember(ctx, tenancy.Membership{OrganizationID: w.orgA.ID, UserID: u.ID, Role: role}); err != nil {
			t.Fatal(err)
		}
		issued := hasher.Issue()
		if _, err := store.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: w.orgA.ID, UserID: u.ID, Name: "security",
			Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(scope)}}); err != nil {
			t.Fatal(err)
		}
		return issued.Key
	}
	ownerRead := keyOf(tenancy.RoleOwner, credential.ScopeRead)
	viewerWrite := keyOf(tenancy.RoleViewer, credential.ScopeWrite)
	memberWrite := keyOf(tenancy.RoleMember, credential.ScopeWrite)

	ops := apiOperations(t, w.srv.Spec())
	run := workflows.BulkMappingWorkflowID(w.projectA.ID)
	call := func(o securedOperation, key string) (int, string, string) {
		t.Helper()
		concrete := o.path
		if params := pathParam.FindAllStringSubmatchIndex(o.path, -1); len(params) > 0 {
			concrete, _ = w.fill(o.path, params)
		}
		req := httptest.NewRequest(o.method, concrete, nil)
		if o.ct != "" {
			setBody(req, o.ct, o.body)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := w.srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(body, &e)
		return res.StatusCode, e.Detail, concrete
	}
	// refused calls o with key and wants status {detail} and nothing
	// changed.
	refused := func(o securedOperation, who, key string, status int) {
		t.Helper()
		before := digestTables(t, w.pool)
		history := historyLength(t, w.temporal, run)
		st, detail, concrete := call(o, key)
		if st != status || detail == "" {
			t.Errorf("%s (%s) with %s: %d {detail: %q}, want %d {detail}", o.name(), concrete, who, st, detail, status)
		}
		time.Sleep(20 * time.Millisecond) // the key's last-used write, see the isolation test
		if changed := diffDigests(before, digestTables(t, w.pool)); len(changed) > 0 {
			t.Errorf("%s with %s (refused) changed tables %v", o.name(), who, changed)
		}
		if h := historyLength(t, w.temporal, run); h != history {
			t.Errorf("%s with %s (refused) changed A's workflow (history %d → %d events)", o.name(), who, history, h)
		}
	}

	admin := map[string]bool{}
	for _, name := range adminOperations {
		admin[name] = true
	}
	seen := map[string]bool{}
	var secured, writes, adminChecked int
	for _, o := range ops {
		seen[o.name()] = true
		if !o.secured {
			continue
		}
		secured++
		refused(o, "no credentials", "", 401)
		if o.writes() {
			if _, ok := readOnlyWrites[o.name()]; !ok {
				writes++
				refused(o, "an owner's read-scope key", ownerRead, 403)
				refused(o, "a viewer's write key", viewerWrite, 403)
			}
		}
		switch {
		case admin[o.name()]:
			adminChecked++
			refused(o, "a member's write key", memberWrite, 403)
		case o.method == "GET":
			if st, detail, concrete := call(o, memberWrite); st == 403 {
				t.Errorf("GET %s (%s) refuses a member's write key (%s): if only admins may read it, add it to adminOperations", o.path, concrete, detail)
			}
		}
	}
	for name, reason := range readOnlyWrites {
		if !seen[name] && !onlyWithBilling(name) {
			t.Errorf("readOnlyWrites names %s, which the API does not have", name)
		}
		if reason == "" {
			t.Errorf("readOnlyWrites names %s without a reason", name)
		}
	}
	for _, name := range adminOperations {
		if !seen[name] && !onlyWithBilling(name) {
			t.Errorf("adminOperations names %s, which the API does not have", name)
		}
	}
	if secured < 20 || writes < 10 {
		t.Fatalf("only %d secured operations, %d writing: the document was not read", secured, writes)
	}
	t.Logf("%d secured operations checked without credentials, %d writing ones with read scope and a viewer, %d admin ones with a member",
		secured, writes, adminChecked)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Secrets of the security stack's configuration, which no log may hold.
const (
	secJWTSecret  = "security-jwt-secret-security-jwt-secret-0"
	secSalt       = "security-salt-security-salt-security-salt"
	secAdminToken = "security-admin-token-security-admin-token"
)

// securityStack is the production composition (openBackends, the API, the
// dashboard, the worker) on a fresh test database and a Temporal dev
// server, logging JSON at DEBUG into logs as `portiere api` does into
// stderr.
type securityStack struct {
	b    *backends
	api  *apiserver.Server
	web  *httptest.Server
	pool *pgxpool.Pool
	logs *syncBuffer
}

func newSecurityStack(t *testing.T, env map[string]string) *securityStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev := startTemporal(t)
	all := map[string]string{
		"DB_PASSWORD": "unused: the test hands openBackends its pool", "JWT_SECRET": secJWTSecret,
		"API_KEY_SALT": secSalt, "ADMIN_TOKEN": secAdminToken, "LOG_LEVEL": "DEBUG",
		"EMBEDDING_MODEL": "hash", "FAISS_INDEX_PATH": t.TempDir() + "/faiss.index", "RATE_LIMIT_PER_MINUTE": "1000000",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.Load(config.ModeAPI, func(name string) string { return all[name] })
	if err != nil {
		t.Fatal(err)
	}
	s := &securityStack{pool: dbtest.New(t), logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if s.b, err = openBackends(cfg, s.pool, dev.Client(), "test", logger); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.b.Close)
	if s.api, err = s.b.api(); err != nil {
		t.Fatal(err)
	}
	ws, err := s.b.web()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Web.CookieSecure {
		// Secure cookies travel over HTTPS only, as in production.
		s.web = httptest.NewTLSServer(ws)
	} else {
		s.web = httptest.NewServer(ws)
	}
	t.Cleanup(s.web.Close)
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, dev.Client(), logger, worker.Options{Activities: s.b.activities(), Schedules: []workflows.Schedule{}})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// call sends one request to the API with the headers and returns the
// status and body.
func (s *securityStack) call(t *testing.T, method, path string, headers map[string]string, ct string, body []byte) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := s.api.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// signUp signs a new organization up through the dashboard's form and
// returns the signed-in client, the organization and its owner.
func (s *securityStack) signUp(t *testing.T, org, email, password string) (*secClient, tenancy.Organization, tenancy.User) {
	t.Helper()
	c := newSecClient(t, s.web.URL)
	c.c.Transport = s.web.Client().Transport
	c.get("/signup", 200)
	c.post("/signup", url.Values{"organization": {org}, "name": {"Sam"}, "email": {email}, "password": {password}}, http.StatusSeeOther)
	ctx := context.Background()
	u, err := s.b.tenants.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.b.tenants.UserMemberships(ctx, u.ID)
	if err != nil || len(ms) != 1 {
		t.Fatalf("memberships of %s: %v %v", email, ms, err)
	}
	return c, ms[0].Organization, u
}

// ownerKey stores a write-scope key for user in org.
func (s *securityStack) ownerKey(t *testing.T, org, user string) string {
	t.Helper()
	hasher, err := credential.NewKeyHasher(secSalt)
	if err != nil {
		t.Fatal(err)
	}
	issued := hasher.Issue()
	if _, err := s.b.tenants.CreateAPIKey(context.Background(), tenancy.APIKey{OrganizationID: org, UserID: user, Name: "security",
		Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}}); err != nil {
		t.Fatal(err)
	}
	return issued.Key
}

// secClient is a browser without script: cookies, and the CSRF token of
// the last page read. It keeps every Set-Cookie it receives.
type secClient struct {
	t       *testing.T
	base    string
	c       *http.Client
	csrf    string
	cookies []*http.Cookie
}

var secCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newSecClient(t *testing.T, base string) *secClient {
	jar, _ := cookiejar.New(nil)
	return &secClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *secClient) do(req *http.Request, want int) (*http.Response, string) {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c.cookies = append(c.cookies, res.Cookies()...)
	if want != 0 && res.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d\n%.1500s", req.Method, req.URL.Path, res.StatusCode, want, b)
	}
	if m := secCSRF.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return res, string(b)
}

func (c *secClient) get(path string, want int) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	_, body := c.do(req, want)
	return body
}

func (c *secClient) post(path string, form url.Values, want int) (*http.Response, string) {
	c.t.Helper()
	form.Set("csrf_token", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, want)
}

// hostileText are the injection payloads every text field must store and
// return as sent, or refuse with 422 {detail}; never a 500.
var hostileText = []struct{ name, text string }{
	{"SQL drop", `'; drop table projects; --`},
	{"SQL quote", `Robert'); DELETE FROM users WHERE ''=''; -- $1 \ \\`},
	{"script tag", `<script>alert(1)</script>`},
	{"attribute break-out", `"><img src=x onerror=alert(1)>`},
	{"javascript URL and template", `javascript:alert(1)//{{.}}${x}`},
	{"percent-encoded NUL", `%00%27%3Cscript%3E`},
	{"NUL byte", "nul\x00byte"},
	{"right-to-left override", "\u202egnp.exe"},
	{"long unicode", strings.Repeat("é漢😀", 120)},
}

// scriptPayloads must never reach a dashboard page unescaped.
var scriptPayloads = []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`}

// TestInjectionPayloadsStoredAndRenderedSafely sends every hostileText
// payload in every text field of the writing API bodies (project name,
// description and task; source registration name and uploaded CSV cells;
// concept and schema sync items; review comments; API key names) and the
// dashboard's sign-up form (organization name): each is stored and read
// back byte-identical through the API, or refused with 422 {detail}; none
// is a 500; the tables are all still there with the expected row counts;
// and the dashboard pages showing them (projects, project, sources, review
// queue, item history, API keys) never carry a script payload unescaped.
func TestInjectionPayloadsStoredAndRenderedSafely(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	s := newSecurityStack(t, nil)
	ctx := context.Background()
	browser, org, owner := s.signUp(t, `<script>alert(1)</script> "><img src=x onerror=alert(1)> Hospital`, "inject@security.example", "correct horse battery")
	key := s.ownerKey(t, org.ID, owner.ID)
	auth := map[string]string{"Authorization": "Bearer " + key}
	// Enterprise: no plan quota stops a payload's project.
	if _, err := s.pool.Exec(ctx, `update organizations set plan = 'enterprise' where id = $1`, org.ID); err != nil {
		t.Fatal(err)
	}
	tablesBefore := tableNames(t, s.pool)

	// refusedOr500 checks an answer that is not a success: 422 {detail}
	// is a clear refusal, anything else fails.
	refusal := func(what string, st int, body []byte) {
		t.Helper()
		var e struct {
			Detail any `json:"detail"`
		}
		if st != 422 || json.Unmarshal(body, &e) != nil || e.Detail == nil {
			t.Errorf("%s: %d %.300s, want success or 422 {detail}", what, st, body)
		}
	}
	sendJSON := func(method, path string, v any) (int, []byte) {
		b, _ := json.Marshal(v)
		return s.call(t, method, path, auth, "application/json", b)
	}

	// Projects: name, description, task. The first accepted project
	// carries the rest.
	var project string
	projects := 0
	for i, p := range hostileText {
		name := fmt.Sprintf("p%d %s", i, p.text)
		st, body := sendJSON("POST", "/api/v1/projects", map[string]any{"name": name, "description": p.text, "task": p.text})
		what := "create project with " + p.name
		if st != 201 {
			refusal(what, st, body)
			continue
		}
		projects++
		var got struct{ ID, Name, Description, Task string }
		json.Unmarshal(body, &got)
		st, body = s.call(t, "GET", "/api/v1/projects/"+got.ID, auth, "", nil)
		json.Unmarshal(body, &got)
		if st != 200 || got.Name != name || got.Description != p.text || got.Task != p.text {
			t.Errorf("%s: read back %d name %q description %q task %q, want them as sent", what, st, got.Name, got.Description, got.Task)
		}
		if project == "" {
			project = got.ID
		}
	}
	if project == "" {
		t.Fatal("no project was accepted")
	}
	base := "/api/v1/projects/" + project

	// Sources: a registration's name, and an upload whose CSV cells
	// (code, description) carry the payloads.
	sources := 0
	for i, p := range hostileText {
		name := fmt.Sprintf("s%d %s", i, p.text)
		st, body := sendJSON("POST", base+"/sources", map[string]any{"name": name, "path": "/data/" + p.text + ".csv", "format": "csv"})
		if st != 201 && st != 200 {
			refusal("register source with "+p.name, st, body)
			continue
		}
		sources++
		var got struct{ ID, Name string }
		json.Unmarshal(body, &got)
		if got.Name != name {
			t.Errorf("register source with %s: name %q, want %q", p.name, got.Name, name)
		}
	}
	var csvText strings.Builder
	csvText.WriteString("code,description,count\n")
	w := csv.NewWriter(&csvText)
	for i, p := range hostileText {
		if strings.ContainsRune(p.text, 0) {
			continue // a NUL in a file is an encoding error (sourcefile.ErrEncoding), tested below
		}
		w.Write([]string{fmt.Sprintf("C%d%s", i, p.text), p.text, "1"})
	}
	w.Flush()
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("name", `upload <script>alert(1)</script>`)
	fw, _ := mw.CreateFormFile("file", `"><img src=x onerror=alert(1)>.csv`)
	io.WriteString(fw, csvText.String())
	mw.Close()
	if st, body := s.call(t, "POST", base+"/sources", auth, mw.FormDataContentType(), mp.Bytes()); st != 201 {
		t.Errorf("upload a CSV of payloads: %d %.300s", st, body)
	} else {
		sources++
		var got struct {
			Name          string
			DistinctCodes int64 `json:"distinct_codes"`
		}
		json.Unmarshal(body, &got)
		if got.Name != `upload <script>alert(1)</script>` || got.DistinctCodes != int64(len(hostileText)-1) {
			t.Errorf("upload a CSV of payloads: name %q, %d codes, want the name as sent and %d codes", got.Name, got.DistinctCodes, len(hostileText)-1)
		}
	}
	codes, err := s.b.jobs.SourceCodes(ctx, project, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, c := range codes {
		stored[c.Code] = c.Description
	}
	for i, p := range hostileText {
		if c := fmt.Sprintf("C%d%s", i, p.text); !strings.ContainsRune(p.text, 0) && stored[c] != p.text {
			t.Errorf("uploaded CSV cell %s: stored code %q has description %q, want %q", p.name, c, stored[c], p.text)
		}
	}

	// Concept and schema sync items: every text field of an item.
	var items []map[string]any
	var schemaItems []map[string]any
	for i, p := range hostileText {
		if strings.ContainsRune(p.text, 0) {
			continue
		}
		items = append(items, map[string]any{"source_code": fmt.Sprintf("I%d%s", i, p.text), "source_description": p.text,
			"source_column": p.text, "target_concept_id": 0, "target_concept_name": p.text, "target_vocabulary_id": p.text,
			"target_domain_id": p.text, "confidence": 0.5, "method": "review"})
		schemaItems = append(schemaItems, map[string]any{"source_column": fmt.Sprintf("col%d%s", i, p.text), "source_table": p.text,
			"target_table": p.text, "target_column": p.text, "confidence": 0.5})
	}
	if st, body := sendJSON("POST", "/api/v1/sync/projects/"+project+"/concept-mappings/bulk", map[string]any{"items": items}); st != 200 {
		t.Errorf("push concept items of payloads: %d %.300s", st, body)
	}
	var pulled []map[string]any
	if st, body := s.call(t, "GET", "/api/v1/sync/projects/"+project+"/concept-mappings", auth, "", nil); st != 200 {
		t.Errorf("pull concept items: %d %.300s", st, body)
	} else {
		pulled = itemsOf(t, body)
	}
	expectItems(t, "concept item", "source_code", items, pulled)
	if st, body := sendJSON("POST", "/api/v1/sync/projects/"+project+"/schema-mappings/bulk", map[string]any{"items": schemaItems}); st != 200 {
		t.Errorf("push schema items of payloads: %d %.300s", st, body)
	} else if st, body := s.call(t, "GET", "/api/v1/sync/projects/"+project+"/schema-mappings", auth, "", nil); st != 200 {
		t.Errorf("pull schema items: %d %.300s", st, body)
	} else {
		expectItems(t, "schema item", "source_column", schemaItems, itemsOf(t, body))
	}
	// Each pushed concept item with NUL in one field is refused whole.
	nul := map[string]any{"source_code": "NUL", "source_description": "nul\x00byte", "confidence": 0.5}
	if st, body := sendJSON("POST", "/api/v1/sync/projects/"+project+"/concept-mappings/bulk", map[string]any{"items": []any{nul}}); st != 200 {
		refusal("push a concept item with a NUL byte", st, body)
	}

	// Review comments on the first pulled item.
	if len(pulled) == 0 {
		t.Fatal("no concept item to comment on")
	}
	item := fmt.Sprint(pulled[0]["id"])
	comments := 0
	for _, p := range hostileText {
		st, body := sendJSON("POST", base+"/concept-mapping/"+item+"/comments", map[string]any{"comment": p.text})
		if st != 201 && st != 200 {
			refusal("comment "+p.name, st, body)
			continue
		}
		comments++
	}
	if st, body := s.call(t, "GET", base+"/concept-mapping/"+item+"/history", auth, "", nil); st != 200 {
		t.Errorf("item history: %d %.300s", st, body)
	} else {
		var hist []struct{ Comment string }
		if json.Unmarshal(body, &hist) != nil {
			var wrapped struct{ Events []struct{ Comment string } }
			json.Unmarshal(body, &wrapped)
			hist = wrapped.Events
		}
		seen := map[string]bool{}
		for _, e := range hist {
			seen[e.Comment] = true
		}
		for _, p := range hostileText {
			if !strings.ContainsRune(p.text, 0) && !seen[p.text] {
				t.Errorf("comment %s not in the history as sent: %.500s", p.name, body)
			}
		}
	}

	// API key names.
	keys := 0
	for i, p := range hostileText {
		name := fmt.Sprintf("k%d %s", i, p.text)
		st, body := sendJSON("POST", "/api/v1/organizations/"+org.ID+"/api-keys", map[string]any{"name": name, "scope": "read"})
		if st != 201 {
			refusal("create key named "+p.name, st, body)
			continue
		}
		keys++
		var got struct{ Name string }
		json.Unmarshal(body, &got)
		if got.Name != name {
			t.Errorf("create key named %s: name %q", p.name, got.Name)
		}
	}

	// The database is intact: every table is still there, the rows are
	// those accepted.
	if after := tableNames(t, s.pool); strings.Join(after, ",") != strings.Join(tablesBefore, ",") {
		t.Errorf("tables changed: before %v, after %v", tablesBefore, after)
	}
	for _, c := range []struct {
		what string
		q    string
		want int
	}{
		{"projects", `select count(*) from projects where organization_id = $1`, projects},
		{"API keys", `select count(*) from api_keys where organization_id = $1`, keys + 1},
		{"users", `select count(*) from users`, 1},
		{"organizations", `select count(*) from organizations`, 1},
	} {
		var n int
		if err := s.pool.QueryRow(ctx, c.q, orgArgs(c.q, org.ID)...).Scan(&n); err != nil {
			t.Errorf("count %s: %v", c.what, err)
		} else if n != c.want {
			t.Errorf("%d %s, want %d", n, c.what, c.want)
		}
	}
	t.Logf("accepted: %d projects, %d sources, %d comments, %d keys of %d payloads each", projects, sources, comments, keys, len(hostileText))

	// The dashboard shows every payload escaped.
	for _, page := range []string{"/projects", "/projects/" + project, "/projects/" + project + "/sources",
		"/projects/" + project + "/review", "/projects/" + project + "/review?status=all", "/projects/" + project + "/results",
		"/api-keys", "/profile", "/members"} {
		body := browser.get(page, 200)
		for _, raw := range scriptPayloads {
			if strings.Contains(body, raw) {
				i := strings.Index(body, raw)
				t.Errorf("dashboard page %s carries %s unescaped: …%s…", page, raw, body[max(0, i-200):min(len(body), i+100)])
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Logf("dashboard page %s shows no escaped payload", page)
		}
	}
}

// orgArgs passes org to a query that has a parameter.
func orgArgs(q, org string) []any {
	if strings.Contains(q, "$1") {
		return []any{org}
	}
	return nil
}

// tableNames lists the database's base tables, sorted.
func tableNames(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var names []string
	rows, err := pool.Query(context.Background(), `select table_schema || '.' || table_name from information_schema.tables
		where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if len(names) < 5 {
		t.Fatalf("only tables %v", names)
	}
	return names
}

// itemsOf reads the items of a pull answer: an array, or {items: [...]}.
func itemsOf(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var list []map[string]any
	if json.Unmarshal(body, &list) == nil {
		return list
	}
	var wrapped struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &wrapped); err != nil {
		t.Fatalf("pull answer: %v %.300s", err, body)
	}
	return wrapped.Items
}

// expectItems checks that every sent item (keyed by key) came back with
// each of its string fields as sent.
func expectItems(t *testing.T, what, key string, sent, got []map[string]any) {
	t.Helper()
	byKey := map[string]map[string]any{}
	for _, it := range got {
		byKey[fmt.Sprint(it[key])] = it
	}
	for _, it := range sent {
		back, ok := byKey[it[key].(string)]
		if !ok {
			t.Errorf("%s %q not read back", what, it[key])
			continue
		}
		for f, v := range it {
			if s, ok := v.(string); ok && back[f] != s {
				t.Errorf("%s %q: field %s read back %q, want %q", what, it[key], f, back[f], s)
			}
		}
	}
}

var newKeyOnPage = regexp.MustCompile(`id="new-key"[^>]*value="(pt_sk_[^"]+)"`)

// TestSecretsNeverLogged runs a whole session through the production
// composition logging JSON at DEBUG (the API, the dashboard and the worker
// into one buffer): a dashboard sign-up, log-out, a failed and a good
// log-in with a password, an API key created on the dashboard, exchanged
// for an access token, both used to create a project, upload a source and
// start a bulk mapping that the worker takes up; an unknown key, a tampered
// token and the operator token are presented too. No log line may hold
// any credential or configuration secret of the run.
func TestSecretsNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	s := newSecurityStack(t, nil)
	const password, wrongPassword = "Tr0ub4dor&3-horse-battery", "Tr0ub4dor&3-wrong-guess"
	browser, org, _ := s.signUp(t, "Secret Hospital", "secrets@security.example", password)
	if _, err := s.pool.Exec(context.Background(), `update organizations set plan = 'enterprise' where id = $1`, org.ID); err != nil {
		t.Fatal(err)
	}
	browser.get("/projects", 200)
	browser.post("/logout", url.Values{}, http.StatusSeeOther)
	browser.get("/login", 200)
	browser.post("/login", url.Values{"email": {"secrets@security.example"}, "password": {wrongPassword}}, 0)
	browser.get("/login", 200)
	browser.post("/login", url.Values{"email": {"secrets@security.example"}, "password": {password}}, http.StatusSeeOther)
	browser.get("/api-keys", 200)
	_, page := browser.post("/api-keys", url.Values{"name": {"ETL"}, "scope": {"write"}}, 0)
	m := newKeyOnPage.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no new key on the API keys page:\n%.2000s", page)
	}
	key := m[1]

	st, body := s.call(t, "POST", "/api/v1/auth/token", nil, "application/json", []byte(`{"api_key":"`+key+`"}`))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &tok); st != 200 || tok.AccessToken == "" {
		t.Fatalf("exchange the key: %d %s", st, body)
	}
	byKey := map[string]string{credential.HeaderAPIKey: key}
	byToken := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	st, body = s.call(t, "POST", "/api/v1/projects", byToken, "application/json", []byte(`{"name": "Secrets"}`))
	var project struct{ ID string }
	if json.Unmarshal(body, &project); st != 201 {
		t.Fatalf("create a project with the token: %d %s", st, body)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "codes.csv")
	io.WriteString(fw, "code,description,count\nGLU,glucose,3\nHB,haemoglobin,2\n")
	mw.Close()
	if st, body := s.call(t, "POST", "/api/v1/projects/"+project.ID+"/sources", byKey, mw.FormDataContentType(), mp.Bytes()); st != 201 {
		t.Fatalf("upload with the key: %d %s", st, body)
	}
	if st, body := s.call(t, "POST", "/api/v1/projects/"+project.ID+"/bulk-mapping", byKey, "", nil); st != 202 {
		t.Fatalf("start a bulk mapping with the key: %d %s", st, body)
	}
	run := workflows.BulkMappingWorkflowID(project.ID)
	admin := map[string]string{"Authorization": "Bearer " + secAdminToken}
	// The worker takes the mapping up (without a search index its
	// activity fails and retries, logging each failure): give it time to.
	if st, body := s.call(t, "GET", "/api/v1/workflows/"+run, admin, "", nil); st != 200 {
		t.Fatalf("the operator reading the bulk mapping: %d %s", st, body)
	}
	time.Sleep(3 * time.Second)
	unknown := credential.NewAPIKey()
	tampered := tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA"
	for _, h := range []map[string]string{{credential.HeaderAPIKey: unknown}, {"Authorization": "Bearer " + tampered}} {
		if st, _ := s.call(t, "GET", "/api/v1/projects", h, "", nil); st != 401 {
			t.Errorf("a bad credential: %d, want 401", st)
		}
	}
	browser.get("/projects/"+project.ID, 200)
	var session string
	for _, c := range browser.cookies {
		if strings.HasSuffix(c.Name, "portiere_session") && c.Value != "" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie seen")
	}
	time.Sleep(200 * time.Millisecond) // background writes and their logs

	logs := s.logs.String()
	if !strings.Contains(logs, "{") {
		t.Fatalf("nothing was logged: the test proves nothing")
	}
	for name, secret := range map[string]string{
		"the API key": key, "the API key's secret part": key[len(key)-20:], "the access token": tok.AccessToken,
		"the access token's signature": tok.AccessToken[strings.LastIndexByte(tok.AccessToken, '.')+1:],
		"the password":                 password, "the wrong password": wrongPassword, "JWT_SECRET": secJWTSecret, "API_KEY_SALT": secSalt,
		"ADMIN_TOKEN": secAdminToken, "the unknown key": unknown, "the tampered token": tampered, "the session cookie": session,
	} {
		if i := strings.Index(logs, secret); i >= 0 {
			t.Errorf("%s is in the logs: …%s…", name, logs[max(0, i-300):min(len(logs), i+len(secret)+50)])
		}
	}
	t.Logf("%d bytes, %d lines of logs scanned", len(logs), strings.Count(logs, "\n"))
}

// webGETRoute finds the GET routes the dashboard registers on its mux.
var webGETRoute = regexp.MustCompile(`mux\.Handle(?:Func)?\("GET (/[^"]*)"`)

// webPageParams are the values sent for the dashboard's path parameters.
func webPageParams(project, source, item string) map[string]string {
	return map[string]string{"id": project, "source": source, "item": item, "cid": "4548",
		"format": "source_to_concept_map", "token": "no-such-invitation", "$": ""}
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineEvent = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
)

// TestEveryWebPageSendsSecurityHeaders reads the dashboard's GET routes
// from its source (web/*.go: every mux.Handle("GET …"), so a new page is
// covered) and fetches each, signed in and anonymous, from the production
// composition with SESSION_COOKIE_SECURE over HTTPS: every answer carries
// a Content-Security-Policy whose scripts are 'self' only (no
// 'unsafe-inline' or 'unsafe-eval'), frame-ancestors 'none' and
// X-Frame-Options DENY, a Referrer-Policy that keeps paths on this origin,
// nosniff and HSTS; no HTML page has an inline script or event handler
// (the policy would block them). Every cookie set on the way (sign-up,
// log-in, pages) is __Host-, Secure, HttpOnly and SameSite.
func TestEveryWebPageSendsSecurityHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	s := newSecurityStack(t, map[string]string{"SESSION_COOKIE_SECURE": "true"})
	browser, org, owner := s.signUp(t, "Headers Hospital", "headers@security.example", "correct horse battery")
	browser.get("/projects", 200) // the session's CSRF token
	browser.post("/logout", url.Values{}, http.StatusSeeOther)
	browser.get("/login", 200)
	browser.post("/login", url.Values{"email": {"headers@security.example"}, "password": {"correct horse battery"}}, http.StatusSeeOther)
	auth := map[string]string{"Authorization": "Bearer " + s.ownerKey(t, org.ID, owner.ID)}
	st, body := s.call(t, "POST", "/api/v1/projects", auth, "application/json", []byte(`{"name": "Headers"}`))
	var project struct{ ID string }
	if json.Unmarshal(body, &project); st != 201 {
		t.Fatalf("create a project: %d %s", st, body)
	}
	push := `{"items": [{"source_code": "GLU", "source_description": "glucose", "confidence": 0.5}]}`
	if st, body := s.call(t, "POST", "/api/v1/sync/projects/"+project.ID+"/concept-mappings/bulk", auth, "application/json", []byte(push)); st != 200 {
		t.Fatalf("push an item: %d %s", st, body)
	}
	_, body = s.call(t, "GET", "/api/v1/sync/projects/"+project.ID+"/concept-mappings", auth, "", nil)
	items := itemsOf(t, body)
	if len(items) != 1 {
		t.Fatalf("items: %s", body)
	}
	st, body = s.call(t, "POST", "/api/v1/projects/"+project.ID+"/sources", auth, "application/json", []byte(`{"name": "lab", "path": "lab.csv"}`))
	var source struct{ ID string }
	if json.Unmarshal(body, &source); st != 201 {
		t.Fatalf("register a source: %d %s", st, body)
	}
	params := webPageParams(project.ID, source.ID, fmt.Sprint(items[0]["id"]))

	files, err := filepath.Glob("../../web/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var pages []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range webGETRoute.FindAllStringSubmatch(string(src), -1) {
			pages = append(pages, m[1])
		}
	}
	sort.Strings(pages)
	if len(pages) < 15 {
		t.Fatalf("only %d GET routes found in web/*.go: %v", len(pages), pages)
	}

	anonymous := newSecClient(t, s.web.URL)
	anonymous.c.Transport = s.web.Client().Transport
	checked := 0
	for _, route := range pages {
		path := route
		if route == "/static/" {
			path = "/static/app.css"
		}
		unknown := false
		path = pathParam.ReplaceAllStringFunc(path, func(p string) string {
			v, ok := params[strings.Trim(p, "{}")]
			unknown = unknown || !ok
			return v
		})
		if unknown {
			t.Errorf("GET %s has a parameter webPageParams does not know: teach it a value", route)
			continue
		}
		for _, c := range []*secClient{browser, anonymous} {
			req, _ := http.NewRequest(http.MethodGet, s.web.URL+path, nil)
			res, page := c.do(req, 0)
			who := "signed in"
			if c == anonymous {
				who = "anonymous"
			}
			name := fmt.Sprintf("GET %s (%s, %s): %d", route, path, who, res.StatusCode)
			if res.StatusCode >= 500 {
				t.Errorf("%s", name)
			}
			checkSecurityHeaders(t, name, res.Header)
			if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				for _, tag := range scriptTag.FindAllString(page, -1) {
					if !strings.Contains(tag, "src=") {
						t.Errorf("%s: inline script %s", name, tag)
					}
				}
				if m := inlineEvent.FindString(page); m != "" {
					t.Errorf("%s: inline event handler in %.200s", name, m)
				}
			}
			checked++
		}
	}
	if len(browser.cookies) < 2 {
		t.Fatalf("only %d cookies seen", len(browser.cookies))
	}
	for _, c := range append(browser.cookies, anonymous.cookies...) {
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
			(c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode) {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v, SameSite %v, Path %q, Domain %q; want __Host-, Secure, HttpOnly, SameSite Lax or Strict, Path /, no Domain",
				c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
		}
	}
	t.Logf("%d GET routes, %d answers and %d cookies checked", len(pages), checked, len(browser.cookies)+len(anonymous.cookies))
}

// checkSecurityHeaders checks the headers every dashboard answer carries.
func checkSecurityHeaders(t *testing.T, name string, h http.Header) {
	t.Helper()
	directives := map[string]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if k, v, _ := strings.Cut(strings.TrimSpace(d), " "); k != "" {
			directives[k] = v
		}
	}
	script, ok := directives["script-src"]
	if !ok {
		script, ok = directives["default-src"]
	}
	switch {
	case !ok:
		t.Errorf("%s: Content-Security-Policy %q restricts no script", name, h.Get("Content-Security-Policy"))
	case strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*") ||
		strings.Contains(script, "data:"):
		t.Errorf("%s: scripts allowed from %q", name, script)
	}
	if directives["frame-ancestors"] != "'none'" && directives["frame-ancestors"] != "'self'" {
		t.Errorf("%s: frame-ancestors %q", name, directives["frame-ancestors"])
	}
	if xfo := h.Get("X-Frame-Options"); xfo != "DENY" && xfo != "SAMEORIGIN" {
		t.Errorf("%s: X-Frame-Options %q", name, xfo)
	}
	switch h.Get("Referrer-Policy") {
	case "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("%s: Referrer-Policy %q", name, h.Get("Referrer-Policy"))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", name, h.Get("X-Content-Type-Options"))
	}
	if !strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("%s: no Strict-Transport-Security with SESSION_COOKIE_SECURE", name)
	}
}

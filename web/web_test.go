package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/web"
)

func TestSignUpLogInLogOut(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)

	res := b.get("/signup")
	if res.status != 200 || !strings.Contains(res.body, `<label for="email">Email</label>`) {
		t.Fatalf("sign-up page: %d\n%.300s", res.status, res.body)
	}
	// The sign-up form is CSRF-protected before any session exists.
	form := url.Values{"organization": {"Saint Mary Hospital"}, "name": {"Ana"}, "email": {"ana@example.org"}, "password": {"correct horse battery"}}
	bad := url.Values{"csrf_token": {"forged"}}
	for k, v := range form {
		bad[k] = v
	}
	if res := b.post("/signup", bad); res.status != http.StatusForbidden || !strings.Contains(res.body, "expired or was sent from another site") {
		t.Fatalf("sign-up with a forged CSRF token: %d", res.status)
	}
	if _, err := a.tenants.UserByEmail(context.Background(), "ana@example.org"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("a refused sign-up created the user: %v", err)
	}
	// Validation is a 422 page naming the problem.
	short := url.Values{"organization": {"X"}, "email": {"ana@example.org"}, "password": {"short"}}
	if res := b.post("/signup", short); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "at least 8 characters") {
		t.Fatalf("short password: %d", res.status)
	}

	res = b.post("/signup", form)
	if res.status != http.StatusSeeOther || res.location != "/projects?welcome=1" {
		t.Fatalf("sign up: %d %q\n%.500s", res.status, res.location, res.body)
	}
	var sess *http.Cookie
	for _, c := range res.cookies {
		if c.Name == "portiere_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", sess)
	}
	// The organization and its owner exist, the password is argon2id.
	ctx := context.Background()
	u, err := a.tenants.UserByEmail(ctx, "ana@example.org")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("user %+v %v", u, err)
	}
	org := a.org(t, "ana@example.org")
	if m, err := a.tenants.Membership(ctx, org.ID, u.ID); err != nil || m.Role != tenancy.RoleOwner || org.Slug != "saint-mary-hospital" {
		t.Fatalf("owner membership %+v %v, org %+v", m, err, org)
	}
	res = b.get("/projects?welcome=1")
	if res.status != 200 || !strings.Contains(res.body, "Saint Mary Hospital is ready") || !strings.Contains(res.body, "New project") {
		t.Fatalf("projects after sign-up: %d\n%.800s", res.status, res.body)
	}

	// The same email cannot sign up twice; the same organization name gets
	// another slug.
	other := a.browser(t)
	other.get("/signup")
	if res := other.post("/signup", form); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "exists already") {
		t.Fatalf("second sign-up with the same email: %d", res.status)
	}
	other.signUp("Saint Mary Hospital", "bo@example.org")
	if o := a.org(t, "bo@example.org"); o.Slug == org.Slug || !strings.HasPrefix(o.Slug, "saint-mary-hospital-") {
		t.Fatalf("second organization's slug %q", o.Slug)
	}

	// Log out ends the session on the server: the old cookie is refused.
	if res := b.post("/logout", nil); res.status != http.StatusSeeOther || res.location != "/login" {
		t.Fatalf("log out: %d %s", res.status, res.location)
	}
	replay := a.browser(t)
	replay.c.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: "portiere_session", Value: sess.Value}})
	if res := replay.get("/projects"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?next=") {
		t.Fatalf("projects with a logged-out session: %d %s", res.status, res.location)
	}

	// Log in: a wrong password is 401, the right one goes back to next.
	b.get("/login")
	if res := b.post("/login", url.Values{"email": {"ana@example.org"}, "password": {"wrong password"}}); res.status != http.StatusUnauthorized ||
		!strings.Contains(res.body, "email or password is not right") {
		t.Fatalf("wrong password: %d", res.status)
	}
	if res := b.post("/login", url.Values{"email": {"nobody@example.org"}, "password": {"wrong password"}}); res.status != http.StatusUnauthorized {
		t.Fatalf("unknown email: %d", res.status)
	}
	res = b.post("/login", url.Values{"email": {"ANA@example.org"}, "password": {"correct horse battery"}, "next": {"/vocabulary"}})
	if res.status != http.StatusSeeOther || res.location != "/vocabulary" {
		t.Fatalf("log in: %d %s", res.status, res.location)
	}
	// next never leaves the site.
	b2 := a.browser(t)
	b2.get("/login")
	if res := b2.post("/login", url.Values{"email": {"ana@example.org"}, "password": {"correct horse battery"}, "next": {"//evil.example/x"}}); res.location != "/projects" {
		t.Fatalf("open redirect: %s", res.location)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestLogInThrottle(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.browser(t)
	owner.signUp("Throttle Org", "t@example.org")

	b := a.browser(t)
	b.get("/login")
	wrong := url.Values{"email": {"t@example.org"}, "password": {"wrong password"}}
	for i := 0; i < 5; i++ {
		if res := b.post("/login", wrong); res.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, res.status)
		}
	}
	// The sixth attempt is refused before the password is checked, right
	// password or not.
	right := url.Values{"email": {"T@example.org"}, "password": {"correct horse battery"}}
	res := b.post("/login", right)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(res.body, "Too many") {
		t.Fatalf("sixth attempt: %d Retry-After=%q", res.status, res.header.Get("Retry-After"))
	}
	// Another email from the same address is not held back.
	if res := b.post("/login", url.Values{"email": {"other@example.org"}, "password": {"x"}}); res.status != http.StatusUnauthorized {
		t.Fatalf("another email: %d", res.status)
	}
	// A minute later the window has passed.
	a.clock.Add(61 * time.Second)
	if res := b.post("/login", right); res.status != http.StatusSeeOther {
		t.Fatalf("after the window: %d", res.status)
	}
}

// Every page needs a session: GETs are sent to the log-in page, posts are
// refused.
func TestPagesRequireSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.browser(t)
	owner.signUp("Auth Org", "auth@example.org")
	id := owner.createProject("P1")

	anon := a.browser(t)
	for _, p := range []string{"/projects", "/projects/new", "/projects/" + id, "/projects/" + id + "/delete", "/api-keys", "/vocabulary", "/vocabulary/index", "/profile", "/members"} {
		res := anon.get(p)
		if res.status != http.StatusSeeOther || res.location != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s anonymous: %d %s", p, res.status, res.location)
		}
	}
	anon.get("/login") // a valid anonymous CSRF token: refusal is for want of a session
	for _, p := range []string{"/projects", "/projects/" + id + "/settings", "/projects/" + id + "/delete", "/api-keys", "/organization", "/profile/sign-out-others"} {
		if res := anon.post(p, url.Values{"name": {"x"}, "confirm": {"P1"}}); res.status != http.StatusUnauthorized {
			t.Errorf("POST %s anonymous: %d", p, res.status)
		}
	}
	if _, err := a.tenants.Project(context.Background(), id); err != nil {
		t.Fatalf("project gone after anonymous posts: %v", err)
	}
	// htmx partials without a session send the page to the log-in form.
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/vocabulary/index", nil)
	req.Header.Set("HX-Request", "true")
	if res := anon.do(req); res.status != http.StatusNoContent || res.header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx partial anonymous: %d %q", res.status, res.header.Get("HX-Redirect"))
	}
	if res := anon.get("/"); res.status != http.StatusSeeOther || res.location != "/login" {
		t.Errorf("home anonymous: %d %s", res.status, res.location)
	}
	if res := owner.get("/"); res.status != http.StatusSeeOther || res.location != "/projects" {
		t.Errorf("home signed in: %d %s", res.status, res.location)
	}
}

// Every form refuses a missing or wrong CSRF token, and a cross-site post
// even with the right one.
func TestCSRFEnforcedOnEveryForm(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	b.signUp("CSRF Org", "csrf@example.org")
	id := b.createProject("Keep me")
	ctx := context.Background()
	key, _, err := tenancy.IssueAPIKey(ctx, a.tenants, a.hasher, tenancy.KeyRequest{OrganizationID: a.org(t, "csrf@example.org").ID, Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]url.Values{
		"/projects":                       {"name": {"New"}},
		"/projects/" + id + "/settings":   {"auto_threshold": {"0.9"}, "review_threshold": {"0.5"}, "second_reviewer": {"all"}},
		"/projects/" + id + "/delete":     {"confirm": {"Keep me"}},
		"/api-keys":                       {"name": {"forged"}, "scope": {"write"}},
		"/api-keys/" + key.ID + "/revoke": {},
		"/organization":                   {"organization_id": {a.org(t, "csrf@example.org").ID}},
		"/profile/sign-out-others":        {},
		"/logout":                         {},
	}
	for path, form := range forms {
		for _, token := range []string{"", "not-the-token"} {
			f := url.Values{"csrf_token": {token}}
			for k, v := range form {
				f[k] = v
			}
			if res := b.post(path, f); res.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d", path, token, res.status)
			}
		}
		if res := b.post(path, form, "Origin", "https://evil.example"); res.status != http.StatusForbidden {
			t.Errorf("POST %s from another origin: %d", path, res.status)
		}
		if res := b.post(path, form, "Sec-Fetch-Site", "cross-site"); res.status != http.StatusForbidden {
			t.Errorf("POST %s cross-site: %d", path, res.status)
		}
	}
	// Nothing happened.
	p, err := a.tenants.Project(ctx, id)
	if err != nil || p.Settings.AutoThreshold != 0 {
		t.Fatalf("project after forged posts: %+v %v", p, err)
	}
	keys, _ := a.tenants.APIKeys(ctx, p.OrganizationID)
	if len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("keys after forged posts: %+v", keys)
	}
	if res := b.get("/projects"); res.status != 200 {
		t.Fatalf("still signed in after forged log-out: %d", res.status)
	}
	// The htmx header carries the token too.
	if res := b.post("/projects", url.Values{"csrf_token": {""}, "name": {"Via header"}}, "X-CSRF-Token", b.csrf); res.status != http.StatusSeeOther {
		t.Fatalf("token in X-CSRF-Token: %d", res.status)
	}
}

func TestProjectSettingsAndDelete(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	b.signUp("Settings Org", "s@example.org")
	id := b.createProject("Cardiology")
	ctx := context.Background()
	if _, err := a.pool.Exec(ctx, `insert into vocabulary (vocabulary_id, vocabulary_name, vocabulary_concept_id) values ('SNOMED', 'SNOMED CT', 0), ('LOINC', 'LOINC', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `insert into concept (concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date)
		values (1, 'Asthma', 'Condition', 'SNOMED', 'Clinical Finding', 'S', '195967001', '2000-01-01', '2099-12-31'),
		       (2, 'Glucose', 'Measurement', 'LOINC', 'Lab Test', 'S', '2345-7', '2000-01-01', '2099-12-31')`); err != nil {
		t.Fatal(err)
	}

	res := b.get("/projects/" + id + "?created=1")
	if res.status != 200 || !strings.Contains(res.body, "Project created") || !strings.Contains(res.body, "loaded: LOINC, SNOMED") ||
		!strings.Contains(res.body, "https://api.example.org/api/v1/projects/"+id) {
		t.Fatalf("project page: %d\n%.1500s", res.status, res.body)
	}
	res = b.post("/projects/"+id+"/settings", url.Values{"vocabularies": {"SNOMED, LOINC"}, "domains": {"Condition,Measurement"},
		"auto_threshold": {"0.9"}, "review_threshold": {"0.6"}, "second_reviewer": {"overrides"}})
	if res.status != http.StatusSeeOther || res.location != "/projects/"+id+"?saved=1" {
		t.Fatalf("save settings: %d %s\n%.800s", res.status, res.location, res.body)
	}
	p, _ := a.tenants.Project(ctx, id)
	want := tenancy.Settings{Vocabularies: []string{"SNOMED", "LOINC"}, Domains: []string{"Condition", "Measurement"}, AutoThreshold: 0.9, ReviewThreshold: 0.6, SecondReviewer: tenancy.SecondReviewerOverrides}
	if strings.Join(p.Settings.Vocabularies, ",") != "SNOMED,LOINC" || strings.Join(p.Settings.Domains, ",") != "Condition,Measurement" ||
		p.Settings.AutoThreshold != want.AutoThreshold || p.Settings.ReviewThreshold != want.ReviewThreshold || p.Settings.SecondReviewer != want.SecondReviewer {
		t.Fatalf("settings stored %+v", p.Settings)
	}
	if res := b.get("/projects/" + id + "?saved=1"); !strings.Contains(res.body, "Settings saved") || !strings.Contains(res.body, `value="SNOMED, LOINC"`) {
		t.Fatalf("page after save:\n%.1500s", res.body)
	}
	// Invalid settings: 422 naming the problem, nothing stored.
	for _, bad := range []url.Values{
		{"auto_threshold": {"1.5"}},
		{"auto_threshold": {"0.4"}, "review_threshold": {"0.8"}},
		{"second_reviewer": {"sometimes"}},
		{"vocabularies": {"SNOMED, ICD99"}},
	} {
		res := b.post("/projects/"+id+"/settings", bad)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `role="alert"`) {
			t.Errorf("settings %v: %d", bad, res.status)
		}
	}
	if p2, _ := a.tenants.Project(ctx, id); p2.Settings.AutoThreshold != 0.9 {
		t.Fatalf("a refused form changed the settings: %+v", p2.Settings)
	}
	// A project name taken in the organization is a 422.
	if res := b.post("/projects", url.Values{"name": {"Cardiology"}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "exists already") {
		t.Fatalf("duplicate project: %d", res.status)
	}

	// Delete asks for the name; a wrong one deletes nothing.
	if res := b.get("/projects/" + id + "/delete"); res.status != 200 || !strings.Contains(res.body, "Type the project") {
		t.Fatalf("delete page: %d", res.status)
	}
	if res := b.post("/projects/"+id+"/delete", url.Values{"confirm": {"cardiology"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("delete with the wrong name: %d", res.status)
	}
	if _, err := a.tenants.Project(ctx, id); err != nil {
		t.Fatalf("project deleted without confirmation: %v", err)
	}
	if res := b.post("/projects/"+id+"/delete", url.Values{"confirm": {"Cardiology"}}); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/projects?deleted=") {
		t.Fatalf("delete: %d %s", res.status, res.location)
	}
	if _, err := a.tenants.Project(ctx, id); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("project still there: %v", err)
	}
	if res := b.get("/projects/" + id); res.status != http.StatusNotFound || !strings.Contains(res.body, "Page not found") {
		t.Fatalf("deleted project page: %d", res.status)
	}
}

// Viewers and members read; only admins and owners change settings,
// delete projects or manage keys.
func TestRoleRules(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.browser(t)
	owner.signUp("Roles Org", "owner@example.org")
	id := owner.createProject("Shared")
	org := a.org(t, "owner@example.org")
	ctx := context.Background()
	key, _, err := tenancy.IssueAPIKey(ctx, a.tenants, a.hasher, tenancy.KeyRequest{OrganizationID: org.ID, Name: "k"})
	if err != nil {
		t.Fatal(err)
	}

	for _, role := range []tenancy.Role{tenancy.RoleViewer, tenancy.RoleMember} {
		b := a.member(t, org.ID, string(role)+"@example.org", role)
		if res := b.get("/projects"); res.status != 200 || !strings.Contains(res.body, "Shared") || strings.Contains(res.body, "New project") || strings.Contains(res.body, `href="/api-keys"`) {
			t.Errorf("%s: projects page %d (new-project button shown: %v)", role, res.status, strings.Contains(res.body, "New project"))
		}
		res := b.get("/projects/" + id)
		if res.status != 200 || !strings.Contains(res.body, "Only admins and owners") || strings.Contains(res.body, "Save settings") || !strings.Contains(res.body, "<fieldset disabled>") {
			t.Errorf("%s: project page %d", role, res.status)
		}
		if res := b.get("/vocabulary"); res.status != 200 {
			t.Errorf("%s: vocabulary page %d", role, res.status)
		}
		if res := b.get("/members"); res.status != 200 || !strings.Contains(res.body, "owner@example.org") || !strings.Contains(res.body, "(you)") {
			t.Errorf("%s: members page %d", role, res.status)
		}
		for _, p := range []string{"/projects/new", "/projects/" + id + "/delete", "/api-keys"} {
			if res := b.get(p); res.status != http.StatusForbidden || !strings.Contains(res.body, "Not allowed") {
				t.Errorf("%s: GET %s: %d", role, p, res.status)
			}
		}
		for p, form := range map[string]url.Values{
			"/projects":                       {"name": {"Mine"}},
			"/projects/" + id + "/settings":   {"auto_threshold": {"0.9"}},
			"/projects/" + id + "/delete":     {"confirm": {"Shared"}},
			"/api-keys":                       {"name": {"mine"}},
			"/api-keys/" + key.ID + "/revoke": {},
		} {
			if res := b.post(p, form); res.status != http.StatusForbidden {
				t.Errorf("%s: POST %s: %d", role, p, res.status)
			}
		}
	}
	p, err := a.tenants.Project(ctx, id)
	if err != nil || p.Settings.AutoThreshold != 0 {
		t.Fatalf("project after refused posts: %+v %v", p, err)
	}
	if ps, _ := a.tenants.Projects(ctx, org.ID); len(ps) != 1 {
		t.Fatalf("projects after refused posts: %d", len(ps))
	}
	keys, _ := a.tenants.APIKeys(ctx, org.ID)
	if len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("keys after refused posts: %+v", keys)
	}

	// An admin may do all of it.
	admin := a.member(t, org.ID, "admin@example.org", tenancy.RoleAdmin)
	if res := admin.post("/projects/"+id+"/settings", url.Values{"auto_threshold": {"0.95"}, "second_reviewer": {"all"}}); res.status != http.StatusSeeOther {
		t.Fatalf("admin saves settings: %d", res.status)
	}
	if res := admin.get("/api-keys"); res.status != 200 {
		t.Fatalf("admin key page: %d", res.status)
	}
}

// Another organization's project and keys are 404, exactly like ids that
// do not exist.
func TestOtherOrganizationIsNotFound(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	alice := a.browser(t)
	alice.signUp("Alpha", "alice@example.org")
	id := alice.createProject("Alpha secret")
	ctx := context.Background()
	key, _, err := tenancy.IssueAPIKey(ctx, a.tenants, a.hasher, tenancy.KeyRequest{OrganizationID: a.org(t, "alice@example.org").ID, Name: "alpha"})
	if err != nil {
		t.Fatal(err)
	}

	bob := a.browser(t)
	bob.signUp("Beta", "bob@example.org")
	for _, p := range []string{"/projects/" + id, "/projects/" + id + "/delete", "/projects/not-a-uuid", "/projects/00000000-0000-0000-0000-000000000000"} {
		if res := bob.get(p); res.status != http.StatusNotFound || strings.Contains(res.body, "Alpha secret") {
			t.Errorf("GET %s from another organization: %d", p, res.status)
		}
	}
	for p, form := range map[string]url.Values{
		"/projects/" + id + "/settings":   {"auto_threshold": {"0.9"}},
		"/projects/" + id + "/delete":     {"confirm": {"Alpha secret"}},
		"/api-keys/" + key.ID + "/revoke": {},
		"/organization":                   {"organization_id": {a.org(t, "alice@example.org").ID}},
	} {
		if res := bob.post(p, form); res.status != http.StatusNotFound {
			t.Errorf("POST %s from another organization: %d", p, res.status)
		}
	}
	// A key for Alpha's project cannot be made from Beta either.
	bob.get("/api-keys")
	if res := bob.post("/api-keys", url.Values{"name": {"sneaky"}, "project_id": {id}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("key for another organization's project: %d", res.status)
	}
	if res := bob.get("/projects"); strings.Contains(res.body, "Alpha secret") {
		t.Error("another organization's project listed")
	}
	if res := bob.get("/members"); res.status != 200 || strings.Contains(res.body, "alice@example.org") || !strings.Contains(res.body, "bob@example.org") {
		t.Errorf("members page of Beta: %d (lists Alpha's member: %v)", res.status, strings.Contains(res.body, "alice@example.org"))
	}
	p, err := a.tenants.Project(ctx, id)
	if err != nil || p.Settings.AutoThreshold != 0 {
		t.Fatalf("Alpha's project after Beta's posts: %+v %v", p, err)
	}
	keys, _ := a.tenants.APIKeys(ctx, p.OrganizationID)
	if len(keys) != 1 || keys[0].RevokedAt != nil {
		t.Fatalf("Alpha's keys after Beta's posts: %+v", keys)
	}
}

var shownKey = regexp.MustCompile(`id="new-key" class="mono" readonly value="(pt_sk_[a-z2-7]{52})"`)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	b.signUp("Keys Org", "k@example.org")
	id := b.createProject("Oncology")
	org := a.org(t, "k@example.org")
	ctx := context.Background()

	res := b.get("/api-keys")
	if res.status != 200 || !strings.Contains(res.body, "No keys yet") || !strings.Contains(res.body, "https://api.example.org/docs") {
		t.Fatalf("keys page: %d\n%.800s", res.status, res.body)
	}
	if res := b.post("/api-keys", url.Values{"name": {""}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("key without a name: %d", res.status)
	}
	if res := b.post("/api-keys", url.Values{"name": {"x"}, "scope": {"admin"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown scope: %d", res.status)
	}
	res = b.post("/api-keys", url.Values{"name": {"ETL"}, "scope": {"write"}, "project_id": {id}})
	m := shownKey.FindStringSubmatch(res.body)
	if res.status != http.StatusCreated || m == nil || !strings.Contains(res.body, "shown only this once") || !strings.Contains(res.body, `data-copy="new-key"`) {
		t.Fatalf("create key: %d\n%.1500s", res.status, res.body)
	}
	// The key shown is the one stored (by HMAC), with its scope, project
	// and creator; the page is never cached.
	stored, err := a.tenants.APIKeyByHash(ctx, a.hasher.Hash(m[1]).String())
	if err != nil || stored.OrganizationID != org.ID || stored.ProjectID != id || tenancy.KeyScope(stored) != credential.ScopeWrite || stored.Name != "ETL" {
		t.Fatalf("stored key %+v %v", stored, err)
	}
	if res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("key page Cache-Control %q", res.header.Get("Cache-Control"))
	}
	// The list shows the prefix, never the key.
	res = b.get("/api-keys")
	if strings.Contains(res.body, m[1]) || !strings.Contains(res.body, stored.Prefix+"…") || !strings.Contains(res.body, "Oncology") {
		t.Fatalf("list shows the key or misses the prefix:\n%.1500s", res.body)
	}
	// Revoke through htmx: the row comes back revoked.
	res = b.post("/api-keys/"+stored.ID+"/revoke", nil, "HX-Request", "true")
	if res.status != 200 || !strings.Contains(res.body, `<tr id="key-`+stored.ID+`"`) || !strings.Contains(res.body, "revoked") || strings.Contains(res.body, "<html") {
		t.Fatalf("htmx revoke: %d\n%.600s", res.status, res.body)
	}
	if k, _ := a.tenants.APIKeyByHash(ctx, stored.Hash); k.RevokedAt == nil {
		t.Fatal("key not revoked")
	}
	// Revoke as a plain form: back to the list.
	_, key2, err := tenancy.IssueAPIKey(ctx, a.tenants, a.hasher, tenancy.KeyRequest{OrganizationID: org.ID, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := a.tenants.APIKeyByHash(ctx, a.hasher.Hash(key2).String())
	if res := b.post("/api-keys/"+k2.ID+"/revoke", nil); res.status != http.StatusSeeOther || res.location != "/api-keys?revoked=1" {
		t.Fatalf("form revoke: %d %s", res.status, res.location)
	}
	if res := b.post("/api-keys/00000000-0000-0000-0000-000000000000/revoke", nil); res.status != http.StatusNotFound {
		t.Fatalf("revoke an unknown key: %d", res.status)
	}
}

func TestOrganizationSwitcher(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	b.signUp("First Org", "multi@example.org")
	b.createProject("First project")
	other := a.browser(t)
	other.signUp("Second Org", "second@example.org")
	other.createProject("Second project")
	second := a.org(t, "second@example.org")
	ctx := context.Background()
	u, _ := a.tenants.UserByEmail(ctx, "multi@example.org")
	if _, err := a.tenants.AddMember(ctx, tenancy.Membership{OrganizationID: second.ID, UserID: u.ID, Role: tenancy.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	res := b.get("/projects")
	if !strings.Contains(res.body, `<label for="org-switch">Organization</label>`) || !strings.Contains(res.body, "First project") {
		t.Fatalf("switcher missing:\n%.1500s", res.body)
	}
	if res := b.post("/organization", url.Values{"organization_id": {second.ID}}); res.status != http.StatusSeeOther {
		t.Fatalf("switch: %d", res.status)
	}
	res = b.get("/projects")
	if !strings.Contains(res.body, "Second project") || strings.Contains(res.body, "First project") || strings.Contains(res.body, "New project") {
		t.Fatalf("after switching to the organization where the user is a viewer:\n%.1500s", res.body)
	}
	if res := b.get("/profile"); res.status != 200 || !strings.Contains(res.body, "Second Org") || !strings.Contains(res.body, "viewer") || !strings.Contains(res.body, "multi@example.org") {
		t.Fatalf("profile: %d", res.status)
	}
}

func TestSignOutOtherSessions(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	laptop := a.browser(t)
	laptop.signUp("Sessions Org", "sess@example.org")
	phone := a.browser(t)
	phone.logIn("sess@example.org")
	res := laptop.post("/profile/sign-out-others", nil)
	if res.status != http.StatusSeeOther || res.location != "/profile?ended=1" {
		t.Fatalf("sign out others: %d %s", res.status, res.location)
	}
	if res := phone.get("/projects"); res.status != http.StatusSeeOther {
		t.Fatalf("the other session still works: %d", res.status)
	}
	if res := laptop.get("/projects"); res.status != 200 {
		t.Fatalf("the current session ended: %d", res.status)
	}
	// A session ends when it expires.
	a.clock.Add(13 * time.Hour)
	if res := laptop.get("/projects"); res.status != http.StatusSeeOther {
		t.Fatalf("an expired session still works: %d", res.status)
	}
}

func TestVocabularyPage(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(c *web.Config) {
		c.Index = func(context.Context) web.IndexState {
			return web.IndexState{State: "serving", Version: "abc123def456-hash-256", Embedder: "hash-256", Concepts: 3}
		}
	})
	b := a.browser(t)
	b.signUp("Vocab Org", "v@example.org")
	res := b.get("/vocabulary")
	if res.status != 200 || !strings.Contains(res.body, "No vocabulary has been imported yet") || !strings.Contains(res.body, "The concept table is empty") {
		t.Fatalf("empty vocabulary page: %d\n%.1500s", res.status, res.body)
	}
	ctx := context.Background()
	if _, err := a.pool.Exec(ctx, `insert into vocabulary (vocabulary_id, vocabulary_name, vocabulary_version, vocabulary_concept_id) values ('SNOMED', 'SNOMED CT', '2026-07', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `insert into concept (concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date)
		select g, 'c' || g, 'Condition', 'SNOMED', 'Clinical Finding', case when g <= 1200 then 'S' end, g::text, '2000-01-01', '2099-12-31' from generate_series(1, 1500) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `insert into vocabulary_imports (status, source, fingerprint, finished_at, report) values ('succeeded', '/data/athena-2026-07', 'f00dfeed', now(), '{}')`); err != nil {
		t.Fatal(err)
	}
	res = b.get("/vocabulary")
	for _, want := range []string{"/data/athena-2026-07", "f00dfeed", "SNOMED", "2026-07", ">1,500<", ">1,200<", "abc123def456-hash-256", "serving"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("vocabulary page lacks %q", want)
		}
	}
	if res := b.get("/vocabulary/index"); res.status != 200 || !strings.HasPrefix(strings.TrimSpace(res.body), `<div id="index-state"`) {
		t.Fatalf("index fragment: %d %.200s", res.status, res.body)
	}
}

func TestHeadersAssetsAndErrorPages(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	res := b.get("/login")
	for h, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self'", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "same-origin", "Cache-Control": "no-store",
	} {
		if !strings.Contains(res.header.Get(h), want) {
			t.Errorf("%s = %q, want %q in it", h, res.header.Get(h), want)
		}
	}
	if !strings.Contains(res.body, `<a class="skip" href="#main">`) || !strings.Contains(res.body, `name="viewport"`) || !strings.Contains(res.body, `<html lang="en">`) {
		t.Error("layout lacks the skip link, viewport or language")
	}
	for path, want := range map[string]string{"/static/htmx.min.js": "htmx", "/static/app.css": ":focus-visible", "/static/app.js": "data-copy", "/static/htmx.LICENSE.txt": "Zero-Clause BSD"} {
		res := b.get(path)
		if res.status != 200 || !strings.Contains(res.body, want) || res.header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("GET %s: %d %q", path, res.status, res.header.Get("Cache-Control"))
		}
	}
	res = b.get("/no/such/page")
	if res.status != 404 || !strings.Contains(res.body, "Page not found") || !strings.Contains(res.body, "<html") {
		t.Errorf("404 page: %d %.200s", res.status, res.body)
	}
	if res := b.get("/healthz"); res.status != 200 {
		t.Errorf("healthz: %d", res.status)
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(c *web.Config) { c.CookieSecure = true })
	b := a.browser(t)
	res := b.get("/signup")
	var csrf *http.Cookie
	for _, c := range res.cookies {
		if c.Name == "__Host-portiere_csrf" {
			csrf = c
		}
	}
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly || res.header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("CSRF cookie %+v, HSTS %q", csrf, res.header.Get("Strict-Transport-Security"))
	}
	// The test client does not send Secure cookies over http, so pass it
	// by hand: sign-up then sets a Secure session cookie.
	form := url.Values{"csrf_token": {csrf.Value}, "organization": {"Secure Org"}, "email": {"sec@example.org"}, "password": {"correct horse battery"}}
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	r := b.do(req)
	var sess *http.Cookie
	for _, c := range r.cookies {
		if c.Name == "__Host-portiere_session" {
			sess = c
		}
	}
	if r.status != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("secure sign-up: %d, cookie %+v", r.status, sess)
	}
}

func TestMapperAppNeedsItsServices(t *testing.T) {
	_, err := web.New(web.Config{App: web.AppMapper})
	if err == nil || !strings.Contains(err.Error(), "Mappers") {
		t.Fatalf("mapper app: %v", err)
	}
}

func TestSignUpThrottle(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for i := 0; i < 10; i++ {
		a.browser(t).signUp(fmt.Sprintf("Org %d", i), fmt.Sprintf("u%d@example.org", i))
	}
	b := a.browser(t)
	b.get("/signup")
	res := b.post("/signup", url.Values{"organization": {"One too many"}, "email": {"late@example.org"}, "password": {"correct horse battery"}})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("eleventh sign-up in an hour: %d", res.status)
	}
	if _, err := a.tenants.UserByEmail(context.Background(), "late@example.org"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("the refused sign-up created its user: %v", err)
	}
	a.clock.Add(time.Hour)
	if res := b.post("/signup", url.Values{"organization": {"One too many"}, "email": {"late@example.org"}, "password": {"correct horse battery"}}); res.status != http.StatusSeeOther {
		t.Fatalf("an hour later: %d", res.status)
	}
}

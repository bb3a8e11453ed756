package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/crowd/crowdstore"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/line/linetest"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/web"
)

const (
	testChannel = "1660000001"
	adminLineID = "Uadmin00000000000000000000000000a"
)

// mapperApp is the mapper app on its own database with a local LINE issuer.
type mapperApp struct {
	*app
	issuer *linetest.Issuer
	svc    *mapper.Service
	st     *mapperstore.Store
	crowd  *crowd.Service
}

// crowdTasks makes an organization with a project whose items (codes)
// are proposed by the engine with two candidates, sends them to the crowd
// and returns the tasks' ids by code.
func (ma *mapperApp) crowdTasks(t *testing.T, codes ...string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	tenants := tenancystore.New(ma.pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Hospital", Slug: "hospital-" + mapper.NewID("")[:8]})
	if err != nil {
		t.Fatal(err)
	}
	project, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "Lab codes"})
	if err != nil {
		t.Fatal(err)
	}
	jobs := mappingjobstore.New(ma.pool)
	cands := []mappingjob.Candidate{
		{ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.62,
			Explanation: []byte(`{"lexical_rank":1,"lexical_score":7.5,"matched_text":"type 2 diabetes","matched_field":"name"}`)},
		{ConceptID: 201254, ConceptName: "Type 1 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.48},
	}
	var items []mappingjob.Item
	for _, c := range codes {
		items = append(items, mappingjob.Item{Source: "S", Code: c, Description: "diabetes type II " + c, ConceptID: 201826,
			TargetName: "Type 2 diabetes mellitus", TargetVocabulary: "SNOMED", TargetDomain: "Condition",
			Candidates: cands, Confidence: 0.62, Method: mappingjob.MethodReview, Provenance: mappingjob.Provenance{"engine_version": "test"}})
	}
	if err := jobs.UpsertItems(ctx, project.ID, items); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range codes {
		it, err := jobs.Item(ctx, project.ID, "S", c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	sts, err := ma.crowd.Submit(ctx, crowd.Submission{OrganizationID: org.ID, ProjectID: project.ID, ItemIDs: ids, SubmittedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for i, st := range sts {
		out[codes[i]] = st.TaskID
	}
	return out
}

func newMapperApp(t *testing.T, mod ...func(*web.Config)) *mapperApp {
	t.Helper()
	pool := dbtest.New(t)
	return newMapperAppWithPool(t, pool, mod...)
}

func newMapperAppWithPool(t *testing.T, pool *pgxpool.Pool, mod ...func(*web.Config)) *mapperApp {
	t.Helper()
	issuer, base := linetest.Start(t, testChannel)
	verifier, err := line.NewVerifier(line.VerifierOptions{BaseURL: base, ChannelID: testChannel})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := mapper.NewSealer([]mapper.Key{{ID: "k1", Key: bytes.Repeat([]byte{3}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	st := mapperstore.New(pool)
	svc := mapper.NewService(st, sealer, mapper.NewAdmins([]string{adminLineID}), mapper.Options{MaxDocumentBytes: 64 << 10})
	a := &app{pool: pool, clock: &clock{t: time.Now()}}
	crowdSvc, err := crowd.NewService(crowdstore.New(pool), st, mappingjobstore.New(pool), crowd.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := web.Config{App: web.AppMapper, Sessions: mapperstore.NewSessions(pool), Concepts: vocabstore.New(pool),
		MapperConfig: web.MapperConfig{Mappers: svc, LineLogin: verifier, LIFFID: "1660000001-test", Crowd: crowdSvc},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)), Now: a.clock.Now}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CookieSecure {
		a.srv = httptest.NewTLSServer(s)
	} else {
		a.srv = httptest.NewServer(s)
	}
	t.Cleanup(a.srv.Close)
	return &mapperApp{app: a, issuer: issuer, svc: svc, st: st, crowd: crowdSvc}
}

// lineLogin signs a new browser in with a token the local issuer signs.
func (ma *mapperApp) lineLogin(t *testing.T, lineUserID, name string) *browser {
	t.Helper()
	b := ma.browser(t)
	b.get("/login")
	res := b.post("/login/line", url.Values{"id_token": {ma.issuer.Issue(linetest.Token{Subject: lineUserID, Name: name})}})
	if res.status != http.StatusSeeOther || res.location != "/" {
		t.Fatalf("LINE login of %s: %d %s\n%.400s", lineUserID, res.status, res.location, res.body)
	}
	b.get("/documents") // picks up the session's CSRF token (a page every mapper sees)
	return b
}

func goodRegistration() url.Values {
	return url.Values{"legal_name": {"Somchai Jaidee"}, "email": {"somchai@example.org"}, "title": {"Clinical coder"},
		"affiliation": {"Siriraj Hospital"}, "vocabularies": {"ICD10CM", "SNOMED"}, "domains": {"Condition"},
		"other_expertise": {"WHO-Drug"}, "years_experience": {"8"}}
}

// upload posts a KYC document as the browser's form does (csrf_token first).
func (b *browser) uploadKYC(kind string, content []byte) response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.csrf)
	mw.WriteField("kind", kind)
	fw, _ := mw.CreateFormFile("document", "scan.bin")
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+"/documents", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var testPDF = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")

func (ma *mapperApp) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := ma.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMapperLineLogin(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t)
	b := ma.browser(t)
	res := b.get("/login")
	if res.status != 200 || !strings.Contains(res.body, `data-liff-id="1660000001-test"`) || strings.Contains(res.body, "/login/dev") {
		t.Fatalf("login page: %d\n%.600s", res.status, res.body)
	}
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://static.line-scdn.net") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	user := "U1111111111111111111111111111111a"
	for name, tok := range map[string]string{
		"forged":        ma.issuer.Forge(linetest.Token{Subject: user}),
		"expired":       ma.issuer.Issue(linetest.Token{Subject: user, ExpiresAt: time.Now().Add(-time.Minute)}),
		"other channel": ma.issuer.Issue(linetest.Token{Subject: user, Audience: "1669999999"}),
		"garbage":       "not-a-token",
	} {
		res := b.post("/login/line", url.Values{"id_token": {tok}})
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, "LINE could not confirm") {
			t.Errorf("%s token: %d %s", name, res.status, res.location)
		}
		for _, c := range res.cookies {
			if c.Name == "portiere_session" && c.Value != "" {
				t.Errorf("%s token: a session cookie was set", name)
			}
		}
	}
	if n := ma.count(t, `select count(*) from mappers`); n != 0 {
		t.Fatalf("refused tokens created %d mappers", n)
	}
	if n := ma.count(t, `select count(*) from mapper_sessions`); n != 0 {
		t.Fatalf("refused tokens created %d sessions", n)
	}
	// Without the CSRF token a valid token is refused too.
	if res := b.post("/login/line", url.Values{"id_token": {ma.issuer.Issue(linetest.Token{Subject: user})}, "csrf_token": {""}}); res.status != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", res.status)
	}
	res = b.post("/login/line", url.Values{"id_token": {ma.issuer.Issue(linetest.Token{Subject: user, Name: "Somchai"})}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("valid token: %d\n%.400s", res.status, res.body)
	}
	if res := b.get("/"); res.location != "/register" {
		t.Fatalf("a new mapper lands on %q", res.location)
	}
	// The development login is off unless enabled.
	b.get("/documents")
	if res := b.post("/login/dev", url.Values{"line_user_id": {adminLineID}}); res.status != http.StatusNotFound {
		t.Fatalf("dev login while disabled: %d", res.status)
	}
	// Log out ends the session server-side.
	b.get("/status")
	b.post("/logout", nil)
	if res := b.get("/status"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
		t.Fatalf("after log-out: %d %s", res.status, res.location)
	}
}

func TestMapperDevLogin(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t, func(c *web.Config) { c.DevLogin, c.LineLogin, c.LIFFID = true, nil, "" })
	b := ma.browser(t)
	if res := b.get("/login"); !strings.Contains(res.body, "/login/dev") || strings.Contains(res.body, "static.line-scdn.net") {
		t.Fatalf("dev login page:\n%.600s", res.body)
	}
	if res := b.post("/login/dev", url.Values{"line_user_id": {""}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("empty id: %d", res.status)
	}
	if res := b.post("/login/dev", url.Values{"line_user_id": {"Udev1"}, "display_name": {"Dev"}}); res.status != http.StatusSeeOther {
		t.Fatalf("dev login: %d", res.status)
	}
	if res := b.post("/login/line", url.Values{"id_token": {"x.y.z"}}); res.status != http.StatusForbidden && res.status != http.StatusNotFound {
		t.Fatalf("LINE login without LINE configured: %d", res.status)
	}
	// With no way to sign in configured, the page says what to set.
	bare := newMapperAppWithPool(t, ma.pool, func(c *web.Config) { c.DevLogin, c.LineLogin, c.LIFFID = false, nil, "" })
	if res := bare.browser(t).get("/login"); !strings.Contains(res.body, `id="no-sign-in"`) || strings.Contains(res.body, "/login/dev") {
		t.Fatalf("unconfigured sign-in page:\n%.1500s", res.body)
	}
}

func TestMapperOnboarding(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t)
	b := ma.lineLogin(t, "U2222222222222222222222222222222b", "Somchai")

	bad := goodRegistration()
	bad.Set("email", "somchai at example")
	bad.Set("years_experience", "many")
	bad.Del("vocabularies")
	bad.Del("domains")
	bad.Set("other_expertise", "")
	res := b.post("/register", bad)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Enter a valid email address") ||
		!strings.Contains(res.body, "years of experience as a whole number") || !strings.Contains(res.body, "at least one vocabulary or domain") ||
		!strings.Contains(res.body, `value="Somchai Jaidee"`) {
		t.Fatalf("invalid registration: %d\n%.3000s", res.status, res.body)
	}
	if n := ma.count(t, `select count(*) from mappers where status = 'pending'`); n != 0 {
		t.Fatal("an invalid registration was submitted")
	}
	res = b.post("/register", goodRegistration())
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/documents") {
		t.Fatalf("registration: %d %s\n%.1000s", res.status, res.location, res.body)
	}
	m, _ := ma.svc.SignIn(context.Background(), "U2222222222222222222222222222222b", "")
	if m.Status != mapper.StatusPending || strings.Join(m.Expertise.Vocabularies, ",") != "ICD10CM,SNOMED,WHO-Drug" || m.YearsExperience != 8 {
		t.Fatalf("stored %+v", m)
	}
	// A pending application cannot be resubmitted; the form sends to status.
	if res := b.get("/register"); res.location != "/status" {
		t.Fatalf("register while pending: %d %s", res.status, res.location)
	}

	b.get("/documents")
	if res := b.uploadKYC("government_id", []byte("<html><script>alert(1)</script></html>")); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "upload a JPEG, PNG or WebP photo or a PDF") {
		t.Fatalf("html upload: %d\n%.800s", res.status, res.body)
	}
	big := append(append([]byte{}, testPDF...), make([]byte, 64<<10)...)
	if res := b.uploadKYC("government_id", big); res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize upload: %d", res.status)
	}
	if res := b.uploadKYC("selfie", testPDF); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown kind: %d", res.status)
	}
	if res := b.uploadKYC("government_id", testPDF); res.status != http.StatusSeeOther {
		t.Fatalf("pdf upload: %d\n%.800s", res.status, res.body)
	}
	if n := ma.count(t, `select count(*) from mapper_documents where mapper_id = $1`, m.ID); n != 1 {
		t.Fatalf("%d documents stored", n)
	}
	res = b.get("/status")
	if res.status != 200 || !strings.Contains(res.body, `id="status">pending`) || !strings.Contains(res.body, "Your documents (1)") {
		t.Fatalf("pending status page:\n%.2000s", res.body)
	}
	// No crowd page reaches a pending mapper; the admin area is 403.
	if res := b.get("/admin"); res.status != http.StatusForbidden {
		t.Fatalf("pending mapper on /admin: %d", res.status)
	}
}

func TestMapperAdminReview(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t)
	ctx := context.Background()
	applicant := ma.lineLogin(t, "U3333333333333333333333333333333c", "Applicant")
	applicant.post("/register", goodRegistration())
	applicant.get("/documents")
	applicant.uploadKYC("government_id", testPDF)
	other := ma.lineLogin(t, "U4444444444444444444444444444444d", "Other")
	other.post("/register", goodRegistration())
	other.get("/documents")
	other.uploadKYC("professional_credential", testPDF)
	m, _ := ma.svc.SignIn(ctx, "U3333333333333333333333333333333c", "")
	docs, _ := ma.svc.Documents(ctx, m.ID)
	docURL := "/admin/documents/" + docs[0].ID

	// Every admin route refuses a signed-in non-admin with 403, whatever
	// the method; an anonymous visitor is sent to sign in.
	adminRoutes := []struct{ method, path string }{
		{"GET", "/admin"}, {"GET", "/admin?filter=all"}, {"GET", "/admin/mappers/" + m.ID}, {"GET", docURL},
		{"POST", "/admin/mappers/" + m.ID + "/decision"}, {"POST", "/admin/mappers/" + m.ID + "/terms"},
		{"GET", "/admin/no-such-page"}, {"POST", "/admin/payouts/batches"}, {"GET", "/admin/payouts/confirm"},
	}
	for _, who := range []*browser{applicant, other} {
		who.get("/status")
		for _, rt := range adminRoutes {
			var res response
			if rt.method == "GET" {
				res = who.get(rt.path)
			} else {
				res = who.post(rt.path, url.Values{"action": {"approve"}, "tier": {"gold"}, "rate_percent": {"300"}})
			}
			if res.status != http.StatusForbidden || strings.Contains(res.body, "%PDF") {
				t.Errorf("non-admin %s %s: %d", rt.method, rt.path, res.status)
			}
		}
	}
	anon := ma.browser(t)
	anon.get("/login")
	for _, rt := range adminRoutes {
		var res response
		if rt.method == "GET" {
			res = anon.get(rt.path)
			if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
				t.Errorf("anonymous GET %s: %d %s", rt.path, res.status, res.location)
			}
		} else if res = anon.post(rt.path, url.Values{"action": {"approve"}}); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", rt.path, res.status)
		}
	}
	if got, _ := ma.svc.Mapper(ctx, m.ID); got.Status != mapper.StatusPending || got.RatePercent != 100 {
		t.Fatalf("non-admins changed the mapper: %+v", got)
	}
	if n := ma.count(t, `select count(*) from mapper_audit`); n != 0 {
		t.Fatalf("refused requests audited or acted: %d rows", n)
	}
	// A mapper sees only their own documents.
	if res := other.get("/documents"); strings.Count(res.body, "Professional credential ·") != 1 || strings.Contains(res.body, "Government-issued ID ·") {
		t.Fatalf("another mapper's documents listed:\n%.1500s", res.body)
	}

	admin := ma.lineLogin(t, adminLineID, "Admin")
	if res := admin.get("/"); res.location != "/admin" {
		t.Fatalf("admin lands on %q", res.location)
	}
	if res := admin.get("/admin/no-such-page"); res.status != http.StatusNotFound {
		t.Fatalf("admin on an unknown admin page: %d", res.status)
	}
	res := admin.get("/admin")
	if res.status != 200 || strings.Count(res.body, `/admin/mappers/mpr_`) != 2 {
		t.Fatalf("applications:\n%.2000s", res.body)
	}
	res = admin.get("/admin/mappers/" + m.ID)
	if res.status != 200 || !strings.Contains(res.body, "Siriraj Hospital") || !strings.Contains(res.body, docURL) || !strings.Contains(res.body, `id="action-approve"`) {
		t.Fatalf("application page:\n%.3000s", res.body)
	}
	res = admin.get(docURL)
	if res.status != 200 || res.body != string(testPDF) || res.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(res.header.Get("Content-Security-Policy"), "sandbox") || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("document view: %d %v", res.status, res.header)
	}
	if n := ma.count(t, `select count(*) from mapper_audit where action = 'view_document' and document_id = $1 and actor_line_id = $2`, docs[0].ID, adminLineID); n != 1 {
		t.Fatalf("view audited %d times", n)
	}

	admin.get("/admin/mappers/" + m.ID)
	if res := admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"reject"}, "reason": {" "}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Give the mapper a reason") {
		t.Fatalf("reject without reason: %d", res.status)
	}
	if res := admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"request_info"}, "reason": {"Your ID photo is blurred."}}); res.status != http.StatusSeeOther {
		t.Fatalf("request info: %d\n%.800s", res.status, res.body)
	}
	res = applicant.get("/status")
	if !strings.Contains(res.body, "More information needed") || !strings.Contains(res.body, "Your ID photo is blurred.") || !strings.Contains(res.body, `href="/register"`) {
		t.Fatalf("info requested page:\n%.2000s", res.body)
	}
	if res := applicant.post("/register", goodRegistration()); res.status != http.StatusSeeOther {
		t.Fatalf("resubmit: %d", res.status)
	}
	admin.get("/admin/mappers/" + m.ID)
	admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"reject"}, "reason": {"The credential has expired."}})
	res = applicant.get("/status")
	if !strings.Contains(res.body, "Application not approved") || !strings.Contains(res.body, "The credential has expired.") || !strings.Contains(res.body, "Reapply") {
		t.Fatalf("rejected page:\n%.2000s", res.body)
	}
	// Approving a rejected application is a conflict, shown as such.
	if res := admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"approve"}}); res.status != http.StatusConflict {
		t.Fatalf("approve rejected: %d", res.status)
	}
	applicant.get("/register")
	applicant.post("/register", goodRegistration())
	admin.get("/admin/mappers/" + m.ID)
	if res := admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"approve"}}); res.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", res.status)
	}
	if res := applicant.get("/status"); !strings.Contains(res.body, "You are approved") {
		t.Fatalf("approved page:\n%.2000s", res.body)
	}
	if res := admin.post("/admin/mappers/"+m.ID+"/terms", url.Values{"tier": {"gold"}, "rate_percent": {"500"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("rate 500: %d", res.status)
	}
	if res := admin.post("/admin/mappers/"+m.ID+"/terms", url.Values{"tier": {"gold"}, "rate_percent": {"150"}}); res.status != http.StatusSeeOther {
		t.Fatalf("terms: %d", res.status)
	}
	admin.post("/admin/mappers/"+m.ID+"/decision", url.Values{"action": {"suspend"}, "reason": {"Votes faster than reading."}})
	if res := applicant.get("/status"); !strings.Contains(res.body, "Account suspended") || !strings.Contains(res.body, "Votes faster than reading.") {
		t.Fatalf("suspended page:\n%.2000s", res.body)
	}
	got, _ := ma.svc.Mapper(ctx, m.ID)
	if got.Status != mapper.StatusSuspended || got.Tier != "gold" || got.RatePercent != 150 {
		t.Fatalf("mapper after admin: %+v", got)
	}
	res = admin.get("/admin/mappers/" + m.ID)
	for _, a := range []string{"suspend", "set_terms", "approve", "reject", "request_info", "view_document"} {
		if !strings.Contains(res.body, " · "+a) {
			t.Errorf("audit trail lacks %s", a)
		}
	}
}

// approve takes a signed-in applicant through registration to approval by
// the admin's service call (the admin pages are TestMapperAdminReview's).
func (ma *mapperApp) approve(t *testing.T, b *browser, lineUserID string) mapper.Mapper {
	t.Helper()
	if res := b.post("/register", goodRegistration()); res.status != http.StatusSeeOther {
		t.Fatalf("register: %d\n%.500s", res.status, res.body)
	}
	m, _ := ma.svc.SignIn(context.Background(), lineUserID, "")
	m, err := ma.svc.Decide(context.Background(), adminLineID, m.ID, mapper.ActionApprove, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapperCrowdPages(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t)
	tasks := ma.crowdTasks(t, "E11.9", "E11.65")
	pending := ma.lineLogin(t, "U5555555555555555555555555555555e", "Pending")
	pending.post("/register", goodRegistration())
	if res := pending.get("/tasks"); res.status != http.StatusSeeOther || res.location != "/status" {
		t.Fatalf("pending mapper on the feed: %d %s", res.status, res.location)
	}
	pending.get("/status")
	if res := pending.post(fmt.Sprintf("/tasks/%d/vote", tasks["E11.9"]), url.Values{"action": {"approve"}}); res.status != http.StatusForbidden {
		t.Fatalf("pending mapper voting: %d", res.status)
	}

	b := ma.lineLogin(t, "U6666666666666666666666666666666f", "Voter")
	ma.approve(t, b, "U6666666666666666666666666666666f")
	if res := b.get("/"); res.location != "/tasks" {
		t.Fatalf("approved mapper lands on %q", res.location)
	}
	res := b.get("/tasks")
	if res.status != 200 || !strings.Contains(res.body, "E11.9") || !strings.Contains(res.body, fmt.Sprintf("/tasks/%d", tasks["E11.65"])) {
		t.Fatalf("feed:\n%.2500s", res.body)
	}
	page := fmt.Sprintf("/tasks/%d", tasks["E11.9"])
	res = b.get(page)
	for _, want := range []string{"E11.9", "diabetes type II E11.9", "Type 2 diabetes mellitus", "Type 1 diabetes mellitus", "0.620",
		"matched name “type 2 diabetes”", `id="vote-approve"`, `id="vote-reject"`, `id="vote-override"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("vote page lacks %q", want)
		}
	}
	// Reject naming a concept that is not a candidate: refused, no vote.
	if res := b.post(page+"/vote", url.Values{"action": {"reject"}, "concept_id": {"4"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("reject with a stranger: %d", res.status)
	}
	// Override with a concept the vocabulary lacks: refused by name.
	if res := b.post(page+"/vote", url.Values{"action": {"override"}, "concept_id": {"999999"}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "no concept 999999") {
		t.Fatalf("override with an unknown concept: %d", res.status)
	}
	res = b.post(page+"/vote", url.Values{"action": {"approve"}})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/tasks?earned=") {
		t.Fatalf("approve: %d %s\n%.800s", res.status, res.location, res.body)
	}
	b.get(page)
	if res := b.post(page+"/vote", url.Values{"action": {"reject"}, "concept_id": {"201254"}}); res.status != http.StatusConflict || !strings.Contains(res.body, "one vote per task") {
		t.Fatalf("second vote: %d", res.status)
	}
	if n := ma.count(t, `select count(*) from crowd_votes where task_id = $1`, tasks["E11.9"]); n != 1 {
		t.Fatalf("%d votes stored", n)
	}
	// The other task: reject, choosing the second candidate.
	other := fmt.Sprintf("/tasks/%d", tasks["E11.65"])
	b.get(other)
	if res := b.post(other+"/vote", url.Values{"action": {"reject"}, "concept_id": {"201254"}}); res.status != http.StatusSeeOther {
		t.Fatalf("reject choosing another: %d\n%.800s", res.status, res.body)
	}
	if res := b.get("/leaderboard"); res.status != 200 || !strings.Contains(res.body, "Voter") || !strings.Contains(res.body, ">hidden<") {
		t.Fatalf("leaderboard:\n%.2000s", res.body)
	}
	res = b.get("/earnings")
	if res.status != 200 || !strings.Contains(res.body, "vote_reward") {
		t.Fatalf("earnings:\n%.2500s", res.body)
	}
	if res := b.post("/earnings/show", url.Values{"show": {"on"}}); res.status != http.StatusSeeOther {
		t.Fatalf("show earnings: %d", res.status)
	}
	if res := b.get("/leaderboard"); strings.Contains(res.body, ">hidden<") || !strings.Contains(res.body, " USD") {
		t.Fatalf("earnings still hidden after opting in:\n%.2000s", res.body)
	}
	if res := b.get("/admin/payouts"); res.status != http.StatusForbidden {
		t.Fatalf("mapper on admin payouts: %d", res.status)
	}
	admin := ma.lineLogin(t, adminLineID, "Admin")
	if res := admin.get("/admin/payouts"); res.status != 200 || !strings.Contains(res.body, "Voter") {
		t.Fatalf("admin payouts:\n%.2500s", res.body)
	}
	voter, _ := ma.svc.SignIn(context.Background(), "U6666666666666666666666666666666f", "")
	if res := admin.get("/admin/mappers/" + voter.ID); res.status != 200 || !strings.Contains(res.body, `id="crowd-stats"`) || !strings.Contains(res.body, " USD") {
		t.Fatalf("admin's view of the voter:\n%.3000s", res.body)
	}
}

// TestMapperPagesSendSecurityHeaders reads the mapper app's GET routes from
// its source (web/mapper_*.go, so a new page is covered) and fetches each
// over HTTPS as an anonymous visitor, an approved mapper and an admin:
// every answer carries the policy (scripts from 'self' and LINE's SDK only,
// no inline), frame denial, nosniff, HSTS and no-store; no page has an
// inline script or event handler; every cookie is __Host-, Secure,
// HttpOnly and SameSite=Lax.
func TestMapperPagesSendSecurityHeaders(t *testing.T) {
	t.Parallel()
	ma := newMapperApp(t, func(c *web.Config) { c.CookieSecure = true })
	tasks := ma.crowdTasks(t, "X1")
	var routes []string
	files, _ := filepath.Glob("mapper_*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`mux\.Handle(?:Func)?\("GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
			routes = append(routes, m[1])
		}
	}
	if len(routes) < 12 {
		t.Fatalf("only %d GET routes found: %v", len(routes), routes)
	}
	client := func() *browser {
		b := ma.browser(t)
		b.c.Transport = ma.srv.Client().Transport
		return b
	}
	signIn := func(uid string) *browser {
		b := client()
		b.get("/login")
		if res := b.post("/login/line", url.Values{"id_token": {ma.issuer.Issue(linetest.Token{Subject: uid, Name: "S"})}}); res.status != http.StatusSeeOther {
			t.Fatalf("sign-in over HTTPS: %d", res.status)
		}
		b.get("/documents")
		return b
	}
	mapperB := signIn("U9999999999999999999999999999999c")
	m := ma.approve(t, mapperB, "U9999999999999999999999999999999c")
	d, err := ma.svc.Documents(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	docID := "doc_000000000000000000000000"
	if len(d) > 0 {
		docID = d[0].ID
	}
	admin := signIn(adminLineID)
	params := map[string]string{"{id}": m.ID, "{$}": ""}
	inline := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	event := regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
	var cookies []*http.Cookie
	for _, route := range routes {
		path := route
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		switch {
		case strings.HasPrefix(route, "/tasks/"):
			path = fmt.Sprintf("/tasks/%d", tasks["X1"])
		case strings.HasPrefix(route, "/admin/documents/"):
			path = "/admin/documents/" + docID
		}
		for who, b := range map[string]*browser{"anonymous": client(), "mapper": mapperB, "admin": admin} {
			res := b.get(path)
			name := fmt.Sprintf("GET %s as %s: %d", path, who, res.status)
			if res.status >= 500 {
				t.Errorf("%s", name)
			}
			csp := res.header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self' https://static.line-scdn.net;") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s: CSP %q", name, csp)
			}
			if res.header.Get("X-Frame-Options") != "DENY" || res.header.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(res.header.Get("Strict-Transport-Security"), "max-age=") || res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: headers %v", name, res.header)
			}
			for _, tag := range inline.FindAllString(res.body, -1) {
				if !strings.Contains(tag, "src=") {
					t.Errorf("%s: inline script %s", name, tag)
				}
			}
			if e := event.FindString(res.body); e != "" {
				t.Errorf("%s: inline event handler %.120s", name, e)
			}
			cookies = append(cookies, res.cookies...)
		}
	}
	if len(cookies) == 0 {
		t.Fatal("no cookie seen")
	}
	for _, c := range cookies {
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("cookie %+v", c)
		}
	}
}

// TestMapperVoteOverrideBySearch: on the vote page, an approved mapper
// searches the live index (the demo vocabulary, built in-process as
// `portiere dev` builds it), picks a standard concept, and the override
// stores it with the name, vocabulary and domain read from the vocabulary.
func TestMapperVoteOverrideBySearch(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	vs := vocabstore.New(pool)
	if _, err := vocab.NewImporter(vs).Import(ctx, "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	corpus, err := vs.LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := &search.Live{}
	live.Set(search.NewEngine(corpus, search.Options{}))
	ma := newMapperAppWithPool(t, pool, func(c *web.Config) { c.Concepts, c.Search = vs, live })
	tasks := ma.crowdTasks(t, "NAUS")
	const uid = "Uaaaa0000000000000000000000000001"
	b := ma.lineLogin(t, uid, "Searcher")
	m := ma.approve(t, b, uid)
	page := fmt.Sprintf("/tasks/%d", tasks["NAUS"])
	res := b.get(page + "?q=nausea")
	if res.status != 200 || !strings.Contains(res.body, `id="search-results"`) || !strings.Contains(res.body, `value="31967"`) {
		t.Fatalf("override search:\n%.4000s", res.body)
	}
	if res := b.post(page+"/vote", url.Values{"action": {"override"}, "concept_id": {"31967"}}); res.status != http.StatusSeeOther {
		t.Fatalf("override: %d\n%.800s", res.status, res.body)
	}
	var name, vocabulary, domain string
	if err := pool.QueryRow(ctx, `select concept_name, vocabulary_id, domain_id from crowd_votes where task_id = $1 and mapper_id = $2 and action = 'override' and concept_id = 31967`,
		tasks["NAUS"], m.ID).Scan(&name, &vocabulary, &domain); err != nil {
		t.Fatalf("the override vote: %v", err)
	}
	if name != "Nausea" || vocabulary != "SNOMED" || domain != "Condition" {
		t.Fatalf("override stored as %q %q %q", name, vocabulary, domain)
	}
}

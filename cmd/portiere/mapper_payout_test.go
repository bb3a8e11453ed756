package main

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
	"testing"
	"time"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/line/linetest"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// TestMapperAdminPaysABatch runs the admin's payout pages on the
// production composition: the mapper app as mapperWeb builds it, with the
// worker stack's crowd service and workflows client, a Temporal dev
// server, a worker, and Stripe Connect on stripe-mock. An approved mapper
// with a Stripe account votes; the admin (signed in with LINE against the
// local issuer) selects them on /admin/payouts, confirms the batch, and
// follows it until the transfer is paid: the balance is zero and the
// payout names the mapper's account.
func TestMapperAdminPaysABatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	ctx := context.Background()
	dev := startTemporal(t)
	issuer, lineURL := linetest.Start(t, "1660000009")
	setDBEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", dev.FrontendHostPort())
	t.Setenv("API_KEY_SALT", "payout-salt-payout-salt-payout-salt-payout")
	t.Setenv("JWT_SECRET", "payout-jwt-secret-payout-jwt-secret-payout")
	t.Setenv("EMBEDDING_MODEL", "hash")
	t.Setenv("FAISS_INDEX_PATH", t.TempDir()+"/faiss.index")
	t.Setenv("STRIPE_SECRET_KEY", "sk_test_123")
	t.Setenv("STRIPE_API_URL", stripetest.URL(t))
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
	t.Setenv("LINE_CHANNEL_ID", "1660000009")
	t.Setenv("NEXT_PUBLIC_LIFF_ID", "1660000009-pay")
	t.Setenv("LINE_API_BASE_URL", lineURL)
	t.Setenv("ADMIN_LINE_USER_IDS", "Upayoutadmin")
	t.Setenv("MAPPER_KYC_KEYS", "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
	t.Setenv("MAPPER_PAYOUT_MIN_CENTS", "1")
	var errOut strings.Builder
	if err := run([]string{"migrate"}, io.Discard, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}

	b := startWorkerStack(t, dev, config.ModeAPI, slog.LevelError)
	app, err := mapperWeb(b.cfg, b.pool, b.crowd, nil, b.workflows, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("step mapperWeb: %v", err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()

	// A project item in the crowd, and an approved mapper with a Stripe
	// account who votes on it.
	tenants := tenancystore.New(b.pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Pay", Slug: "pay-hospital"})
	if err != nil {
		t.Fatal(err)
	}
	project, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "pay"})
	if err != nil {
		t.Fatal(err)
	}
	cands := []mappingjob.Candidate{{ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.62}}
	if err := b.jobs.UpsertItems(ctx, project.ID, []mappingjob.Item{{Source: "dx", Code: "E11.9", Description: "T2DM",
		ConceptID: 201826, TargetName: "Type 2 diabetes mellitus", TargetVocabulary: "SNOMED", TargetDomain: "Condition",
		Candidates: cands, Confidence: 0.62, Method: mappingjob.MethodReview}}); err != nil {
		t.Fatal(err)
	}
	it, err := b.jobs.Item(ctx, project.ID, "dx", "E11.9")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := b.crowd.Submit(ctx, crowd.Submission{OrganizationID: org.ID, ProjectID: project.ID, ItemIDs: []int64{it.ID}, SubmittedBy: "test"})
	if err != nil || len(sts) != 1 {
		t.Fatalf("submit: %+v %v", sts, err)
	}
	now := time.Now().UTC()
	m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: "Upayee", DisplayName: "Payee", Status: mapper.StatusApproved,
		RatePercent: 100, CreatedAt: now, UpdatedAt: now}
	acct, err := b.connect.CreateExpressAccount(ctx, stripeconnect.AccountRequest{Reference: m.ID, IdempotencyKey: "acct-" + m.ID})
	if err != nil {
		t.Fatal(err)
	}
	m.StripeAccountID = acct
	if err := mapperstore.New(b.pool).Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := b.crowd.Task(ctx, m.ID, sts[0].TaskID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.crowd.Vote(ctx, m.ID, sts[0].TaskID, crowd.VoteInput{Action: crowd.ActionApprove}); err != nil {
		t.Fatal(err)
	}
	bal, err := b.crowd.Balance(ctx, m.ID)
	if err != nil || len(bal) != 1 || bal[0].Cents <= 0 {
		t.Fatalf("balance after the vote: %+v %v", bal, err)
	}

	// The admin signs in with LINE and pays the batch from the pages.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	token := ""
	get := func(path string, want int) (string, *http.Response) {
		t.Helper()
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d\n%.1500s", path, res.StatusCode, want, body)
		}
		if m := csrf.FindSubmatch(body); m != nil {
			token = string(m[1])
		}
		return string(body), res
	}
	post := func(path string, form url.Values, want int) *http.Response {
		t.Helper()
		form.Set("csrf_token", token)
		res, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d\n%.1500s", path, res.StatusCode, want, body)
		}
		return res
	}
	get("/login", 200)
	post("/login/line", url.Values{"id_token": {issuer.Issue(linetest.Token{Subject: "Upayoutadmin", Name: "Admin"})}}, http.StatusSeeOther)
	page, _ := get("/admin/payouts", 200)
	if !strings.Contains(page, `name="mapper_id" value="`+m.ID+`"`) {
		t.Fatalf("the payee is not selectable:\n%.3000s", page)
	}
	page, _ = get("/admin/payouts/confirm?mapper_id="+m.ID, 200)
	if !strings.Contains(page, acct) || !strings.Contains(page, `id="confirm-batch"`) {
		t.Fatalf("confirmation page:\n%.2000s", page)
	}
	res := post("/admin/payouts/batches", url.Values{"mapper_id": {m.ID}}, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, "/admin/payouts?batch=admin-") {
		t.Fatalf("after confirming: %q", loc)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		page, _ = get(loc, 200)
		if strings.Contains(page, `class="payout-status">paid`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the batch never showed paid:\n%.3000s", page)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if bal, err := b.crowd.Balance(ctx, m.ID); err != nil || len(bal) != 1 || bal[0].Cents != 0 {
		t.Fatalf("balance after the batch: %+v %v", bal, err)
	}
	batch, _ := url.QueryUnescape(strings.TrimPrefix(loc, "/admin/payouts?batch="))
	payouts, err := b.crowd.Payouts(ctx, batch, 10)
	if err != nil || len(payouts) != 1 || payouts[0].StripeAccountID != acct || payouts[0].TransferID == "" {
		t.Fatalf("payouts of %s: %+v %v", batch, payouts, err)
	}
	// A second confirmation of the same selection finds nothing to pay.
	post("/admin/payouts/batches", url.Values{"mapper_id": {m.ID}}, http.StatusUnprocessableEntity)

	// The payee, signed in, is refused every payout admin route.
	jar2, _ := cookiejar.New(nil)
	c.Jar = jar2
	get("/login", 200)
	post("/login/line", url.Values{"id_token": {issuer.Issue(linetest.Token{Subject: "Upayee", Name: "Payee"})}}, http.StatusSeeOther)
	get("/earnings", 200)
	get("/admin/payouts", http.StatusForbidden)
	get("/admin/payouts/confirm?mapper_id="+m.ID, http.StatusForbidden)
	post("/admin/payouts/batches", url.Values{"mapper_id": {m.ID}}, http.StatusForbidden)
	if n, err := b.crowd.Payouts(ctx, "", 10); err != nil || len(n) != 1 {
		t.Fatalf("payouts after the refusals: %d %v", len(n), err)
	}
}

package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portiere/portiere/internal/browsertest"
	"github.com/portiere/portiere/platform/line/linetest"
	"github.com/portiere/portiere/web"
)

// fakeLIFF stands in for LINE's LIFF SDK on its own origin: liff.init
// succeeds, the user is logged in, and getIDToken returns a token the local
// issuer signed for the LINE user the test chose — so the page's sign-in
// script and the server's verification run for real.
type fakeLIFF struct {
	mu      sync.Mutex
	issuer  *linetest.Issuer
	subject string
	name    string
}

func (f *fakeLIFF) as(subject, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subject, f.name = subject, name
}

func (f *fakeLIFF) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	token := f.issuer.Issue(linetest.Token{Subject: f.subject, Name: f.name})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/javascript")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `window.liff = {
  init: function () { return Promise.resolve(); },
  isLoggedIn: function () { return true; },
  login: function () {},
  getIDToken: function () { return %q; }
};`, token)
}

// TestBrowserMapperOnboardingApprovalVote drives headless Chromium at a
// phone's size (LINE's in-app browser) through the mapper's whole first
// loop: LINE sign-in, the application form, a KYC upload, the pending page;
// the admin's sign-in, review and approval; then the approved mapper's
// feed and a vote. Any console error or failed request fails it; each step
// leaves a screenshot in the test's artifact folder (go test -artifacts
// keeps them).
func TestBrowserMapperOnboardingApprovalVote(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromium := browsertest.ChromiumPath(t)
	liff := &fakeLIFF{}
	sdk := httptest.NewServer(liff)
	t.Cleanup(sdk.Close)
	ma := newMapperApp(t, func(c *web.Config) { c.LIFFSDKURL = sdk.URL + "/liff/sdk.js" })
	liff.issuer = ma.issuer
	tasks := ma.crowdTasks(t, "E11.9")

	pdf := filepath.Join(t.TempDir(), "national-id.pdf")
	if err := os.WriteFile(pdf, testPDF, 0o644); err != nil {
		t.Fatal(err)
	}
	vp := browsertest.Viewports[1]
	if vp.Width != 390 {
		t.Fatalf("want the phone viewport, got %+v", vp)
	}
	s := browsertest.Start(t, chromium, vp)
	check := s.Check
	base := ma.srv.URL
	const applicant = "U7777777777777777777777777777777a"

	signIn := func(step string, landing string) {
		check(step,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(`#line-login-button`),
			chromedp.Click(`#line-login-button`),
			browsertest.WaitLocation(landing),
		)
	}
	logOut := func(step string) {
		check(step,
			chromedp.Click(`header form button[type=submit]`),
			browsertest.WaitLocation("/login"),
			chromedp.WaitVisible(`#line-login-button`),
		)
	}

	// 1. The applicant signs in with LINE and lands on the application.
	liff.as(applicant, "Somchai")
	signIn("line-sign-in", "/register")

	// 2. The application form (its field messages are TestMapperOnboarding's:
	// a 422 answer is a failed request to this harness).
	check("application-submitted",
		chromedp.WaitVisible(`#legal_name`),
		chromedp.SendKeys(`#legal_name`, "Somchai Jaidee"),
		chromedp.SendKeys(`#email`, "somchai@example.org"),
		chromedp.SendKeys(`#title`, "Clinical coder"),
		chromedp.SendKeys(`#affiliation`, "Siriraj Hospital"),
		chromedp.Click(`input[name=vocabularies][value=SNOMED]`),
		chromedp.Click(`input[name=domains][value=Condition]`),
		chromedp.SendKeys(`#years_experience`, "8"),
		chromedp.Click(`#submit-application`),
		browsertest.WaitLocation("/documents?submitted=1"),
		chromedp.WaitVisible(`#document`),
	)

	// 3. The KYC upload, then the pending page.
	check("kyc-uploaded",
		chromedp.SetUploadFiles(`#document`, []string{pdf}),
		chromedp.Click(`#upload-document`),
		browsertest.WaitLocation("/documents?uploaded=1"),
		chromedp.WaitVisible(`#documents`),
	)
	var status string
	check("pending",
		chromedp.Navigate(base+"/status"),
		chromedp.WaitVisible(`#status`),
		browsertest.Text(`#status`, &status),
	)
	if status != "pending" {
		t.Fatalf("status after applying: %q", status)
	}
	logOut("applicant-signed-out")

	// 4. The admin reviews and approves.
	liff.as(adminLineID, "Admin")
	signIn("admin-sign-in", "/admin")
	check("application-opened",
		chromedp.WaitVisible(`#applications`),
		chromedp.Click(`#applications a`),
		chromedp.WaitVisible(`#kyc-documents`),
		chromedp.WaitVisible(`#action-approve`),
	)
	check("approved",
		chromedp.Click(`#action-approve`),
		browsertest.WaitLocation("?done=approve"),
		browsertest.Text(`#status`, &status),
	)
	if status != "approved" {
		t.Fatalf("status after approval: %q", status)
	}
	logOut("admin-signed-out")

	// 5. The approved mapper's feed, the vote page and a vote.
	liff.as(applicant, "Somchai")
	signIn("approved-sign-in", "/tasks")
	var candidates string
	check("vote-page",
		chromedp.WaitVisible(`#tasks`),
		chromedp.Click(fmt.Sprintf(`a[href="/tasks/%d"]`, tasks["E11.9"])),
		chromedp.WaitVisible(`#candidates`),
		browsertest.Text(`#candidates`, &candidates),
	)
	if !strings.Contains(candidates, "Type 2 diabetes mellitus") || !strings.Contains(candidates, "Why:") {
		t.Errorf("candidates read %q", candidates)
	}
	var notice string
	check("voted",
		chromedp.Click(`#vote-approve`),
		browsertest.WaitLocation("/tasks?earned="),
		chromedp.WaitVisible(`#vote-notice`),
		browsertest.Text(`#vote-notice`, &notice),
	)
	if !strings.Contains(notice, "Vote recorded") {
		t.Errorf("after the vote: %q", notice)
	}
	if n := ma.count(t, `select count(*) from crowd_votes where task_id = $1`, tasks["E11.9"]); n != 1 {
		t.Fatalf("%d votes stored", n)
	}
}

package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/internal/browsertest"
	"github.com/portiere/portiere/tenancy"
)

// TestBrowserSignUpToAPIKey drives headless Chromium through the
// dashboard's first flow — sign up, create a project, change its
// settings, create an API key and revoke it, invite a colleague who joins
// with the link — at a laptop's and at a phone's size. Any
// console error or failed request fails it; each step leaves a screenshot
// in the test's artifact folder (go test -artifacts keeps them).
func TestBrowserSignUpToAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromium := browsertest.ChromiumPath(t)
	for _, vp := range browsertest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			s := browsertest.Start(t, chromium, vp)
			check := s.Check
			email := vp.Name + "@example.org"

			// 1. The sign-up page; keyboard focus is visible (the first Tab
			// lands on the skip link, outlined).
			var focus string
			check("signup",
				chromedp.Navigate(a.srv.URL+"/signup"),
				chromedp.WaitVisible(`#organization`),
				chromedp.KeyEvent("\t"),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					var err error
					focus, err = chromedp.Evaluate[string](`document.activeElement.className + ":" + getComputedStyle(document.activeElement).outlineStyle`)(ctx, tg)
					return err
				}),
			)
			if focus != "skip:solid" {
				t.Errorf("first Tab focuses %q, want the skip link with a solid outline", focus)
			}

			// 2. Sign up: the projects page welcomes the new organization.
			check("signed-up",
				chromedp.SendKeys(`#organization`, "Browser Hospital "+vp.Name),
				chromedp.SendKeys(`#name`, "Dana"),
				chromedp.SendKeys(`#email`, email),
				chromedp.SendKeys(`#password`, "correct horse battery"),
				chromedp.Click(`main form button[type=submit]`),
				browsertest.WaitLocation("/projects?welcome=1"),
				chromedp.WaitVisible(`a[href="/projects/new"]`),
			)

			// 3. Create a project.
			check("project-created",
				chromedp.Click(`a[href="/projects/new"]`),
				chromedp.WaitVisible(`#project-name`),
				chromedp.SendKeys(`#project-name`, "Cardiology"),
				chromedp.SendKeys(`#project-description`, "Cardiology codes of the 2026 extract"),
				chromedp.Click(`main form button[type=submit]`),
				browsertest.WaitLocation("?created=1"),
				chromedp.WaitVisible(`#settings`),
			)

			// 4. Change its settings; the form is sent with Enter from the
			// last field.
			check("settings-saved",
				chromedp.SendKeys(`#vocabularies`, "SNOMED, LOINC"),
				chromedp.SendKeys(`#domains`, "Condition, Measurement"),
				chromedp.Click(`input[name=second_reviewer][value=overrides]`),
				chromedp.Clear(`#auto-threshold`),
				chromedp.SendKeys(`#auto-threshold`, "0.9"),
				chromedp.Clear(`#review-threshold`),
				chromedp.SendKeys(`#review-threshold`, "0.6\r"),
				browsertest.WaitLocation("saved=1"),
				chromedp.WaitVisible(`p.notice.ok[role=status]`),
			)
			org := a.org(t, email)
			projects, err := a.tenants.Projects(context.Background(), org.ID)
			if err != nil || len(projects) != 1 {
				t.Fatalf("projects %v %v", projects, err)
			}
			st := projects[0].Settings
			if strings.Join(st.Vocabularies, ",") != "SNOMED,LOINC" || strings.Join(st.Domains, ",") != "Condition,Measurement" ||
				st.AutoThreshold != 0.9 || st.ReviewThreshold != 0.6 || st.SecondReviewer != tenancy.SecondReviewerOverrides {
				t.Fatalf("settings stored: %+v", st)
			}

			// 5. Create an API key: shown once, copied with the button.
			var key, copied string
			check("api-key",
				chromedp.Click(`a[href="/api-keys"]`),
				chromedp.WaitVisible(`#key-name`),
				chromedp.Click(`input[name=scope][value=write]`),
				chromedp.SendKeys(`#key-name`, "ETL pipeline\r"),
				chromedp.WaitVisible(`#new-key`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					var err error
					key, err = chromedp.Value(`#new-key`)(ctx, tg)
					return err
				}),
				chromedp.Click(`button[data-copy="new-key"]`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					for {
						msg, err := chromedp.Text(`#copy-status`)(ctx, tg)
						if err != nil || msg != "" {
							copied = msg
							return err
						}
						time.Sleep(50 * time.Millisecond)
					}
				}),
			)
			if _, err := credential.ParseAPIKey(key); err != nil {
				t.Fatalf("key shown %q: %v", key, err)
			}
			stored, err := a.tenants.APIKeyByHash(context.Background(), a.hasher.Hash(key).String())
			if err != nil || stored.OrganizationID != org.ID || tenancy.KeyScope(stored) != credential.ScopeWrite || stored.Name != "ETL pipeline" {
				t.Fatalf("stored key %+v %v", stored, err)
			}
			if copied == "" {
				t.Error("the copy button said nothing")
			}

			// 6. Revoke it: htmx posts the form (its CSRF token with it) and
			// swaps the table row in place.
			row := `#key-` + stored.ID
			check("api-key-revoked",
				chromedp.Click(row+` button[type=submit]`),
				chromedp.WaitNotPresent(row+` button[type=submit]`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					text, err := chromedp.Text(row)(ctx, tg)
					if err == nil && !strings.Contains(text, "revoked") {
						err = fmt.Errorf("row after revoking: %q", text)
					}
					return err
				}),
			)
			if k, err := a.tenants.APIKeyByHash(context.Background(), stored.Hash); err != nil || k.RevokedAt == nil {
				t.Fatalf("key after revoking in the browser: %+v %v", k, err)
			}
			if loc, _ := chromedp.Run(s.Context(), chromedp.Location()); !strings.HasSuffix(loc, "/api-keys") {
				t.Errorf("the revoke navigated to %s instead of swapping the row", loc)
			}

			// 7. Invite a colleague as a viewer, log out, and join with the
			// link as the colleague.
			var link string
			check("invited",
				chromedp.Click(`a[href="/members"]`),
				chromedp.WaitVisible(`#invite-email`),
				chromedp.SendKeys(`#invite-email`, "colleague-"+email),
				chromedp.SetValue(`#invite-role`, "viewer"),
				chromedp.Click(`form[action="/members/invitations"] button[type=submit]`),
				chromedp.WaitVisible(`#invite-link`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					var err error
					link, err = chromedp.Value(`#invite-link`)(ctx, tg)
					return err
				}),
			)
			if !strings.HasPrefix(link, a.srv.URL+"/invite/") {
				t.Fatalf("invitation link %q", link)
			}
			check("joined",
				chromedp.Click(`form[action="/logout"] button`),
				browsertest.WaitLocation("/login"),
				chromedp.Navigate(link),
				chromedp.WaitVisible(`#password`),
				chromedp.SendKeys(`#name`, "Colleague"),
				chromedp.SendKeys(`#password`, "another good passphrase\r"),
				browsertest.WaitLocation("/projects"),
				chromedp.WaitVisible(`a[href="/projects/`+projects[0].ID+`"]`),
				chromedp.WaitNotPresent(`a[href="/projects/new"]`),
			)
			colleague, err := a.tenants.UserByEmail(context.Background(), "colleague-"+email)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := a.tenants.Membership(context.Background(), org.ID, colleague.ID); err != nil || m.Role != tenancy.RoleViewer {
				t.Fatalf("the colleague's membership: %+v %v", m, err)
			}
		})
	}
}

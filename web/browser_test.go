package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// chromiumPath finds Debian's chromium (make tools installs it). Without it
// the browser tests skip, unless PORTIERE_REQUIRE_TOOLS says they must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
		t.Fatal("chromium not found (make tools installs it)")
	}
	t.Skip("chromium not found: run make tools")
	return ""
}

// problems collects what makes a browser run fail: console errors,
// uncaught exceptions, browser log errors (CSP violations among them),
// failed requests and HTTP error responses.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

func (p *problems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			p.add("console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		p.add("uncaught exception: %s", ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p.add("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	case *network.EventLoadingFailed:
		p.add("request failed: %s %s (blocked: %s)", ev.Type, ev.ErrorText, ev.BlockedReason)
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			p.add("HTTP %d for %s", ev.Response.Status, ev.Response.URL)
		}
	}
}

// waitLocation waits until the page's address contains part: the
// navigation a form submission starts has arrived.
func waitLocation(part string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			loc, err := chromedp.Location()(ctx, tg)
			if err != nil || strings.Contains(loc, part) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("address %s never contained %q: %w", loc, part, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

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
	chromium := chromiumPath(t)
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"desktop", 1280, 800, false},
		{"phone", 390, 844, true},
	} {
		t.Run(vp.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			dir := t.ArtifactDir()
			t.Logf("screenshots: %s", dir)

			opts := append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
				chromedp.WindowSize(int(vp.width), int(vp.height)))
			actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
			defer cancelAlloc()
			ctx, cancel := chromedp.NewContext(actx)
			defer cancel()
			var probs problems
			if err := chromedp.Listen(ctx, probs.listen); err != nil {
				t.Fatal(err)
			}
			viewport := chromedp.EmulateViewport(vp.width, vp.height)
			if vp.mobile {
				viewport = chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateMobile, chromedp.EmulateScale(2))
			}
			if err := chromedp.Do(ctx, viewport); err != nil {
				t.Fatal(err)
			}

			step := 0
			// check runs one step with a time limit, fails on any problem the
			// browser reported, checks the page fits the viewport's width,
			// and saves a screenshot.
			check := func(name string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				step++
				sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
				defer scancel()
				if err := chromedp.Do(sctx, actions...); err != nil {
					loc, _ := chromedp.Run(ctx, chromedp.Location())
					t.Fatalf("step %d %s: %v (at %s)", step, name, err, loc)
				}
				shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("step %d %s: screenshot: %v", step, name, err)
				}
				file := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", vp.name, step, name))
				if err := os.WriteFile(file, shot, 0o644); err != nil {
					t.Fatal(err)
				}
				fits, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
				if err != nil || !fits {
					t.Errorf("step %d %s: the page is wider than the %dpx viewport (%v)", step, name, vp.width, err)
				}
				// Let late events (subresources, htmx) arrive before judging.
				chromedp.Do(sctx, chromedp.Sleep(100*time.Millisecond))
				if p := probs.take(); len(p) > 0 {
					t.Fatalf("step %d %s: the browser reported:\n%s", step, name, strings.Join(p, "\n"))
				}
			}
			email := vp.name + "@example.org"

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
				chromedp.SendKeys(`#organization`, "Browser Hospital "+vp.name),
				chromedp.SendKeys(`#name`, "Dana"),
				chromedp.SendKeys(`#email`, email),
				chromedp.SendKeys(`#password`, "correct horse battery"),
				chromedp.Click(`main form button[type=submit]`),
				waitLocation("/projects?welcome=1"),
				chromedp.WaitVisible(`a[href="/projects/new"]`),
			)

			// 3. Create a project.
			check("project-created",
				chromedp.Click(`a[href="/projects/new"]`),
				chromedp.WaitVisible(`#project-name`),
				chromedp.SendKeys(`#project-name`, "Cardiology"),
				chromedp.SendKeys(`#project-description`, "Cardiology codes of the 2026 extract"),
				chromedp.Click(`main form button[type=submit]`),
				waitLocation("?created=1"),
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
				waitLocation("saved=1"),
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
						s, err := chromedp.Text(`#copy-status`)(ctx, tg)
						if err != nil || s != "" {
							copied = s
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
			if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/api-keys") {
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
				waitLocation("/login"),
				chromedp.Navigate(link),
				chromedp.WaitVisible(`#password`),
				chromedp.SendKeys(`#name`, "Colleague"),
				chromedp.SendKeys(`#password`, "another good passphrase\r"),
				waitLocation("/projects"),
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

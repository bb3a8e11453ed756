package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserReviewQueue drives headless Chromium through the review
// queue at a laptop's and a phone's size, on items written with the
// mapping store: approve one with the keyboard (j, a), override another
// through the search box (o, typing, choosing a result), reject a third,
// then download the source_to_concept_map export and check it holds
// exactly the approved and overridden rows. Any console error or failed
// request fails it; each step leaves a screenshot in the test's artifact
// folder.
func TestBrowserReviewQueue(t *testing.T) {
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
			ra := newReviewApp(t)
			email := "reviewer-" + vp.name + "@example.org"
			owner := ra.browser(t)
			owner.signUp("Review Browser "+vp.name, email)
			pid := owner.createProject("Browser Labs")
			items := ra.seedItems(t, pid)
			naus, throat, legs := items["NAUS"], items["THROAT"], items["LEGS"]
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
			check := func(name string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				step++
				sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
				defer scancel()
				if err := chromedp.Do(sctx, actions...); err != nil {
					loc, _ := chromedp.Run(ctx, chromedp.Location())
					t.Fatalf("step %d %s: %v (at %s)", step, name, err, loc)
				}
				// Let late events (htmx settling, subresources) arrive first.
				chromedp.Do(sctx, chromedp.Sleep(150*time.Millisecond))
				shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("step %d %s: screenshot: %v", step, name, err)
				}
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png", vp.name, step, name)), shot, 0o644); err != nil {
					t.Fatal(err)
				}
				fits, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
				if err != nil || !fits {
					t.Errorf("step %d %s: the page is wider than the %dpx viewport (%v)", step, name, vp.width, err)
				}
				if p := probs.take(); len(p) > 0 {
					t.Fatalf("step %d %s: the browser reported:\n%s", step, name, strings.Join(p, "\n"))
				}
			}
			final := func(id int64) string { return fmt.Sprintf(`#item-%d p.state[data-state="final"]`, id) }

			check("logged-in",
				chromedp.Navigate(ra.srv.URL+"/login"),
				chromedp.WaitVisible(`#email`),
				chromedp.SendKeys(`#email`, email),
				chromedp.SendKeys(`#password`, "correct horse battery\r"),
				waitLocation("/projects"),
			)
			check("queue",
				chromedp.Navigate(ra.srv.URL+"/projects/"+pid),
				chromedp.Click(`a[href="/projects/`+pid+`/review"]`),
				waitLocation("/review"),
				chromedp.WaitVisible(fmt.Sprintf(`#item-%d`, legs.ID)),
			)
			// ? opens the shortcut help, ? again closes it.
			var helpOpen bool
			check("help",
				chromedp.KeyEvent("?"),
				chromedp.WaitVisible(`#shortcut-help`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					var err error
					helpOpen, err = chromedp.Evaluate[bool](`document.getElementById("shortcut-help").open`)(ctx, tg)
					return err
				}),
			)
			if !helpOpen {
				t.Fatal("? did not open the help")
			}
			check("approved-with-keyboard",
				chromedp.KeyEvent("?"),
				chromedp.WaitNotVisible(`#shortcut-help`),
				chromedp.KeyEvent("j"),
				chromedp.WaitVisible(fmt.Sprintf(`#item-%d.current`, naus.ID)),
				chromedp.KeyEvent("a"),
				chromedp.WaitVisible(final(naus.ID)),
			)
			check("next-item",
				chromedp.KeyEvent("j"),
				chromedp.WaitVisible(fmt.Sprintf(`#item-%d.current`, throat.ID)),
			)
			check("override-search",
				chromedp.KeyEvent("o"),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					id, err := chromedp.Evaluate[string](`document.activeElement.id`)(ctx, tg)
					if err == nil && id != fmt.Sprintf("override-q-%d", throat.ID) {
						err = fmt.Errorf("o focused %q, not the override search", id)
					}
					return err
				}),
				chromedp.KeyEvent("strep sore throat"),
				chromedp.WaitVisible(fmt.Sprintf(`#results-%d button[value="28060"]`, throat.ID)),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					v, err := chromedp.Value(fmt.Sprintf(`#override-q-%d`, throat.ID))(ctx, tg)
					if err == nil && v != "strep sore throat" {
						err = fmt.Errorf("the search box holds %q: the shortcut's key was typed into it", v)
					}
					return err
				}),
			)
			check("overridden",
				chromedp.Click(fmt.Sprintf(`#results-%d button[value="28060"]`, throat.ID)),
				chromedp.WaitVisible(final(throat.ID)),
			)
			check("rejected",
				chromedp.Click(fmt.Sprintf(`#item-%d button[data-action="reject"]`, legs.ID)),
				chromedp.WaitVisible(final(legs.ID)),
			)
			var stcm string
			check("exports",
				chromedp.Navigate(ra.srv.URL+"/projects/"+pid+"/exports"),
				chromedp.WaitVisible(`a[data-format="source_to_concept_map"]`),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					var err error
					stcm, err = chromedp.Evaluate[string](`fetch(document.querySelector('a[data-format="source_to_concept_map"]').href).then(r => r.ok ? r.text() : "HTTP " + r.status)`,
						chromedp.EvalAwaitPromise)(ctx, tg)
					return err
				}),
			)
			rows, err := csv.NewReader(strings.NewReader(stcm)).ReadAll()
			if err != nil || len(rows) < 1 {
				t.Fatalf("source_to_concept_map: %v\n%s", err, stcm)
			}
			col := slices.Index(rows[0], "source_code")
			target := slices.Index(rows[0], "target_concept_id")
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[col]+"→"+r[target])
			}
			slices.Sort(got)
			if want := []string{"NAUS→31967", "THROAT→28060"}; !slices.Equal(got, want) {
				t.Fatalf("source_to_concept_map rows %v, want %v\n%s", got, want, stcm)
			}
		})
	}
}

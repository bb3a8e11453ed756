// Package browsertest drives headless Chromium (chromedp, Debian's
// chromium) for the dashboard's browser tests: a Session per viewport that
// runs steps with a time limit, saves a screenshot of each under the
// test's artifact folder, checks the page fits the viewport's width, and
// fails the test on any console error, uncaught exception, browser log
// error (CSP violations among them), failed request or HTTP error
// response. Tests in web and in cmd/portiere (which can start Temporal and
// the worker) use it.
package browsertest

import (
	"context"
	"encoding/json"
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
)

// StepTimeout bounds one step of a Session.
const StepTimeout = 30 * time.Second

// ChromiumPath finds Debian's chromium (make tools installs it). Without
// it the test is skipped, unless PORTIERE_REQUIRE_TOOLS says browser tests
// must run.
func ChromiumPath(t testing.TB) string {
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

// Viewport is a browser window's size.
type Viewport struct {
	Name          string
	Width, Height int64
	Mobile        bool
}

// Viewports are the sizes the dashboard is tested at: a laptop and a
// phone.
var Viewports = []Viewport{
	{"desktop", 1280, 800, false},
	{"phone", 390, 844, true},
}

// Session is one Chromium tab at one viewport, for one test. It is not
// safe for concurrent use.
type Session struct {
	t     testing.TB
	vp    Viewport
	ctx   context.Context
	dir   string
	probs problems
	step  int
}

// Start starts Chromium at vp; it stops when t ends. Screenshots go to
// t.ArtifactDir() (go test -artifacts keeps them), whose path is logged.
func Start(t *testing.T, chromium string, vp Viewport) *Session {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(int(vp.Width), int(vp.Height)))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	s := &Session{t: t, vp: vp, ctx: ctx, dir: t.ArtifactDir()}
	t.Logf("screenshots: %s", s.dir)
	if err := chromedp.Listen(ctx, s.probs.listen); err != nil {
		t.Fatal(err)
	}
	viewport := chromedp.EmulateViewport(vp.Width, vp.Height)
	if vp.Mobile {
		viewport = chromedp.EmulateViewport(vp.Width, vp.Height, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx, viewport); err != nil {
		t.Fatal(err)
	}
	return s
}

// Context is the tab's context, for chromedp.Run outside a step.
func (s *Session) Context() context.Context { return s.ctx }

// Check runs one step within StepTimeout, saves its screenshot
// (<viewport>-<step>-<name>.png), checks the page is no wider than the
// viewport and that every form control has a label or accessible name,
// logs the step's time, and fails the test on anything the browser
// reported.
func (s *Session) Check(name string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	s.step++
	start := time.Now()
	defer func() { s.t.Logf("step %d %s: %s", s.step, name, time.Since(start).Round(time.Millisecond)) }()
	sctx, cancel := context.WithTimeout(s.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(s.ctx, chromedp.Location())
		s.t.Fatalf("step %d %s: %v (at %s)", s.step, name, err, loc)
	}
	// A navigation the step started may still be loading: the page has no
	// size to photograph until it is laid out.
	settled := chromedp.Poll[chromedp.Void](`document.readyState === "complete" && document.documentElement.getBoundingClientRect().width > 0`)
	if err := chromedp.Do(sctx, settled); err != nil {
		s.t.Fatalf("step %d %s: the page never finished loading: %v", s.step, name, err)
	}
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("step %d %s: screenshot: %v", s.step, name, err)
	}
	file := filepath.Join(s.dir, fmt.Sprintf("%s-%02d-%s.png", s.vp.Name, s.step, name))
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		s.t.Fatal(err)
	}
	fits, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		s.t.Errorf("step %d %s: the page is wider than the %dpx viewport (%v)", s.step, name, s.vp.Width, err)
	}
	unnamed, err := chromedp.Run(sctx, chromedp.Evaluate[[]string](unnamedControls))
	if err != nil || len(unnamed) > 0 {
		s.t.Errorf("step %d %s: controls without a label or accessible name (%v):\n%s", s.step, name, err, strings.Join(unnamed, "\n"))
	}
	// Let late events (subresources, htmx) arrive before judging.
	chromedp.Do(sctx, chromedp.Sleep(100*time.Millisecond))
	if p := s.probs.take(); len(p) > 0 {
		s.t.Fatalf("step %d %s: the browser reported:\n%s", s.step, name, strings.Join(p, "\n"))
	}
}

// LogIn signs email in through the log-in form, as the step "logged-in".
func (s *Session) LogIn(baseURL, email, password string) {
	s.t.Helper()
	s.Check("logged-in",
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, password+"\r"),
		WaitLocation("/projects"),
	)
}

// unnamedControls lists the page's form controls a screen reader could
// not name: no <label>, aria-label, aria-labelledby or title, and for a
// button no text either.
const unnamedControls = `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button")).filter(function (el) {
	if (el.labels && el.labels.length > 0) { return false; }
	if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.title) { return false; }
	if (el.tagName === "BUTTON" && el.textContent.trim() !== "") { return false; }
	if ((el.type === "submit" || el.type === "button") && el.value) { return false; }
	return true;
}).map(function (el) { return el.outerHTML.slice(0, 160); })`

// WaitLocation waits until the page's address contains part: the
// navigation a form submission starts has arrived.
func WaitLocation(part string) chromedp.Action[chromedp.Void] {
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

// Text reads the visible text of the first element sel matches into into.
func Text(sel string, into *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var err error
		*into, err = chromedp.Text(sel)(ctx, tg)
		return err
	})
}

// WaitText waits until the text of sel is want, appending each distinct
// text seen to seen (when not nil): a progress bar's way to 100%. It reads
// the text in one script call, so an element htmx swaps out between
// finding and reading it is read again at the next poll, not an error.
func WaitText(sel, want string, seen *[]string) chromedp.Action[chromedp.Void] {
	quoted, _ := json.Marshal(sel)
	read := fmt.Sprintf(`(function () { var el = document.querySelector(%s); return el ? el.innerText : ""; })()`, quoted)
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			got, err := chromedp.Evaluate[string](read)(ctx, tg)
			if err != nil {
				return err
			}
			if seen != nil && (len(*seen) == 0 || (*seen)[len(*seen)-1] != got) {
				*seen = append(*seen, got)
			}
			if got == want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s reads %q, never %q: %w", sel, got, want, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// problems collects what makes a browser run fail.
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

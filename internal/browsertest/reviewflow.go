package browsertest

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/chromedp"
)

// ReviewFlow is the review queue as a reviewer works it from the project
// page, signed in already: open the queue, show and hide the shortcut
// help (?), approve the first open item with the keyboard (j, a), move to
// the next (j) and override it through the search box (o, typing, choosing
// a result), optionally reject a third with its button, then download the
// source_to_concept_map export from the exports page with the page's own
// session.
type ReviewFlow struct {
	BaseURL string // the dashboard
	Project string // the project's id
	// Approve is the queue's first item, approved with j and a; Override
	// the one after it, overridden with Concept (a concept id), found by
	// typing Query into its search box.
	Approve, Override int64
	Query, Concept    string
	// Reject, when not 0, is an item rejected with its button.
	Reject int64
}

// ReviewResult is what the flow saw.
type ReviewResult struct {
	// Export is the source_to_concept_map download as it came.
	Export string
	// Rows are its rows as "source_code→target_concept_id", sorted.
	Rows []string
}

// Run runs f in s; each step is one of s's checks (a screenshot each).
func (f ReviewFlow) Run(s *Session) ReviewResult {
	s.t.Helper()
	item := func(id int64) string { return fmt.Sprintf(`#item-%d`, id) }
	final := func(id int64) string { return fmt.Sprintf(`#item-%d p.state[data-state="final"]`, id) }
	s.Check("queue",
		chromedp.Navigate(f.BaseURL+"/projects/"+f.Project),
		chromedp.Click(`a[href="/projects/`+f.Project+`/review"]`),
		WaitLocation("/review"),
		chromedp.WaitVisible(item(f.Approve)),
		chromedp.WaitVisible(item(f.Override)),
	)
	// ? opens the shortcut help, ? again closes it.
	s.Check("help",
		chromedp.KeyEvent("?"),
		chromedp.WaitVisible(`#shortcut-help`),
		chromedp.Poll[chromedp.Void](`document.getElementById("shortcut-help").open`),
	)
	s.Check("approved-with-keyboard",
		chromedp.KeyEvent("?"),
		chromedp.WaitNotVisible(`#shortcut-help`),
		chromedp.KeyEvent("j"),
		chromedp.WaitVisible(item(f.Approve)+`.current`),
		chromedp.KeyEvent("a"),
		chromedp.WaitVisible(final(f.Approve)),
	)
	s.Check("next-item",
		chromedp.KeyEvent("j"),
		chromedp.WaitVisible(item(f.Override)+`.current`),
	)
	box := fmt.Sprintf(`override-q-%d`, f.Override)
	result := fmt.Sprintf(`#results-%d button[value="%s"]`, f.Override, f.Concept)
	s.Check("override-search",
		chromedp.KeyEvent("o"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			id, err := chromedp.Evaluate[string](`document.activeElement.id`)(ctx, tg)
			if err == nil && id != box {
				err = fmt.Errorf("o focused %q, not the override search", id)
			}
			return err
		}),
		chromedp.KeyEvent(f.Query),
		chromedp.WaitVisible(result),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Value(`#`+box)(ctx, tg)
			if err == nil && v != f.Query {
				err = fmt.Errorf("the search box holds %q: the shortcut's key was typed into it", v)
			}
			return err
		}),
	)
	s.Check("overridden",
		chromedp.Click(result),
		chromedp.WaitVisible(final(f.Override)),
	)
	if f.Reject != 0 {
		s.Check("rejected",
			chromedp.Click(fmt.Sprintf(`#item-%d button[data-action="reject"]`, f.Reject)),
			chromedp.WaitVisible(final(f.Reject)),
		)
	}
	var r ReviewResult
	s.Check("exports",
		chromedp.Navigate(f.BaseURL+"/projects/"+f.Project+"/exports"),
		chromedp.WaitVisible(`a[data-format="source_to_concept_map"]`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			r.Export, err = chromedp.Evaluate[string](`fetch(document.querySelector('a[data-format="source_to_concept_map"]').href).then(r => r.ok ? r.text() : "HTTP " + r.status)`,
				chromedp.EvalAwaitPromise)(ctx, tg)
			return err
		}),
	)
	rows, err := csv.NewReader(strings.NewReader(r.Export)).ReadAll()
	if err != nil || len(rows) < 1 {
		s.t.Fatalf("source_to_concept_map: %v\n%s", err, r.Export)
	}
	code, target := slices.Index(rows[0], "source_code"), slices.Index(rows[0], "target_concept_id")
	if code < 0 || target < 0 {
		s.t.Fatalf("source_to_concept_map has no source_code or target_concept_id column:\n%s", r.Export)
	}
	for _, row := range rows[1:] {
		r.Rows = append(r.Rows, row[code]+"→"+row[target])
	}
	slices.Sort(r.Rows)
	return r
}

package browsertest

import (
	"context"
	"strings"

	"github.com/chromedp/chromedp"
)

// SourceFlow is the dashboard's source flow as a new user clicks through
// it: sign up, create a project, upload a CSV (its progress bar, then the
// preview of its columns and counts), confirm the import, start the bulk
// mapping, watch its progress bar reach 100%, and open the result charts.
type SourceFlow struct {
	BaseURL string // the dashboard
	Org     string // the organization signed up
	Email   string
	CSV     string // absolute path of the file to upload
	// Sources returns the ids of the project's stored sources (the test
	// reads its store): none after the preview, one after the import.
	Sources func(project string) []string
}

// FlowResult is what the flow saw.
type FlowResult struct {
	Project, Source string
	// Preview's distinct codes and rows, as shown.
	Distinct, Rows string
	UploadStatus   string
	// Percents are the progress bar's readings, in order, until 100%.
	Percents []string
	// StatusDesc is the status chart's description.
	StatusDesc string
}

// Run runs f in s; each step is one of s's checks (a screenshot each).
func (f SourceFlow) Run(s *Session) FlowResult {
	s.t.Helper()
	var r FlowResult
	s.Check("signed-up",
		chromedp.Navigate(f.BaseURL+"/signup"),
		chromedp.WaitVisible(`#organization`),
		chromedp.SendKeys(`#organization`, f.Org),
		chromedp.SendKeys(`#name`, "Dana"),
		chromedp.SendKeys(`#email`, f.Email),
		chromedp.SendKeys(`#password`, "correct horse battery"),
		chromedp.Click(`main form button[type=submit]`),
		WaitLocation("/projects?welcome=1"),
	)
	s.Check("project-created",
		chromedp.Click(`a[href="/projects/new"]`),
		chromedp.WaitVisible(`#project-name`),
		chromedp.SendKeys(`#project-name`, "Laboratory\r"),
		WaitLocation("?created=1"),
		chromedp.WaitVisible(`#sources-link`),
	)
	s.Check("preview",
		chromedp.Click(`#sources-link`),
		chromedp.WaitVisible(`#source-file`),
		chromedp.SetUploadFiles(`#source-file`, []string{f.CSV}),
		chromedp.Click(`#preview-button`),
		chromedp.WaitVisible(`#preview`),
		chromedp.WaitVisible(`#upload-progress`),
		Text(`#preview-distinct`, &r.Distinct),
		Text(`#preview-rows`, &r.Rows),
		Text(`#upload-status`, &r.UploadStatus),
	)
	loc, err := chromedp.Run(s.ctx, chromedp.Location())
	if err != nil {
		s.t.Fatal(err)
	}
	r.Project = strings.TrimSuffix(strings.TrimPrefix(loc, f.BaseURL+"/projects/"), "/sources")
	if got := f.Sources(r.Project); len(got) != 0 {
		s.t.Fatalf("the preview stored sources %v", got)
	}
	s.Check("imported",
		chromedp.Click(`#confirm-import`),
		WaitLocation("imported="),
		chromedp.WaitVisible(`p.notice.ok`),
	)
	got := f.Sources(r.Project)
	if len(got) != 1 {
		s.t.Fatalf("after the import the project has sources %v, want one", got)
	}
	r.Source = got[0]
	s.Check("mapping-started",
		chromedp.Click(`#source-`+r.Source+` button[type=submit]`),
		WaitLocation("/mapping"),
		chromedp.WaitVisible(`#mapping-progress`),
	)
	s.Check("mapping-done",
		WaitText(`#progress-percent`, "100%", &r.Percents),
		chromedp.WaitVisible(`#results-link`),
		chromedp.Poll[chromedp.Void](`document.getElementById("mapping-progress").value == document.getElementById("mapping-progress").max`),
	)
	s.Check("results",
		chromedp.Click(`#results-link`),
		WaitLocation("/results"),
		chromedp.WaitVisible(`#confidence-chart`),
		chromedp.WaitVisible(`#status-chart`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var err error
			r.StatusDesc, err = chromedp.TextContent(`#status-desc`)(ctx, tg)
			return err
		}),
	)
	return r
}

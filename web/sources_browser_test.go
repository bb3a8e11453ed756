package web_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portiere/portiere/internal/browsertest"
)

// TestBrowserUploadMapAndCharts drives headless Chromium through a
// source's life on the dashboard (browsertest.SourceFlow): upload
// testdata/demo-source-codes.csv with its progress bar, read the preview,
// confirm the import, start the bulk mapping and watch its progress bar
// reach 100%, then read the result charts — at a laptop's and at a
// phone's width. Here the bulk mapping is fakeMapping, advancing 8 codes
// a poll so the bar is seen on its way; cmd/portiere's
// TestWholeLoopThroughTheDashboard runs the same flow against Temporal and
// the worker. Any console error or failed request fails it; each step
// leaves a screenshot in the test's artifact folder.
func TestBrowserUploadMapAndCharts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromium := browsertest.ChromiumPath(t)
	csv, err := filepath.Abs("../testdata/demo-source-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, vp := range browsertest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			t.Parallel()
			a, fake := newSourcesApp(t, 8)
			s := browsertest.Start(t, chromium, vp)
			r := browsertest.SourceFlow{
				BaseURL: a.srv.URL, Org: "Upload Hospital " + vp.Name, Email: vp.Name + "@upload.example", CSV: csv,
				Sources: func(project string) []string {
					var ids []string
					for _, src := range a.sources(t, project) {
						ids = append(ids, src.ID)
					}
					return ids
				},
			}.Run(s)
			if r.Distinct != "40" || r.Rows != "40" {
				t.Errorf("preview: %s distinct codes in %s rows, want 40 and 40", r.Distinct, r.Rows)
			}
			if r.UploadStatus != "Done." {
				t.Errorf("upload status %q", r.UploadStatus)
			}
			if src := a.sources(t, r.Project); len(src) != 1 || src[0].DistinctCodes != 40 || src[0].Name != "demo-source-codes.csv" {
				t.Fatalf("stored sources %+v", src)
			}
			if len(r.Percents) < 3 {
				t.Errorf("the progress bar read %v: want it seen on its way to 100%%", r.Percents)
			}
			if len(fake.started) != 1 || fake.started[0].SourceID != r.Source {
				t.Fatalf("starts %+v", fake.started)
			}
			if !strings.Contains(r.StatusDesc, "Measurement: 0 approved, 0 overridden, 0 rejected, 20 pending") {
				t.Errorf("status chart's description %q", r.StatusDesc)
			}
		})
	}
}

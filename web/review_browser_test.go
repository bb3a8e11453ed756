package web_test

import (
	"slices"
	"testing"

	"github.com/portiere/portiere/internal/browsertest"
)

// TestBrowserReviewQueue drives headless Chromium through the review
// queue (browsertest.ReviewFlow) at a laptop's and a phone's size, on
// items written with the mapping store: approve one with the keyboard (j,
// a), override another through the search box (o, typing, choosing a
// result), reject a third, then download the source_to_concept_map export
// and check it holds exactly the approved and overridden rows. Any console
// error or failed request fails it; each step leaves a screenshot in the
// test's artifact folder. cmd/portiere's TestWholeLoopThroughTheDashboard
// runs the same flow on the items a real bulk mapping wrote.
func TestBrowserReviewQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromium := browsertest.ChromiumPath(t)
	for _, vp := range browsertest.Viewports {
		t.Run(vp.Name, func(t *testing.T) {
			t.Parallel()
			ra := newReviewApp(t)
			email := "reviewer-" + vp.Name + "@example.org"
			owner := ra.browser(t)
			owner.signUp("Review Browser "+vp.Name, email)
			pid := owner.createProject("Browser Labs")
			items := ra.seedItems(t, pid)

			s := browsertest.Start(t, chromium, vp)
			s.LogIn(ra.srv.URL, email, "correct horse battery")
			r := browsertest.ReviewFlow{
				BaseURL: ra.srv.URL, Project: pid,
				Approve: items["NAUS"].ID, Override: items["THROAT"].ID, Query: "strep sore throat", Concept: "28060",
				Reject: items["LEGS"].ID,
			}.Run(s)
			if want := []string{"NAUS→31967", "THROAT→28060"}; !slices.Equal(r.Rows, want) {
				t.Fatalf("source_to_concept_map rows %v, want %v\n%s", r.Rows, want, r.Export)
			}
		})
	}
}

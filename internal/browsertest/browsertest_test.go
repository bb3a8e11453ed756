package browsertest

import (
	"net/url"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestUnnamedControls checks the check every step makes: controls named
// by a label (around or for=), aria-label, aria-labelledby, title or
// their text pass; the others are listed.
func TestUnnamedControls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	s := Start(t, ChromiumPath(t), Viewports[0])
	page := `<!doctype html><title>t</title>
<label for="a">A</label><input id="a">
<label>B <select id="b"><option>x</option></select></label>
<input id="c" aria-label="C"><span id="dl">D</span><textarea id="d" aria-labelledby="dl"></textarea>
<button id="e">Go</button><input type="submit" value="Send"><input type="hidden" name="h">
<input id="bad-input"><button id="bad-button"></button><select id="bad-select"></select>`
	if err := chromedp.Do(s.Context(), chromedp.Navigate("data:text/html,"+url.PathEscape(page))); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(s.Context(), chromedp.Evaluate[[]string](unnamedControls))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`<input id="bad-input">`, `<button id="bad-button"></button>`, `<select id="bad-select"></select>`}
	if !slices.Equal(got, want) {
		t.Fatalf("unnamed controls %q, want %q", got, want)
	}
}

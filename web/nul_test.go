package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFormWithNULIsRefused: a NUL character in any form field is a 422
// naming the field, never a 500 from the database, and nothing is stored.
func TestFormWithNULIsRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	b := a.browser(t)
	b.signUp("NUL Org", "nul@example.org")
	org := a.org(t, "nul@example.org")
	b.get("/projects/new")
	res := b.post("/projects", url.Values{"name": {"Cardio\x00logy"}, "description": {"x"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "NUL character") || !strings.Contains(res.body, "name") {
		t.Fatalf("NUL in a project name: %d, want 422 naming the field\n%.1500s", res.status, res.body)
	}
	ps, err := a.tenants.Projects(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Fatalf("%d projects stored, want none: %+v", len(ps), ps)
	}
}

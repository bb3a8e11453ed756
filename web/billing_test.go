package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/web"
)

// fakeStripe is billing.Service with Stripe's two session calls answered
// here: the page reads the real usage, the buttons get fixed URLs.
type fakeStripe struct {
	*billing.Service
	checkouts []string
}

func (f *fakeStripe) Checkout(_ context.Context, org, plan, success, cancel, _ string) (string, error) {
	f.checkouts = append(f.checkouts, plan+" "+success+" "+cancel)
	return "https://checkout.stripe.example/c/" + plan, nil
}

func (f *fakeStripe) Portal(context.Context, string, string, string) (string, error) {
	return "https://billing.stripe.example/p/1", nil
}

func TestBillingPage(t *testing.T) {
	t.Parallel()
	t.Run("payments not configured", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		a := newAppWithPool(t, pool, func(c *web.Config) { c.Billing = billing.NewService(billingstore.New(pool), billing.Options{}) })
		owner := a.browser(t)
		owner.signUp("Billing Org", "billing-owner@example.org")
		owner.createProject("One")
		res := owner.get("/billing")
		for _, want := range []string{`id="billing-plan">free<`, "Payments are not configured", `<meter id="meter-projects" min="0" max="`, `value="1"`, "concept searches"} {
			if !strings.Contains(res.body, want) {
				t.Errorf("billing page lacks %q", want)
			}
		}
		if res.status != http.StatusOK || strings.Contains(res.body, "Upgrade to") {
			t.Errorf("billing page: %d", res.status)
		}
		if res := owner.post("/billing/checkout", url.Values{"plan": {"pro"}}); res.status != http.StatusNotFound || !strings.Contains(res.body, "Payments are not configured") {
			t.Errorf("checkout without payments: %d", res.status)
		}
		if res := a.browser(t).get("/billing"); res.status != http.StatusSeeOther {
			t.Errorf("anonymous billing page: %d", res.status)
		}
	})
	t.Run("payments configured", func(t *testing.T) {
		t.Parallel()
		pool := dbtest.New(t)
		fake := &fakeStripe{Service: billing.NewService(billingstore.New(pool), billing.Options{})}
		a := newAppWithPool(t, pool, func(c *web.Config) { c.Billing, c.Payments = fake, true })
		owner := a.browser(t)
		owner.signUp("Paying Org", "pay-owner@example.org")
		org := a.org(t, "pay-owner@example.org")
		viewer := a.member(t, org.ID, "pay-viewer@example.org", tenancy.RoleViewer)

		res := owner.get("/billing")
		if res.status != http.StatusOK || !strings.Contains(res.body, "Upgrade to pro") || !strings.Contains(res.body, "Upgrade to enterprise") {
			t.Fatalf("owner's billing page: %d\n%.800s", res.status, res.body)
		}
		if res := owner.post("/billing/checkout", url.Values{"plan": {"pro"}, "csrf_token": {""}}); res.status != http.StatusForbidden {
			t.Errorf("checkout without CSRF token: %d", res.status)
		}
		res = owner.post("/billing/checkout", url.Values{"plan": {"pro"}}, "HX-Request", "true")
		if res.status != http.StatusNoContent || res.header.Get("HX-Redirect") != "https://checkout.stripe.example/c/pro" {
			t.Errorf("htmx checkout: %d %q", res.status, res.header.Get("HX-Redirect"))
		}
		res = owner.post("/billing/checkout", url.Values{"plan": {"enterprise"}})
		if res.status != http.StatusOK || !strings.Contains(res.body, `href="https://checkout.stripe.example/c/enterprise"`) {
			t.Errorf("form checkout: %d", res.status)
		}
		if len(fake.checkouts) != 2 || !strings.Contains(fake.checkouts[0], "/billing?checkout=done") {
			t.Errorf("checkouts %q", fake.checkouts)
		}
		if res := owner.post("/billing/checkout", url.Values{"plan": {"free"}}); res.status != http.StatusUnprocessableEntity {
			t.Errorf("checkout of the free plan: %d", res.status)
		}
		if res := owner.post("/billing/portal", nil); res.status != http.StatusOK || !strings.Contains(res.body, "https://billing.stripe.example/p/1") {
			t.Errorf("portal: %d", res.status)
		}
		// Viewers see usage, not the buttons, and cannot post them.
		res = viewer.get("/billing")
		if res.status != http.StatusOK || strings.Contains(res.body, "Upgrade to") || !strings.Contains(res.body, "Only owners and admins") {
			t.Errorf("viewer's billing page: %d", res.status)
		}
		for _, p := range []string{"/billing/checkout", "/billing/portal"} {
			if res := viewer.post(p, url.Values{"plan": {"pro"}}); res.status != http.StatusForbidden {
				t.Errorf("viewer POST %s: %d", p, res.status)
			}
		}
	})
}

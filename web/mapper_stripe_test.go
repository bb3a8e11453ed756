package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/web"
)

// TestMapperPayoutAccount runs the Stripe Connect onboarding against
// stripe-mock: the account is created once per mapper, its status shown,
// and the onboarding link is Stripe's.
func TestMapperPayoutAccount(t *testing.T) {
	t.Parallel()
	sc, err := stripeconnect.New(stripeconnect.Config{SecretKey: "sk_test_123", URL: stripetest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	ma := newMapperApp(t, func(c *web.Config) { c.PayoutAccounts = sc })
	const uid = "U8888888888888888888888888888888b"
	b := ma.lineLogin(t, uid, "Payee")
	if res := b.get("/payout-account"); res.status != http.StatusSeeOther || res.location != "/register" {
		t.Fatalf("payout account before applying: %d %s", res.status, res.location)
	}
	if res := b.post("/payout-account", nil); res.status != http.StatusForbidden {
		t.Fatalf("create before applying: %d", res.status)
	}
	b.post("/register", goodRegistration())
	res := b.get("/payout-account")
	if res.status != 200 || !strings.Contains(res.body, `id="create-payout-account"`) {
		t.Fatalf("payout page:\n%.1500s", res.body)
	}
	if res := b.post("/payout-account", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%.800s", res.status, res.body)
	}
	m, _ := ma.svc.SignIn(context.Background(), uid, "")
	if !strings.HasPrefix(m.StripeAccountID, "acct_") {
		t.Fatalf("account id %q", m.StripeAccountID)
	}
	// A second request keeps the account.
	b.get("/payout-account")
	b.post("/payout-account", url.Values{})
	if again, _ := ma.svc.SignIn(context.Background(), uid, ""); again.StripeAccountID != m.StripeAccountID {
		t.Fatalf("account replaced: %q then %q", m.StripeAccountID, again.StripeAccountID)
	}
	res = b.get("/payout-account")
	if res.status != 200 || !strings.Contains(res.body, m.StripeAccountID) || !strings.Contains(res.body, `id="payouts-ready"`) {
		t.Fatalf("account status:\n%.1500s", res.body)
	}
	res = b.get("/payout-account/onboarding")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "https://") {
		t.Fatalf("onboarding link: %d %q", res.status, res.location)
	}
	// Nothing about the account's bank is kept here.
	if n := ma.count(t, `select count(*) from information_schema.columns where table_name = 'mappers' and (column_name like '%bank%' or column_name like '%iban%' or column_name like '%routing%')`); n != 0 {
		t.Fatalf("mappers has %d bank columns", n)
	}
}

package billingstripe_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstripe"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stripetest.Stop()
	os.Exit(code)
}

const secret = "whsec_test_secret"

// recorder forwards to stripe-mock and keeps each request's method, path
// and Idempotency-Key.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func newClient(t *testing.T) (*billingstripe.Client, *recorder) {
	t.Helper()
	target, _ := url.Parse(stripetest.URL(t))
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key"))
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := billingstripe.New(billingstripe.Config{
		SecretKey: "sk_test_123", WebhookSecret: secret, URL: srv.URL,
		Prices:       map[string]string{billing.PlanPro: "price_pro", billing.PlanEnterprise: "price_ent"},
		MeteredPrice: "price_items", MeterEvent: "portiere_mapped_items",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// TestCalls: every creation reaches Stripe (stripe-mock) with its
// idempotency key.
func TestCalls(t *testing.T) {
	c, rec := newClient(t)
	ctx := context.Background()
	cust, err := c.CreateCustomer(ctx, "org-1", "Acme", "customer-org-1")
	if err != nil || !strings.HasPrefix(cust, "cus_") {
		t.Fatalf("customer %q %v", cust, err)
	}
	u, err := c.CheckoutURL(ctx, billing.CheckoutRequest{OrganizationID: "org-1", CustomerID: cust, Plan: billing.PlanPro,
		SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/cancel", IdempotencyKey: "checkout-org-1-r1"})
	if err != nil || u == "" {
		t.Fatalf("checkout %q %v", u, err)
	}
	if _, err := c.CheckoutURL(ctx, billing.CheckoutRequest{Plan: billing.PlanFree}); !errors.Is(err, billing.ErrInvalid) {
		t.Fatalf("free plan checkout: %v", err)
	}
	p, err := c.PortalURL(ctx, cust, "https://app.example/billing", "portal-org-1-r2")
	if err != nil || p == "" {
		t.Fatalf("portal %q %v", p, err)
	}
	r, err := c.ReportUsage(ctx, cust, 42, time.Now(), "usage-report-1")
	if err != nil || r != "usage-report-1" {
		t.Fatalf("usage %q %v", r, err)
	}
	want := []string{
		"POST /v1/customers customer-org-1",
		"POST /v1/checkout/sessions checkout-org-1-r1",
		"POST /v1/billing_portal/sessions portal-org-1-r2",
		"POST /v1/billing/meter_events usage-report-1",
	}
	if fmt.Sprint(rec.seen) != fmt.Sprint(want) {
		t.Fatalf("requests\n%v\nwant\n%v", rec.seen, want)
	}
	if !c.Sells(billing.PlanPro) || c.Sells(billing.PlanFree) {
		t.Fatal("Sells")
	}
}

func sign(payload []byte, at time.Time, key string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: key, Timestamp: at}).Header
}

const subscriptionEvent = `{"id":"evt_1","object":"event","type":"customer.subscription.updated","created":1700000000,"api_version":"2020-08-27",
"data":{"object":{"id":"sub_1","object":"subscription","status":"active","customer":"cus_1","cancel_at_period_end":true,"current_period_end":1702592000,
"metadata":{"organization_id":"org-1"},
"items":{"object":"list","data":[{"id":"si_flat","price":{"id":"price_pro"}},{"id":"si_items","price":{"id":"price_items"}}]}}}}`

// TestParseEvent: a good signature decodes; missing, wrong, other-secret
// and five-minute-old ones are ErrBadSignature.
func TestParseEvent(t *testing.T) {
	c, _ := newClient(t)
	body := []byte(subscriptionEvent)
	e, err := c.ParseEvent(body, sign(body, time.Now(), secret))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "evt_1" || e.Type != billing.EventSubscriptionUpdated || e.OrganizationID != "org-1" || e.CustomerID != "cus_1" ||
		e.SubscriptionID != "sub_1" || e.Plan != billing.PlanPro || e.MeteredItemID != "si_items" || e.Status != "active" ||
		!e.CancelAtPeriodEnd || e.CurrentPeriodEnd == nil || e.Created != 1700000000 {
		t.Fatalf("%+v", e)
	}
	for name, sig := range map[string]string{
		"missing":      "",
		"garbage":      "t=1,v1=abc",
		"other secret": sign(body, time.Now(), "whsec_other"),
		"old":          sign(body, time.Now().Add(-6*time.Minute), secret),
		"tampered":     sign([]byte(strings.Replace(subscriptionEvent, "price_pro", "price_ent", 1)), time.Now(), secret),
	} {
		if _, err := c.ParseEvent(body, sig); !errors.Is(err, billing.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

package stripeconnect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stripetest.Stop()
	if code != 0 {
		panic(code)
	}
}

// recorder is a reverse proxy in front of stripe-mock keeping every
// request's path, idempotency key and form.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, key string
	form              url.Values
}

func record(t *testing.T, target string) (*recorder, string) {
	t.Helper()
	rec := &recorder{}
	up, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		rec.mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, up.String()+r.URL.RequestURI(), strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func TestExpressOnboardingAndTransfer(t *testing.T) {
	rec, u := record(t, stripetest.URL(t))
	c, err := stripeconnect.New(stripeconnect.Config{SecretKey: "sk_test_123", URL: u})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acct, err := c.CreateExpressAccount(ctx, stripeconnect.AccountRequest{Email: "m@example.org", Country: "TH", Reference: "mpr_1", IdempotencyKey: "acct-mpr_1"})
	if err != nil || !strings.HasPrefix(acct, "acct_") {
		t.Fatalf("account %q %v", acct, err)
	}
	link, err := c.OnboardingLink(ctx, acct, "https://mapper.example/stripe/refresh", "https://mapper.example/stripe/return")
	if err != nil || !strings.HasPrefix(link, "https://") {
		t.Fatalf("link %q %v", link, err)
	}
	st, err := c.Account(ctx, acct)
	if err != nil || st.ID == "" {
		t.Fatalf("status %+v %v", st, err)
	}
	tr, err := c.Transfer(ctx, stripeconnect.TransferRequest{Destination: acct, Currency: "usd", Cents: 1234, IdempotencyKey: "payout-po_1", Group: "batch-1",
		Metadata: map[string]string{"payout": "po_1"}})
	if err != nil || !strings.HasPrefix(tr.ID, "tr_") {
		t.Fatalf("transfer %+v %v", tr, err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sawAccount, sawLink, sawTransfer bool
	for _, r := range rec.reqs {
		switch {
		case r.method == "POST" && r.path == "/v1/accounts":
			sawAccount = r.key == "acct-mpr_1" && r.form.Get("type") == "express" && r.form.Get("capabilities[transfers][requested]") == "true" &&
				r.form.Get("metadata[payee]") == "mpr_1"
		case r.method == "POST" && r.path == "/v1/account_links":
			sawLink = r.form.Get("account") == acct && r.form.Get("type") == "account_onboarding"
		case r.method == "POST" && r.path == "/v1/transfers":
			sawTransfer = r.key == "payout-po_1" && r.form.Get("amount") == "1234" && r.form.Get("currency") == "usd" &&
				r.form.Get("destination") == acct && r.form.Get("transfer_group") == "batch-1"
		}
	}
	if !sawAccount || !sawLink || !sawTransfer {
		t.Fatalf("requests as sent: account %v, link %v, transfer %v: %+v", sawAccount, sawLink, sawTransfer, rec.reqs)
	}
}

func TestTransferErrorsSayWhetherToRetry(t *testing.T) {
	status := http.StatusBadRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"error": {"type": "invalid_request_error", "code": "account_invalid", "message": "No such destination"}}`)
	}))
	defer srv.Close()
	c, err := stripeconnect.New(stripeconnect.Config{SecretKey: "sk_test_123", URL: srv.URL, NetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	req := stripeconnect.TransferRequest{Destination: "acct_x", Currency: "usd", Cents: 5, IdempotencyKey: "k"}
	if _, err := c.Transfer(context.Background(), req); !errors.Is(err, stripeconnect.ErrRefused) {
		t.Fatalf("400: %v, want ErrRefused", err)
	}
	status = http.StatusServiceUnavailable
	if _, err := c.Transfer(context.Background(), req); err == nil || errors.Is(err, stripeconnect.ErrRefused) {
		t.Fatalf("503: %v, want a retryable error", err)
	}
	if _, err := c.Transfer(context.Background(), stripeconnect.TransferRequest{Destination: "acct_x", Currency: "usd", Cents: 5}); err == nil {
		t.Fatal("a transfer without idempotency key was sent")
	}
	if _, err := stripeconnect.New(stripeconnect.Config{}); err == nil {
		t.Fatal("a client without secret key")
	}
}

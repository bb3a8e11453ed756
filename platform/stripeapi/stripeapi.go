// Package stripeapi builds the stripe-go (v76) API client that Portiere's
// two Stripe integrations share — billing's subscriptions
// (billing/billingstripe) and the mappers' payouts (platform/stripeconnect)
// — so both talk to Stripe, or to stripe-mock in tests and under
// `portiere dev`, the same way.
package stripeapi

import (
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Options configures New. The zero value of each field is its default.
type Options struct {
	SecretKey string // STRIPE_SECRET_KEY
	// URL replaces https://api.stripe.com (stripe-mock, or a recording
	// proxy in front of it).
	URL string
	// HTTPClient replaces the default client (a 30 s timeout).
	HTTPClient *http.Client
	// NetworkRetries is how often stripe-go itself retries a request that
	// failed on the network or with a retryable status, with the same
	// idempotency key: 0 means 2, a negative number none. Retries are safe
	// because every creation carries an idempotency key.
	NetworkRetries int
}

// New returns the API client for o, logging only stripe-go's errors.
func New(o Options) *client.API {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	retries := int64(2)
	if o.NetworkRetries != 0 {
		retries = max(0, int64(o.NetworkRetries))
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        o.HTTPClient,
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
		MaxNetworkRetries: stripe.Int64(retries),
	}
	if o.URL != "" {
		bc.URL = stripe.String(o.URL)
	}
	return client.New(o.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	})
}

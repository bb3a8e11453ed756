// Package stripeconnect is the Stripe Connect side of paying Portiere
// Mapper's reviewers (stripe-go/v76): Express accounts, their onboarding
// links and status, and transfers from the platform's balance, each
// creation carrying an idempotency key. It knows nothing of mappers or
// ledgers; package crowd decides what to pay. Tests point it at
// stripe-mock with Config.URL. The platform never sees bank details:
// Stripe's hosted onboarding collects them.
package stripeconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/portiere/portiere/platform/stripeapi"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// ErrRefused wraps an answer from Stripe that retrying will not change (an
// invalid request, a destination that cannot receive transfers, an
// authentication failure); every other error (network, 5xx, 429, a
// concurrent request with the same idempotency key) may succeed when
// retried with the same key.
var ErrRefused = errors.New("stripeconnect: refused by Stripe")

// Config is the platform account's settings.
type Config struct {
	SecretKey string // STRIPE_SECRET_KEY
	// URL replaces https://api.stripe.com (stripe-mock, or a recording
	// proxy in front of it, in tests).
	URL string
	// HTTPClient replaces the default client (nil: 30 s timeout).
	HTTPClient *http.Client
	// NetworkRetries is how often stripe-go itself retries a request that
	// failed on the network or with a retryable status, with the same
	// idempotency key (default 2; negative: none).
	NetworkRetries int
}

// Client talks to Stripe Connect. It is safe for concurrent use.
type Client struct {
	api *client.API
}

// New returns a Client; the secret key is required.
func New(cfg Config) (*Client, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripeconnect: STRIPE_SECRET_KEY is empty")
	}
	return &Client{api: stripeapi.New(stripeapi.Options{SecretKey: cfg.SecretKey, URL: cfg.URL, HTTPClient: cfg.HTTPClient, NetworkRetries: cfg.NetworkRetries})}, nil
}

// classify wraps err with ErrRefused when Stripe refused the request for
// good.
func classify(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == http.StatusTooManyRequests, se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode >= 500:
		case se.HTTPStatusCode >= 400:
			return fmt.Errorf("%w: %s: %s (%s)", ErrRefused, what, se.Msg, se.Code)
		}
	}
	return fmt.Errorf("stripeconnect: %s: %w", what, err)
}

// AccountRequest asks for an Express account for one payee.
type AccountRequest struct {
	Email   string
	Country string // ISO 3166-1 alpha-2; "" lets Stripe ask during onboarding
	// Reference is the payee's id on our side, kept in the account's
	// metadata ("payee").
	Reference      string
	IdempotencyKey string
}

// CreateExpressAccount creates an Express account able to receive
// transfers and returns its id (acct_…).
func (c *Client) CreateExpressAccount(ctx context.Context, r AccountRequest) (string, error) {
	p := &stripe.AccountParams{
		Params: stripe.Params{Context: ctx, IdempotencyKey: stripe.String(r.IdempotencyKey)},
		Type:   stripe.String(string(stripe.AccountTypeExpress)),
		Capabilities: &stripe.AccountCapabilitiesParams{
			Transfers: &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	if r.Email != "" {
		p.Email = stripe.String(r.Email)
	}
	if r.Country != "" {
		p.Country = stripe.String(r.Country)
	}
	p.AddMetadata("payee", r.Reference)
	a, err := c.api.Accounts.New(p)
	if err != nil {
		return "", classify("create account", err)
	}
	return a.ID, nil
}

// OnboardingLink returns a one-time Stripe-hosted onboarding URL for
// account: Stripe sends the payee to returnURL when done and to
// refreshURL when the link expired.
func (c *Client) OnboardingLink(ctx context.Context, account, refreshURL, returnURL string) (string, error) {
	l, err := c.api.AccountLinks.New(&stripe.AccountLinkParams{
		Params:     stripe.Params{Context: ctx},
		Account:    stripe.String(account),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
	})
	if err != nil {
		return "", classify("account link", err)
	}
	return l.URL, nil
}

// AccountStatus is what the payee's page shows of their account.
type AccountStatus struct {
	ID               string
	DetailsSubmitted bool
	PayoutsEnabled   bool
	// TransfersActive: the transfers capability is active, so transfers
	// to the account succeed.
	TransfersActive bool
	// CurrentlyDue lists what Stripe still needs (its requirement names).
	CurrentlyDue []string
}

// Ready reports whether the account can be paid.
func (s AccountStatus) Ready() bool { return s.TransfersActive && s.DetailsSubmitted }

// Account returns account's status.
func (c *Client) Account(ctx context.Context, account string) (AccountStatus, error) {
	a, err := c.api.Accounts.GetByID(account, &stripe.AccountParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return AccountStatus{}, classify("account "+account, err)
	}
	st := AccountStatus{ID: a.ID, DetailsSubmitted: a.DetailsSubmitted, PayoutsEnabled: a.PayoutsEnabled}
	if a.Capabilities != nil {
		st.TransfersActive = a.Capabilities.Transfers == stripe.AccountCapabilityStatusActive
	}
	if a.Requirements != nil {
		st.CurrentlyDue = a.Requirements.CurrentlyDue
	}
	return st, nil
}

// TransferRequest moves Cents of Currency from the platform's balance to
// Destination. IdempotencyKey is required: Stripe answers a repeated key
// with the first request's transfer, so a retry cannot pay twice.
type TransferRequest struct {
	Destination    string
	Currency       string
	Cents          int64
	IdempotencyKey string
	// Group is Stripe's transfer_group (a payout batch); Metadata is kept
	// on the transfer.
	Group    string
	Metadata map[string]string
}

// Transfer is a created transfer.
type Transfer struct {
	ID       string
	Cents    int64
	Currency string
}

// Transfer creates the transfer r describes. An error wraps ErrRefused
// when Stripe refused it for good (the caller stops retrying and records
// the failure); any other error is worth retrying with the same key.
func (c *Client) Transfer(ctx context.Context, r TransferRequest) (Transfer, error) {
	if r.IdempotencyKey == "" {
		return Transfer{}, errors.New("stripeconnect: a transfer needs an idempotency key")
	}
	if r.Cents <= 0 {
		return Transfer{}, fmt.Errorf("%w: transfer amount %d is not positive", ErrRefused, r.Cents)
	}
	p := &stripe.TransferParams{
		Params:      stripe.Params{Context: ctx, IdempotencyKey: stripe.String(r.IdempotencyKey)},
		Amount:      stripe.Int64(r.Cents),
		Currency:    stripe.String(r.Currency),
		Destination: stripe.String(r.Destination),
	}
	if r.Group != "" {
		p.TransferGroup = stripe.String(r.Group)
	}
	for k, v := range r.Metadata {
		p.AddMetadata(k, v)
	}
	t, err := c.api.Transfers.New(p)
	if err != nil {
		return Transfer{}, classify("transfer to "+r.Destination, err)
	}
	return Transfer{ID: t.ID, Cents: t.Amount, Currency: string(t.Currency)}, nil
}

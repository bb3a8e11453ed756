// Package billingstripe is billing's payment provider on Stripe
// (stripe-go/v76): customers, Checkout and customer-portal sessions, usage
// records for the metered price, and verified webhook events. Tests point
// it at stripe-mock with Config.URL.
package billingstripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/platform/stripeapi"
)

// Config is the Stripe account's settings.
type Config struct {
	SecretKey     string // STRIPE_SECRET_KEY
	WebhookSecret string // STRIPE_WEBHOOK_SECRET (whsec_…)
	// Prices maps a plan name to its flat recurring price id
	// (STRIPE_PRICE_PRO, STRIPE_PRICE_ENTERPRISE).
	Prices map[string]string
	// MeteredPrice is the metered price of mapped items
	// (STRIPE_PRICE_MAPPED_ITEMS), added to every checkout; a subscription
	// holding it has its usage reported. Empty means no usage billing.
	MeteredPrice string
	// MeterEvent is the event name of the Billing Meter behind
	// MeteredPrice (STRIPE_METER_EVENT).
	MeterEvent string
	// URL replaces https://api.stripe.com (stripe-mock in tests).
	URL string
	// HTTPClient replaces the default client (nil: 30 s timeout).
	HTTPClient *http.Client
	// Now is the clock webhook timestamps are checked against; nil means
	// time.Now.
	Now func() time.Time
}

// Client implements billing.Payments. It is safe for concurrent use.
type Client struct {
	api *client.API
	cfg Config
}

var _ billing.Payments = (*Client)(nil)

// New returns a Client; the secret key is required.
func New(cfg Config) (*Client, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("billingstripe: STRIPE_SECRET_KEY is empty")
	}
	return &Client{api: stripeapi.New(stripeapi.Options{SecretKey: cfg.SecretKey, URL: cfg.URL, HTTPClient: cfg.HTTPClient}), cfg: cfg}, nil
}

func params(ctx context.Context, key string) stripe.Params {
	return stripe.Params{Context: ctx, IdempotencyKey: stripe.String(key)}
}

// Sells implements billing.Payments: a plan with a configured price.
func (c *Client) Sells(plan string) bool { return c.cfg.Prices[plan] != "" }

// CreateCustomer implements billing.Payments.
func (c *Client) CreateCustomer(ctx context.Context, orgID, name, idempotencyKey string) (string, error) {
	p := &stripe.CustomerParams{Params: params(ctx, idempotencyKey), Name: stripe.String(name)}
	p.AddMetadata("organization_id", orgID)
	cu, err := c.api.Customers.New(p)
	if err != nil {
		return "", fmt.Errorf("billingstripe: create customer: %w", err)
	}
	return cu.ID, nil
}

// CheckoutURL implements billing.Payments: a subscription-mode session
// for the plan's price (and the metered price), carrying the organization
// in its client reference and in the subscription's metadata.
func (c *Client) CheckoutURL(ctx context.Context, r billing.CheckoutRequest) (string, error) {
	price := c.cfg.Prices[r.Plan]
	if price == "" {
		return "", fmt.Errorf("%w: no price for plan %q", billing.ErrInvalid, r.Plan)
	}
	items := []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}}
	if c.cfg.MeteredPrice != "" {
		items = append(items, &stripe.CheckoutSessionLineItemParams{Price: stripe.String(c.cfg.MeteredPrice)})
	}
	meta := map[string]string{"organization_id": r.OrganizationID, "plan": r.Plan}
	p := &stripe.CheckoutSessionParams{
		Params:            params(ctx, r.IdempotencyKey),
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(r.CustomerID),
		ClientReferenceID: stripe.String(r.OrganizationID),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		LineItems:         items,
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
	}
	p.Metadata = meta
	s, err := c.api.CheckoutSessions.New(p)
	if err != nil {
		return "", fmt.Errorf("billingstripe: create checkout session: %w", err)
	}
	return s.URL, nil
}

// PortalURL implements billing.Payments.
func (c *Client) PortalURL(ctx context.Context, customerID, returnURL, idempotencyKey string) (string, error) {
	s, err := c.api.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{
		Params: params(ctx, idempotencyKey), Customer: stripe.String(customerID), ReturnURL: stripe.String(returnURL),
	})
	if err != nil {
		return "", fmt.Errorf("billingstripe: create portal session: %w", err)
	}
	return s.URL, nil
}

// ReportUsage implements billing.Payments with a Billing Meter event.
func (c *Client) ReportUsage(ctx context.Context, customerID string, quantity int64, at time.Time, identifier string) (string, error) {
	if c.cfg.MeterEvent == "" {
		return "", fmt.Errorf("%w: STRIPE_METER_EVENT is not set", billing.ErrNotConfigured)
	}
	e, err := c.api.BillingMeterEvents.New(&stripe.BillingMeterEventParams{
		Params: params(ctx, identifier), EventName: stripe.String(c.cfg.MeterEvent), Identifier: stripe.String(identifier),
		Timestamp: stripe.Int64(at.Unix()),
		Payload:   map[string]string{"stripe_customer_id": customerID, "value": strconv.FormatInt(quantity, 10)},
	})
	if err != nil {
		return "", fmt.Errorf("billingstripe: report usage: %w", err)
	}
	if e.Identifier == "" {
		return identifier, nil
	}
	return e.Identifier, nil
}

// ParseEvent implements billing.Payments. A missing, wrong or more than
// five minutes old signature is billing.ErrBadSignature.
func (c *Client) ParseEvent(payload []byte, signature string) (billing.Event, error) {
	if c.cfg.WebhookSecret == "" {
		return billing.Event{}, fmt.Errorf("%w: STRIPE_WEBHOOK_SECRET is not set", billing.ErrNotConfigured)
	}
	if err := c.verify(payload, signature); err != nil {
		return billing.Event{}, fmt.Errorf("%w: %v", billing.ErrBadSignature, err)
	}
	var ev stripe.Event
	if err := json.Unmarshal(payload, &ev); err != nil || ev.ID == "" || ev.Data == nil {
		return billing.Event{}, fmt.Errorf("%w: not a Stripe event", billing.ErrInvalid)
	}
	e := billing.Event{ID: ev.ID, Type: string(ev.Type), Created: ev.Created}
	switch e.Type {
	case billing.EventCheckoutCompleted:
		var s stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return billing.Event{}, fmt.Errorf("%w: checkout session: %v", billing.ErrInvalid, err)
		}
		e.OrganizationID = s.ClientReferenceID
		if e.OrganizationID == "" {
			e.OrganizationID = s.Metadata["organization_id"]
		}
		if s.Customer != nil {
			e.CustomerID = s.Customer.ID
		}
		if s.Subscription != nil {
			e.SubscriptionID = s.Subscription.ID
		}
		if _, ok := c.cfg.Prices[s.Metadata["plan"]]; ok {
			e.Plan = s.Metadata["plan"]
		}
	case billing.EventSubscriptionCreated, billing.EventSubscriptionUpdated, billing.EventSubscriptionDeleted:
		var s stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return billing.Event{}, fmt.Errorf("%w: subscription: %v", billing.ErrInvalid, err)
		}
		e.SubscriptionID, e.Status, e.CancelAtPeriodEnd = s.ID, string(s.Status), s.CancelAtPeriodEnd
		e.OrganizationID = s.Metadata["organization_id"]
		if s.Customer != nil {
			e.CustomerID = s.Customer.ID
		}
		if s.CurrentPeriodEnd > 0 {
			t := time.Unix(s.CurrentPeriodEnd, 0).UTC()
			e.CurrentPeriodEnd = &t
		}
		if s.Items != nil {
			for _, it := range s.Items.Data {
				if it.Price == nil {
					continue
				}
				if it.Price.ID == c.cfg.MeteredPrice && c.cfg.MeteredPrice != "" {
					e.MeteredItemID = it.ID
				}
				for plan, price := range c.cfg.Prices {
					if price == it.Price.ID {
						e.Plan = plan
					}
				}
			}
		}
	case billing.EventInvoicePaid, billing.EventInvoiceFailed:
		var in stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &in); err != nil {
			return billing.Event{}, fmt.Errorf("%w: invoice: %v", billing.ErrInvalid, err)
		}
		if in.Customer != nil {
			e.CustomerID = in.Customer.ID
		}
		if in.Subscription != nil {
			e.SubscriptionID = in.Subscription.ID
		}
	}
	return e, nil
}

// verify checks the Stripe-Signature header against the payload.
// ConstructEvent also decodes; only its verification is used, with the
// API version left unchecked (events follow the account's version).
func (c *Client) verify(payload []byte, signature string) error {
	if signature == "" {
		return errors.New("no Stripe-Signature header")
	}
	_, err := webhook.ConstructEventWithOptions(payload, signature, c.cfg.WebhookSecret, webhook.ConstructEventOptions{
		IgnoreAPIVersionMismatch: true, Tolerance: webhook.DefaultTolerance,
	})
	return err
}

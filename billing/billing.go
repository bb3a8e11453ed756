// Package billing is what an organization may use and what it pays for:
// the plan catalog (plans.go), usage metered per organization and month,
// quota checks, the organization's Stripe customer and subscription, the
// Stripe events that move an organization between plans, and the usage
// reports sent to Stripe.
//
// It owns the model, the storage interface (Store, PostgreSQL in
// billingstore) and the payment-provider port (Payments, Stripe in
// billingstripe). Service ties them together; the HTTP API, the concept
// handlers and the usage-report activities call it.
package billing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. The HTTP layer maps them to a status.
var (
	// ErrNotFound: no such organization or usage report.
	ErrNotFound = errors.New("billing: not found")
	// ErrInvalid: an unknown plan, a missing URL.
	ErrInvalid = errors.New("billing: invalid")
	// ErrQuotaExceeded: the organization's plan does not allow more; the
	// error is a *QuotaError.
	ErrQuotaExceeded = errors.New("billing: quota exceeded")
	// ErrNotConfigured: Stripe is not configured (STRIPE_SECRET_KEY).
	ErrNotConfigured = errors.New("billing: payments are not configured")
	// ErrBadSignature: a webhook's signature is missing, wrong or too old.
	ErrBadSignature = errors.New("billing: invalid webhook signature")
)

// QuotaError says which quota a request would cross. It wraps
// ErrQuotaExceeded.
type QuotaError struct {
	Meter       Meter
	Plan        string
	Used        int64 // before the refused request
	Limit       int64
	Requested   int64
	PeriodStart time.Time
	PeriodEnd   time.Time
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s quota of the %s plan exceeded: %d of %d used, %d more requested", e.Meter, e.Plan, e.Used, e.Limit, e.Requested)
}

// Unwrap makes errors.Is(err, ErrQuotaExceeded) hold.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }

// Account is an organization's billing state.
type Account struct {
	OrganizationID       string
	Plan                 string
	StripeCustomerID     string
	StripeSubscriptionID string
	MeteredItemID        string
	// Status is the Stripe subscription status ("active", "past_due",
	// "canceled", ...), or "none" without a subscription.
	Status            string
	CurrentPeriodEnd  *time.Time
	CancelAtPeriodEnd bool
	// LastEventAt is the Stripe creation time (Unix seconds) of the last
	// subscription event applied.
	LastEventAt int64
}

// Event is a Stripe webhook event, reduced to what billing acts on.
type Event struct {
	ID      string
	Type    string
	Created int64 // Unix seconds, Stripe's clock
	// OrganizationID comes from the checkout session's client reference
	// or the subscription's metadata; empty when the event does not say.
	OrganizationID    string
	CustomerID        string
	SubscriptionID    string
	Plan              string // resolved from the subscription's prices; empty if unknown
	Status            string // subscription status
	MeteredItemID     string
	CurrentPeriodEnd  *time.Time
	CancelAtPeriodEnd bool
}

// The Stripe event types handled; others are acknowledged and ignored.
const (
	EventCheckoutCompleted   = "checkout.session.completed"
	EventSubscriptionCreated = "customer.subscription.created"
	EventSubscriptionUpdated = "customer.subscription.updated"
	EventSubscriptionDeleted = "customer.subscription.deleted"
	EventInvoicePaid         = "invoice.paid"
	EventInvoiceFailed       = "invoice.payment_failed"
)

// Report is an amount of usage to send to Stripe once.
type Report struct {
	ID             string
	OrganizationID string
	Period         time.Time
	Meter          Meter
	Quantity       int64
	CustomerID     string // the Stripe customer the usage is billed to
	CreatedAt      time.Time
	SentAt         *time.Time
	StripeEventID  string // the meter event's identifier
}

// Store keeps usage, accounts, handled events and usage reports.
// Implementations are safe for concurrent use.
type Store interface {
	// AddUsage adds n to org's meter for the month period once per
	// requestID and returns the month's total. When limit is not
	// Unlimited and the total would pass it, nothing is added and the
	// error is a *QuotaError (Plan, PeriodEnd left for the caller) with
	// the current total as Used. A repeated requestID adds nothing and
	// returns the current total.
	AddUsage(ctx context.Context, org string, period time.Time, m Meter, n int64, requestID string, limit int64) (int64, error)
	// Usage returns org's monthly meters for period and its current
	// project and seat counts; missing meters are 0.
	Usage(ctx context.Context, org string, period time.Time) (map[Meter]int64, error)
	// Count returns the current count of a non-monthly meter (projects,
	// seats).
	Count(ctx context.Context, org string, m Meter) (int64, error)
	// Account returns org's billing state; an organization without one
	// reads as its plan with status "none". ErrNotFound when org does not
	// exist.
	Account(ctx context.Context, org string) (Account, error)
	// AccountByCustomer finds the account of a Stripe customer.
	AccountByCustomer(ctx context.Context, customerID string) (Account, error)
	// SetCustomer records org's Stripe customer.
	SetCustomer(ctx context.Context, org, customerID string) error
	// HandleEvent records the event id and, in the same transaction,
	// calls apply with the organization's current account (found by
	// e.OrganizationID, else by e.CustomerID) and stores the account it
	// returns (and its plan on the organization) when changed is true.
	// It returns false, without calling apply, when the id was handled
	// before — also when a concurrent delivery of the same id wins.
	HandleEvent(ctx context.Context, e Event, apply func(Account) (Account, bool)) (bool, error)
	// PrepareReports turns every unreported usage of a metered meter of an
	// organization with a metered subscription item into a report, and
	// marks it reported, in one transaction; it returns every report not
	// sent yet (new or left by an earlier run).
	PrepareReports(ctx context.Context, meter Meter) ([]Report, error)
	// Report returns a report by id.
	Report(ctx context.Context, id string) (Report, error)
	// MarkSent records that the report reached Stripe.
	MarkSent(ctx context.Context, id, stripeEventID string, at time.Time) error
}

// CheckoutRequest asks for a Checkout session moving an organization to a
// plan.
type CheckoutRequest struct {
	OrganizationID string
	CustomerID     string
	Plan           string
	SuccessURL     string
	CancelURL      string
	// IdempotencyKey makes a retried request return the same session.
	IdempotencyKey string
}

// Payments is the payment provider (Stripe). Every call that creates
// something takes an idempotency key, so a retry never creates a second
// one. Implementations are safe for concurrent use.
type Payments interface {
	CreateCustomer(ctx context.Context, orgID, name, idempotencyKey string) (customerID string, err error)
	CheckoutURL(ctx context.Context, r CheckoutRequest) (string, error)
	PortalURL(ctx context.Context, customerID, returnURL, idempotencyKey string) (string, error)
	// ReportUsage sends quantity for a customer to the metered price's
	// Billing Meter, once per identifier (Stripe deduplicates meter events
	// by identifier; it is also the idempotency key). It returns the
	// identifier Stripe recorded.
	ReportUsage(ctx context.Context, customerID string, quantity int64, at time.Time, identifier string) (string, error)
	// ParseEvent verifies a webhook's signature header (ErrBadSignature)
	// and decodes the event.
	ParseEvent(payload []byte, signature string) (Event, error)
	// Sells reports whether plan can be bought (a price is configured).
	Sells(plan string) bool
}

// MonthStart is the first instant of t's month, UTC: the period monthly
// meters are counted in.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

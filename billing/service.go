package billing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Service meters usage against plans and runs the Stripe side of billing.
// It is safe for concurrent use.
type Service struct {
	store    Store
	payments Payments // nil without STRIPE_SECRET_KEY
	plans    map[string]Plan
	now      func() time.Time

	// limits caches each organization's rate limit for limitTTL: the rate
	// limiter asks on every request.
	mu     sync.Mutex
	limits map[string]cachedLimit
}

type cachedLimit struct {
	perMinute int
	until     time.Time
}

// limitTTL is how long a plan change takes to reach the rate limiter.
const limitTTL = 30 * time.Second

// Options configure NewService.
type Options struct {
	// Payments is the payment provider; nil refuses checkout, portal and
	// webhooks with ErrNotConfigured (metering and quotas still apply).
	Payments Payments
	// Plans replaces the catalog (tests); nil means Plans().
	Plans map[string]Plan
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, payments: opts.Payments, plans: opts.Plans, now: opts.Now, limits: map[string]cachedLimit{}}
	if s.plans == nil {
		s.plans = Plans()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Plan returns the named plan; an unknown name reads as the free plan.
func (s *Service) Plan(name string) Plan {
	if p, ok := s.plans[name]; ok {
		return p
	}
	return s.plans[PlanFree]
}

func (s *Service) period() (start, end time.Time) {
	start = MonthStart(s.now())
	return start, start.AddDate(0, 1, 0)
}

// Add meters n units of a monthly meter for org under requestID: a
// repeated requestID in the same month is counted once. When the plan's
// quota would be passed, nothing is counted and the error is a
// *QuotaError. Call it before doing the work the request pays for.
func (s *Service) Add(ctx context.Context, org string, m Meter, n int64, requestID string) error {
	if !m.Monthly() {
		return fmt.Errorf("%w: %s is not a monthly meter", ErrInvalid, m)
	}
	if n <= 0 {
		return nil
	}
	if requestID == "" {
		return fmt.Errorf("%w: a request id is required to meter usage", ErrInvalid)
	}
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return err
	}
	plan := s.Plan(acct.Plan)
	start, end := s.period()
	_, err = s.store.AddUsage(ctx, org, start, m, n, requestID, plan.Limit(m))
	var qe *QuotaError
	if errors.As(err, &qe) {
		qe.Plan, qe.PeriodStart, qe.PeriodEnd = plan.Name, start, end
	}
	return err
}

// Check returns a *QuotaError when adding n to a current-count meter
// (projects, seats) would pass org's plan. Call it before creating the
// project or membership; the check and the creation are not one
// transaction, so concurrent creations may pass a quota by the number of
// concurrent requests.
func (s *Service) Check(ctx context.Context, org string, m Meter, n int64) error {
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return err
	}
	plan := s.Plan(acct.Plan)
	limit := plan.Limit(m)
	if limit == Unlimited {
		return nil
	}
	var used int64
	if m.Monthly() {
		u, err := s.store.Usage(ctx, org, MonthStart(s.now()))
		if err != nil {
			return err
		}
		used = u[m]
	} else if used, err = s.store.Count(ctx, org, m); err != nil {
		return err
	}
	if used+n > limit {
		start, end := s.period()
		return &QuotaError{Meter: m, Plan: plan.Name, Used: used, Limit: limit, Requested: n, PeriodStart: start, PeriodEnd: end}
	}
	return nil
}

// RateLimit returns org's requests per API key per minute, 0 when its
// plan sets none (the deployment's default applies). Plans are cached for
// 30 seconds.
func (s *Service) RateLimit(ctx context.Context, org string) (int, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.limits[org]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.perMinute, nil
	}
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return 0, err
	}
	l := s.Plan(acct.Plan).RateLimitPerMinute
	s.mu.Lock()
	s.limits[org] = cachedLimit{perMinute: l, until: now.Add(limitTTL)}
	s.mu.Unlock()
	return l, nil
}

// MeterUsage is one meter of a Usage answer; Limit is Unlimited when the
// plan does not limit it.
type MeterUsage struct {
	Meter Meter
	Used  int64
	Limit int64
}

// Usage is an organization's usage this month against its plan.
type Usage struct {
	OrganizationID string
	Plan           Plan
	PeriodStart    time.Time
	PeriodEnd      time.Time
	Meters         []MeterUsage
}

// UsageOf returns org's usage this month.
func (s *Service) UsageOf(ctx context.Context, org string) (Usage, error) {
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return Usage{}, err
	}
	start, end := s.period()
	used, err := s.store.Usage(ctx, org, start)
	if err != nil {
		return Usage{}, err
	}
	plan := s.Plan(acct.Plan)
	u := Usage{OrganizationID: org, Plan: plan, PeriodStart: start, PeriodEnd: end}
	for _, m := range Meters {
		u.Meters = append(u.Meters, MeterUsage{Meter: m, Used: used[m], Limit: plan.Limit(m)})
	}
	return u, nil
}

// Subscription returns org's account and plan.
func (s *Service) Subscription(ctx context.Context, org string) (Account, Plan, error) {
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return Account{}, Plan{}, err
	}
	return acct, s.Plan(acct.Plan), nil
}

// customer returns org's Stripe customer, creating it on first use. The
// idempotency key is the organization's id, so concurrent or retried first
// uses create one customer.
func (s *Service) customer(ctx context.Context, org string) (string, error) {
	acct, err := s.store.Account(ctx, org)
	if err != nil {
		return "", err
	}
	if acct.StripeCustomerID != "" {
		return acct.StripeCustomerID, nil
	}
	id, err := s.payments.CreateCustomer(ctx, org, org, "customer-"+org)
	if err != nil {
		return "", err
	}
	if err := s.store.SetCustomer(ctx, org, id); err != nil {
		return "", err
	}
	return id, nil
}

// Checkout returns the URL of a Stripe Checkout session subscribing org to
// plan. requestID keys the session's creation, so a retried request gets
// the same session.
func (s *Service) Checkout(ctx context.Context, org, plan, successURL, cancelURL, requestID string) (string, error) {
	if s.payments == nil {
		return "", ErrNotConfigured
	}
	if _, ok := s.plans[plan]; !ok || !s.payments.Sells(plan) {
		return "", fmt.Errorf("%w: plan %q cannot be bought here", ErrInvalid, plan)
	}
	if successURL == "" || cancelURL == "" {
		return "", fmt.Errorf("%w: success_url and cancel_url are required", ErrInvalid)
	}
	cust, err := s.customer(ctx, org)
	if err != nil {
		return "", err
	}
	return s.payments.CheckoutURL(ctx, CheckoutRequest{
		OrganizationID: org, CustomerID: cust, Plan: plan, SuccessURL: successURL, CancelURL: cancelURL,
		IdempotencyKey: "checkout-" + org + "-" + requestID,
	})
}

// Portal returns the URL of a Stripe customer-portal session for org.
func (s *Service) Portal(ctx context.Context, org, returnURL, requestID string) (string, error) {
	if s.payments == nil {
		return "", ErrNotConfigured
	}
	if returnURL == "" {
		return "", fmt.Errorf("%w: return_url is required", ErrInvalid)
	}
	cust, err := s.customer(ctx, org)
	if err != nil {
		return "", err
	}
	return s.payments.PortalURL(ctx, cust, returnURL, "portal-"+org+"-"+requestID)
}

// HandleWebhook verifies and applies a Stripe webhook delivery. It returns
// false for an event id handled before (a redelivery, or a concurrent
// duplicate), which changes nothing. Subscription events older than the
// last one applied to the organization (Stripe does not order deliveries)
// are recorded and ignored.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) (bool, error) {
	if s.payments == nil {
		return false, ErrNotConfigured
	}
	e, err := s.payments.ParseEvent(payload, signature)
	if err != nil {
		return false, err
	}
	handled, err := s.store.HandleEvent(ctx, e, func(a Account) (Account, bool) { return s.apply(a, e) })
	if err == nil && handled && e.OrganizationID != "" {
		s.mu.Lock()
		delete(s.limits, e.OrganizationID)
		s.mu.Unlock()
	}
	return handled, err
}

// apply is what event e does to account a.
func (s *Service) apply(a Account, e Event) (Account, bool) {
	switch e.Type {
	case EventCheckoutCompleted:
		if e.CustomerID != "" {
			a.StripeCustomerID = e.CustomerID
		}
		if e.SubscriptionID == "" || e.SubscriptionID == a.StripeSubscriptionID {
			return a, true // its subscription's own events say more
		}
		// A new subscription: it replaces whatever was there. LastEventAt
		// is left alone: the new subscription's own events, created just
		// before this one, must still apply.
		a.StripeSubscriptionID, a.Status, a.MeteredItemID = e.SubscriptionID, "active", ""
		if e.Plan != "" {
			a.Plan = e.Plan
		}
		return a, true
	case EventSubscriptionCreated, EventSubscriptionUpdated, EventSubscriptionDeleted:
		// created carries the subscription's items (the metered one) that
		// checkout.session.completed does not.
		if a.StripeSubscriptionID != "" && e.SubscriptionID != a.StripeSubscriptionID && live(a.Status) {
			return a, false // news of another subscription; the live one stands
		}
		if e.SubscriptionID == a.StripeSubscriptionID &&
			(e.Created < a.LastEventAt || (e.Created == a.LastEventAt && a.Status == "canceled")) {
			return a, false // out of order: a newer state is applied
		}
		a.LastEventAt = e.Created
		a.StripeSubscriptionID = e.SubscriptionID
		if e.CustomerID != "" {
			a.StripeCustomerID = e.CustomerID
		}
		a.Status, a.CurrentPeriodEnd, a.CancelAtPeriodEnd = e.Status, e.CurrentPeriodEnd, e.CancelAtPeriodEnd
		if e.Type == EventSubscriptionDeleted {
			a.Status = "canceled"
		}
		a.MeteredItemID = e.MeteredItemID
		if live(a.Status) {
			if e.Plan != "" {
				a.Plan = e.Plan
			}
		} else { // canceled, unpaid, incomplete_expired: back to free
			a.Plan, a.MeteredItemID = PlanFree, ""
		}
		return a, true
	case EventInvoicePaid:
		if a.Status == "past_due" || a.Status == "unpaid" {
			a.Status = "active"
			return a, true
		}
		return a, false
	case EventInvoiceFailed:
		if a.Status == "active" || a.Status == "trialing" {
			a.Status = "past_due"
			return a, true
		}
		return a, false
	}
	return a, false
}

// live reports whether a subscription in status s is paid for (or about
// to be): its plan applies.
func live(s string) bool { return s == "active" || s == "trialing" || s == "past_due" }

// PrepareReports snapshots the unreported mapped-item usage of every
// organization with a metered subscription into reports (see
// Store.PrepareReports) and returns the reports still to send.
func (s *Service) PrepareReports(ctx context.Context) ([]Report, error) {
	return s.store.PrepareReports(ctx, MappedItems)
}

// SendReport sends one report to Stripe unless it was sent already; the
// report's id is the meter event's identifier and idempotency key, so a
// resend after a crash between Stripe's answer and MarkSent is
// deduplicated by Stripe.
func (s *Service) SendReport(ctx context.Context, id string) (Report, error) {
	if s.payments == nil {
		return Report{}, ErrNotConfigured
	}
	r, err := s.store.Report(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if r.SentAt != nil {
		return r, nil
	}
	rec, err := s.payments.ReportUsage(ctx, r.CustomerID, r.Quantity, r.CreatedAt, "usage-report-"+r.ID)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	if err := s.store.MarkSent(ctx, r.ID, rec, now); err != nil {
		return Report{}, err
	}
	r.SentAt, r.StripeEventID = &now, rec
	return r, nil
}

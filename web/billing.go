package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/session"
)

// BillingService is what the billing page reads and the Checkout and
// portal buttons call; billing.Service is one.
type BillingService interface {
	UsageOf(ctx context.Context, org string) (billing.Usage, error)
	Subscription(ctx context.Context, org string) (billing.Account, billing.Plan, error)
	Checkout(ctx context.Context, org, plan, successURL, cancelURL, requestID string) (string, error)
	Portal(ctx context.Context, org, returnURL, requestID string) (string, error)
}

func (s *Server) billingRoutes(mux *http.ServeMux) {
	mux.Handle("GET /billing", s.member(s.billingPage))
	mux.Handle("POST /billing/checkout", s.member(s.billingCheckout))
	mux.Handle("POST /billing/portal", s.member(s.billingPortal))
}

// meterView is one meter of the usage bars.
type meterView struct {
	Name      string
	Used      int64
	Limit     int64 // 0 with Unlimited set
	Unlimited bool
	Over      bool // at or past the quota
}

type billingData struct {
	Plan        string
	Status      string
	PeriodStart string
	PeriodEnd   string
	Meters      []meterView
	Plans       []string // plans Checkout may subscribe to
	CanManage   bool     // an owner or admin: Checkout and portal
	Payments    bool
	HasCustomer bool
	Notice      string
}

var errNoBilling = &pageError{Status: http.StatusServiceUnavailable, Message: "Billing is not available in this deployment."}

// billingPage shows the organization's plan and this month's usage
// against its quotas to every member; owners and admins get the Stripe
// buttons when payments are configured.
func (s *Server) billingPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.cfg.Billing == nil {
		return errNoBilling
	}
	p := v.Principal()
	if err := p.CanRead(""); err != nil {
		return err
	}
	u, err := s.cfg.Billing.UsageOf(r.Context(), v.Org.ID)
	if err != nil {
		return err
	}
	acct, plan, err := s.cfg.Billing.Subscription(r.Context(), v.Org.ID)
	if err != nil {
		return err
	}
	d := billingData{Plan: plan.Name, Status: acct.Status, PeriodStart: u.PeriodStart.UTC().Format("2006-01-02"),
		PeriodEnd: u.PeriodEnd.UTC().Format("2006-01-02"), CanManage: p.CanAdminProject("") == nil,
		Payments: s.cfg.Payments, HasCustomer: acct.StripeCustomerID != ""}
	for _, m := range u.Meters {
		mv := meterView{Name: strings.ReplaceAll(string(m.Meter), "_", " "), Used: m.Used, Limit: m.Limit, Unlimited: m.Limit == billing.Unlimited}
		if mv.Unlimited {
			mv.Limit = 0
		}
		mv.Over = !mv.Unlimited && m.Used >= m.Limit
		d.Meters = append(d.Meters, mv)
	}
	for _, name := range []string{billing.PlanPro, billing.PlanEnterprise} {
		if name != plan.Name {
			d.Plans = append(d.Plans, name)
		}
	}
	switch {
	case r.URL.Query().Get("checkout") == "done":
		d.Notice = "Thank you: the subscription shows here once Stripe confirms it."
	case r.URL.Query().Get("checkout") == "cancelled":
		d.Notice = "Checkout cancelled: nothing was charged."
	}
	return s.render(w, r, http.StatusOK, "billing", "Billing", "billing", d)
}

// stripe is the start of the Checkout and portal buttons: payments
// configured, an owner or admin.
func (s *Server) stripe(v *visitor) error {
	if s.cfg.Billing == nil {
		return errNoBilling
	}
	if err := v.Principal().CanAdminProject(""); err != nil {
		return err
	}
	if !s.cfg.Payments {
		return &pageError{Status: http.StatusNotFound, Message: "Payments are not configured in this deployment."}
	}
	return nil
}

func (s *Server) billingCheckout(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := s.stripe(v); err != nil {
		return err
	}
	plan := r.PostForm.Get("plan")
	if !slices.Contains([]string{billing.PlanPro, billing.PlanEnterprise}, plan) {
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "Choose the pro or enterprise plan."}
	}
	base := s.origin(r) + "/billing?checkout="
	url, err := s.cfg.Billing.Checkout(r.Context(), v.Org.ID, plan, base+"done", base+"cancelled", "web-checkout-"+session.NewToken())
	if err != nil {
		return stripeError(err)
	}
	return s.toStripe(w, r, url)
}

func (s *Server) billingPortal(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := s.stripe(v); err != nil {
		return err
	}
	url, err := s.cfg.Billing.Portal(r.Context(), v.Org.ID, s.origin(r)+"/billing", "web-portal-"+session.NewToken())
	if err != nil {
		return stripeError(err)
	}
	return s.toStripe(w, r, url)
}

func stripeError(err error) error {
	if errors.Is(err, billing.ErrNotConfigured) {
		return &pageError{Status: http.StatusNotFound, Message: "Payments are not configured in this deployment."}
	}
	return err
}

// toStripe sends the browser to a Stripe page. htmx follows HX-Redirect
// (a navigation); a plain form gets a page with the link, because the
// content security policy's form-action forbids a form's redirect to
// another site.
func (s *Server) toStripe(w http.ResponseWriter, r *http.Request, url string) error {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", url)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return s.render(w, r, http.StatusOK, "billing_redirect", "Continue to Stripe", "billing", url)
}

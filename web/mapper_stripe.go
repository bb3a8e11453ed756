package web

import (
	"context"
	"net/http"

	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/platform/stripeconnect"
)

// PayoutAccounts is Stripe Connect as the mapper's payout page uses it
// (*stripeconnect.Client is one). Bank details are entered on Stripe's
// hosted onboarding and never reach this app.
type PayoutAccounts interface {
	CreateExpressAccount(ctx context.Context, r stripeconnect.AccountRequest) (string, error)
	OnboardingLink(ctx context.Context, account, refreshURL, returnURL string) (string, error)
	Account(ctx context.Context, account string) (stripeconnect.AccountStatus, error)
}

func (s *Server) payoutAccountRoutes(mux *http.ServeMux) {
	if s.cfg.PayoutAccounts == nil {
		return
	}
	mux.Handle("GET /payout-account", s.payoutMapper(s.payoutAccount))
	mux.Handle("POST /payout-account", s.payoutMapper(s.createPayoutAccount))
	mux.Handle("GET /payout-account/onboarding", s.payoutMapper(s.payoutOnboarding))
}

// payoutMapper admits mappers who have applied: a payout account belongs
// to an application (pending or decided), not to a bare sign-in.
func (s *Server) payoutMapper(h mapperFunc) http.Handler {
	applied := func(m mapper.Mapper) bool { return m.Status != mapper.StatusRegistering }
	return s.mapperWhen(applied, "/register", "Apply first: the payout account comes with an application.", h)
}

type payoutAccountData struct {
	Connected bool
	Status    stripeconnect.AccountStatus
	Returned  bool
}

func (s *Server) payoutAccount(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	d := payoutAccountData{Connected: m.StripeAccountID != "", Returned: r.URL.Query().Get("returned") == "1"}
	if d.Connected {
		st, err := s.cfg.PayoutAccounts.Account(r.Context(), m.StripeAccountID)
		if err != nil {
			return &pageError{Status: http.StatusServiceUnavailable, Message: "Stripe is not answering. Try again in a moment."}
		}
		d.Status = st
	}
	return s.render(w, r, http.StatusOK, "mapper_payout_account", "Payout account", "earnings", d)
}

// createPayoutAccount creates the mapper's Express account once: the
// idempotency key is the mapper's id, so a repeated or concurrent request
// gets the same account from Stripe.
func (s *Server) createPayoutAccount(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	if m.StripeAccountID == "" {
		id, err := s.cfg.PayoutAccounts.CreateExpressAccount(r.Context(), stripeconnect.AccountRequest{
			Email: m.Email, Reference: m.ID, IdempotencyKey: "mapper-account-" + m.ID})
		if err != nil {
			s.cfg.Logger.Error("Stripe Connect account not created", "mapper_id", m.ID, "error", err)
			return &pageError{Status: http.StatusServiceUnavailable, Message: "Stripe could not create your payout account. Try again in a moment."}
		}
		if err := s.cfg.Mappers.SetStripeAccount(r.Context(), m.ID, id); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/payout-account", http.StatusSeeOther)
	return nil
}

// payoutOnboarding sends the mapper to a fresh Stripe-hosted onboarding
// link. It is a GET because Stripe sends the mapper back here when a link
// expires (refresh_url); it only makes a link for the mapper's own
// account.
func (s *Server) payoutOnboarding(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	if m.StripeAccountID == "" {
		http.Redirect(w, r, "/payout-account", http.StatusSeeOther)
		return nil
	}
	base := s.publicBase(r)
	link, err := s.cfg.PayoutAccounts.OnboardingLink(r.Context(), m.StripeAccountID, base+"/payout-account/onboarding", base+"/payout-account?returned=1")
	if err != nil {
		s.cfg.Logger.Error("Stripe onboarding link not created", "mapper_id", m.ID, "error", err)
		return &pageError{Status: http.StatusServiceUnavailable, Message: "Stripe is not answering. Try again in a moment."}
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
	return nil
}

// publicBase is the app's address as the browser reached it, for the URLs
// Stripe sends the mapper back to (HTTPS whenever cookies are Secure).
func (s *Server) publicBase(r *http.Request) string {
	scheme := "http"
	if s.cfg.CookieSecure || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

package apiserver

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/billing"
)

// Metering is the quota port handlers call before doing metered work
// (billing.Service): Add counts n units of a monthly meter once per request
// id and refuses with a *billing.QuotaError (429 QUOTA_EXCEEDED) past the
// plan's quota; Check refuses adding n to a current count (projects,
// seats).
type Metering interface {
	Add(ctx context.Context, org string, m billing.Meter, n int64, requestID string) error
	Check(ctx context.Context, org string, m billing.Meter, n int64) error
}

// BillingService is what the billing routes call (billing.Service).
type BillingService interface {
	UsageOf(ctx context.Context, org string) (billing.Usage, error)
	Subscription(ctx context.Context, org string) (billing.Account, billing.Plan, error)
	Checkout(ctx context.Context, org, plan, successURL, cancelURL, requestID string) (string, error)
	Portal(ctx context.Context, org, returnURL, requestID string) (string, error)
	HandleWebhook(ctx context.Context, payload []byte, signature string) (bool, error)
}

// Billing is the billing resource: usage and subscription for any member
// of the organization (the SDK's get_usage and get_plan), Checkout and
// customer-portal session URLs for its admins, and Stripe's webhook.
type Billing struct {
	Billing BillingService
	// Payments is true when Stripe is configured: only then are checkout,
	// portal and webhook routes registered.
	Payments bool
	// DefaultRateLimit is RATE_LIMIT_PER_MINUTE, shown for plans without
	// a limit of their own.
	DefaultRateLimit int
}

type meterDTO struct {
	Used      int64  `json:"used"`
	Limit     *int64 `json:"limit"`     // null: unlimited
	Remaining *int64 `json:"remaining"` // null: unlimited
}

type periodDTO struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type usageDTO struct {
	OrganizationID string              `json:"organization_id"`
	Plan           string              `json:"plan"`
	Period         periodDTO           `json:"period"`
	Usage          map[string]meterDTO `json:"usage"`
}

type subscriptionDTO struct {
	OrganizationID     string            `json:"organization_id"`
	Plan               string            `json:"plan"`
	Status             string            `json:"status"`
	Limits             map[string]*int64 `json:"limits"`
	RateLimitPerMinute int               `json:"rate_limit_per_minute"`
	CurrentPeriodEnd   *string           `json:"current_period_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	HasPaymentAccount  bool              `json:"has_payment_account"`
}

type checkoutRequest struct {
	Plan       string `json:"plan"`
	SuccessURL string `json:"success_url"`
	CancelURL  string `json:"cancel_url"`
}

type portalRequest struct {
	ReturnURL string `json:"return_url"`
}

type sessionDTO struct {
	URL string `json:"url"`
}

type webhookDTO struct {
	Received  bool `json:"received"`
	Duplicate bool `json:"duplicate"`
}

func limitOrNull(n int64) *int64 {
	if n == billing.Unlimited {
		return nil
	}
	return &n
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Routes registers the billing routes on r.
func (h *Billing) Routes(r *Router) {
	meter := openapi.Schema{"type": "object", "properties": map[string]any{
		"used":      openapi.Schema{"type": "integer"},
		"limit":     openapi.Schema{"type": "integer", "nullable": true, "description": "null: unlimited"},
		"remaining": openapi.Schema{"type": "integer", "nullable": true},
	}}
	r.Schema("BillingUsage", openapi.Schema{
		"type": "object", "required": []string{"plan", "period", "usage"},
		"properties": map[string]any{
			"organization_id": openapi.Schema{"type": "string"},
			"plan":            openapi.Schema{"type": "string", "enum": []string{billing.PlanFree, billing.PlanPro, billing.PlanEnterprise}},
			"period": openapi.Schema{"type": "object", "properties": map[string]any{
				"start": openapi.Schema{"type": "string", "format": "date-time"}, "end": openapi.Schema{"type": "string", "format": "date-time"},
			}},
			"usage": openapi.Schema{"type": "object", "description": "per meter: concept_searches and mapped_items this month, projects and seats now", "additionalProperties": meter},
		},
	})
	r.Schema("BillingSubscription", openapi.Schema{
		"type": "object", "required": []string{"plan", "status", "limits"},
		"properties": map[string]any{
			"organization_id":       openapi.Schema{"type": "string"},
			"plan":                  openapi.Schema{"type": "string"},
			"status":                openapi.Schema{"type": "string", "description": "Stripe subscription status, or none"},
			"limits":                openapi.Schema{"type": "object", "additionalProperties": openapi.Schema{"type": "integer", "nullable": true}},
			"rate_limit_per_minute": openapi.Schema{"type": "integer"},
			"current_period_end":    openapi.Schema{"type": "string", "format": "date-time", "nullable": true},
			"cancel_at_period_end":  openapi.Schema{"type": "boolean"},
			"has_payment_account":   openapi.Schema{"type": "boolean"},
		},
	})
	r.Schema("SessionURL", openapi.Schema{"type": "object", "required": []string{"url"}, "properties": map[string]any{"url": openapi.Schema{"type": "string"}}})
	p := r.Group("/billing").Protected()
	p.Add(fiber.MethodGet, "/usage", openapi.Operation{
		Summary: "The organization's usage this month against its plan", Tags: []string{"billing"},
		Responses: map[int]openapi.Response{200: {Description: "Usage per meter", Schema: openapi.Ref("BillingUsage")}, 403: {Description: "Not an organization's credential", Schema: openapi.Ref("Error")}},
	}, h.usage)
	p.Add(fiber.MethodGet, "/subscription", openapi.Operation{
		Summary: "The organization's plan, limits and subscription status", Tags: []string{"billing"},
		Responses: map[int]openapi.Response{200: {Description: "Plan and subscription", Schema: openapi.Ref("BillingSubscription")}, 403: {Description: "Not an organization's credential", Schema: openapi.Ref("Error")}},
	}, h.subscription)
	if !h.Payments {
		return
	}
	session := map[int]openapi.Response{
		200: {Description: "Redirect the browser to url", Schema: openapi.Ref("SessionURL")},
		403: {Description: "Only organization admins and owners", Schema: openapi.Ref("Error")},
		422: {Description: "Invalid body or plan", Schema: openapi.Ref("Error")},
	}
	p.Add(fiber.MethodPost, "/checkout", openapi.Operation{
		Summary: "A Stripe Checkout session subscribing the organization to a plan", Tags: []string{"billing"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"plan", "success_url", "cancel_url"}, "properties": map[string]any{
			"plan":        openapi.Schema{"type": "string", "enum": []string{billing.PlanPro, billing.PlanEnterprise}},
			"success_url": openapi.Schema{"type": "string"}, "cancel_url": openapi.Schema{"type": "string"},
		}},
		Responses: session,
	}, h.checkout)
	p.Add(fiber.MethodPost, "/portal", openapi.Operation{
		Summary: "A Stripe customer-portal session (change plan, payment method, invoices)", Tags: []string{"billing"},
		RequestBody: openapi.Schema{"type": "object", "required": []string{"return_url"}, "properties": map[string]any{"return_url": openapi.Schema{"type": "string"}}},
		Responses:   session,
	}, h.portal)
	r.Group("/billing").Add(fiber.MethodPost, "/webhook", openapi.Operation{
		Summary: "Stripe webhook (Stripe-Signature verified; each event id applied once)", Tags: []string{"billing"},
		Responses: map[int]openapi.Response{
			200: {Description: "Received (duplicate: the event id was handled before)", Schema: openapi.Schema{"type": "object"}},
			400: {Description: "Missing, wrong or expired signature", Schema: openapi.Ref("Error")},
		},
	}, h.webhook)
}

func (h *Billing) org(c *fiber.Ctx, admin bool) (string, error) {
	p, _ := PrincipalFrom(c.UserContext())
	check := p.CanRead("")
	if admin {
		check = p.CanAdminProject("")
	}
	if check != nil {
		return "", check
	}
	return p.OrganizationID, nil
}

func (h *Billing) usage(c *fiber.Ctx) error {
	org, err := h.org(c, false)
	if err != nil {
		return err
	}
	u, err := h.Billing.UsageOf(c.UserContext(), org)
	if err != nil {
		return err
	}
	out := usageDTO{OrganizationID: org, Plan: u.Plan.Name, Period: periodDTO{rfc3339(u.PeriodStart), rfc3339(u.PeriodEnd)}, Usage: map[string]meterDTO{}}
	for _, m := range u.Meters {
		d := meterDTO{Used: m.Used, Limit: limitOrNull(m.Limit)}
		if m.Limit != billing.Unlimited {
			left := max(m.Limit-m.Used, 0)
			d.Remaining = &left
		}
		out.Usage[string(m.Meter)] = d
	}
	return c.JSON(out)
}

func (h *Billing) subscription(c *fiber.Ctx) error {
	org, err := h.org(c, false)
	if err != nil {
		return err
	}
	a, plan, err := h.Billing.Subscription(c.UserContext(), org)
	if err != nil {
		return err
	}
	out := subscriptionDTO{
		OrganizationID: org, Plan: plan.Name, Status: a.Status, Limits: map[string]*int64{},
		RateLimitPerMinute: plan.RateLimitPerMinute, CancelAtPeriodEnd: a.CancelAtPeriodEnd,
		HasPaymentAccount: a.StripeCustomerID != "",
	}
	if out.RateLimitPerMinute == 0 {
		out.RateLimitPerMinute = h.DefaultRateLimit
	}
	for _, m := range billing.Meters {
		out.Limits[string(m)] = limitOrNull(plan.Limit(m))
	}
	if a.CurrentPeriodEnd != nil {
		s := rfc3339(*a.CurrentPeriodEnd)
		out.CurrentPeriodEnd = &s
	}
	return c.JSON(out)
}

func (h *Billing) checkout(c *fiber.Ctx) error {
	org, err := h.org(c, true)
	if err != nil {
		return err
	}
	var req checkoutRequest
	if err := decodeJSON(c, &req, Strict, false); err != nil {
		return err
	}
	url, err := h.Billing.Checkout(c.UserContext(), org, req.Plan, req.SuccessURL, req.CancelURL, requestID(c))
	if err != nil {
		return err
	}
	return c.JSON(sessionDTO{URL: url})
}

func (h *Billing) portal(c *fiber.Ctx) error {
	org, err := h.org(c, true)
	if err != nil {
		return err
	}
	var req portalRequest
	if err := decodeJSON(c, &req, Strict, false); err != nil {
		return err
	}
	url, err := h.Billing.Portal(c.UserContext(), org, req.ReturnURL, requestID(c))
	if err != nil {
		return err
	}
	return c.JSON(sessionDTO{URL: url})
}

// webhook verifies the raw body (the signature covers its exact bytes).
func (h *Billing) webhook(c *fiber.Ctx) error {
	handled, err := h.Billing.HandleWebhook(c.UserContext(), c.Body(), c.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	return c.JSON(webhookDTO{Received: true, Duplicate: !handled})
}

package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/billing"
)

// UsageReporter turns metered usage into reports and sends each to Stripe
// once (billing.Service).
type UsageReporter interface {
	PrepareReports(ctx context.Context) ([]billing.Report, error)
	SendReport(ctx context.Context, id string) (billing.Report, error)
}

// UsageReport holds the activities of UsageReportWorkflow.
type UsageReport struct {
	billing UsageReporter
}

// PreparedReports are the reports a run sends: new ones and any an
// earlier run left unsent.
type PreparedReports struct {
	IDs []string `json:"ids"`
}

// PrepareUsageReports snapshots the usage not yet reported into reports
// (one transaction: usage is never in two reports) and returns every
// unsent report. Without billing it returns none.
func (a *UsageReport) PrepareUsageReports(ctx context.Context) (PreparedReports, error) {
	if a.billing == nil {
		return PreparedReports{}, nil
	}
	rs, err := a.billing.PrepareReports(ctx)
	if err != nil {
		return PreparedReports{}, err
	}
	out := PreparedReports{IDs: make([]string, 0, len(rs))}
	for _, r := range rs {
		out.IDs = append(out.IDs, r.ID)
	}
	return out, nil
}

// SentReport is one report as Stripe recorded it.
type SentReport struct {
	ID            string `json:"id"`
	Quantity      int64  `json:"quantity"`
	StripeEventID string `json:"stripe_event_id"`
}

// SendUsageReport sends one report unless it was sent already. The
// report id is Stripe's idempotency key, so an attempt that died after
// Stripe recorded it and before it was marked sent is deduplicated by
// Stripe on retry.
func (a *UsageReport) SendUsageReport(ctx context.Context, id string) (SentReport, error) {
	if a.billing == nil {
		return SentReport{}, temporal.NewNonRetryableApplicationError("billing is not configured", "BillingNotConfigured", nil)
	}
	r, err := a.billing.SendReport(ctx, id)
	switch {
	case errors.Is(err, billing.ErrNotFound), errors.Is(err, billing.ErrNotConfigured):
		return SentReport{}, temporal.NewNonRetryableApplicationError(err.Error(), "UsageReportFailed", err)
	case err != nil:
		return SentReport{}, err
	}
	return SentReport{ID: r.ID, Quantity: r.Quantity, StripeEventID: r.StripeEventID}, nil
}

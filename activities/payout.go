package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/crowd"
)

// Payouts is what PayoutWorkflow's activities call (crowd.Service).
type Payouts interface {
	PreparePayouts(ctx context.Context, o crowd.PayoutOptions) ([]crowd.Payout, error)
	Pay(ctx context.Context, id string, t crowd.Transfers) (crowd.Payout, error)
	NotifyPayout(ctx context.Context, id string, n crowd.Notifier) error
}

// Payout holds the activities of PayoutWorkflow: the crowd's ledger, the
// Stripe Connect transfers and the LINE notifier.
type Payout struct {
	crowd     Payouts
	transfers crowd.Transfers
	notifier  crowd.Notifier
	minCents  int64
}

// PayoutBatch is what PreparePayouts was asked for: the batch id, the
// mappers (all eligible when empty) and the minimum (0: the worker's
// configured minimum).
type PayoutBatch struct {
	BatchID   string   `json:"batch_id"`
	MapperIDs []string `json:"mapper_ids,omitempty"`
	MinCents  int64    `json:"min_cents,omitempty"`
}

// PreparedPayouts are the payouts a run transfers: new ones and any an
// earlier run left unfinished.
type PreparedPayouts struct {
	IDs []string `json:"ids"`
}

// errNoPayouts: the worker has no crowd service or Stripe client.
func errNoPayouts() error {
	return temporal.NewNonRetryableApplicationError("payouts need the crowd service and STRIPE_SECRET_KEY on the worker", "PayoutsNotConfigured", nil)
}

// PreparePayouts debits each eligible balance into a payout (one
// transaction each; crowd.Service.PreparePayouts) and returns every
// unfinished payout of the selection. Repeating it after a crash returns
// the same payouts: a balance already prepared is 0.
func (a *Payout) PreparePayouts(ctx context.Context, in PayoutBatch) (PreparedPayouts, error) {
	if a.crowd == nil || a.transfers == nil {
		return PreparedPayouts{}, errNoPayouts()
	}
	min := in.MinCents
	if min <= 0 {
		min = a.minCents
	}
	ps, err := a.crowd.PreparePayouts(ctx, crowd.PayoutOptions{BatchID: in.BatchID, MapperIDs: in.MapperIDs, MinCents: min})
	if errors.Is(err, crowd.ErrInvalid) {
		return PreparedPayouts{}, temporal.NewNonRetryableApplicationError(err.Error(), "PayoutInvalid", err)
	}
	if err != nil {
		return PreparedPayouts{}, err
	}
	out := PreparedPayouts{IDs: make([]string, 0, len(ps))}
	for _, p := range ps {
		out.IDs = append(out.IDs, p.ID)
	}
	return out, nil
}

// PaidPayout is a payout's end as the workflow counts it.
type PaidPayout struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Currency string `json:"currency"`
	Cents    int64  `json:"cents"`
}

// TransferPayout sends one payout's transfer with its idempotency key
// (crowd.Service.Pay): a paid or failed payout is not sent again; an
// error Stripe may answer differently next time is returned for Temporal
// to retry with the same key.
func (a *Payout) TransferPayout(ctx context.Context, id string) (PaidPayout, error) {
	if a.crowd == nil || a.transfers == nil {
		return PaidPayout{}, errNoPayouts()
	}
	activity.RecordHeartbeat(ctx, id)
	p, err := a.crowd.Pay(ctx, id, a.transfers)
	if errors.Is(err, crowd.ErrNotFound) {
		return PaidPayout{}, temporal.NewNonRetryableApplicationError(err.Error(), "PayoutNotFound", err)
	}
	if err != nil {
		return PaidPayout{}, err
	}
	return PaidPayout{ID: p.ID, Status: string(p.Status), Currency: p.Currency, Cents: p.Cents}, nil
}

// NotifyPayout tells the mapper on LINE (once per payout); without a
// notifier it does nothing.
func (a *Payout) NotifyPayout(ctx context.Context, id string) error {
	if a.notifier == nil || a.crowd == nil {
		return nil
	}
	return a.crowd.NotifyPayout(ctx, id, a.notifier)
}

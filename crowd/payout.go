package crowd

import (
	"context"
	"fmt"
	"time"
)

// PayoutStatus is where a payout stands.
type PayoutStatus string

// The payout states: prepared (the ledger debited, no transfer yet),
// processing (a transfer was sent, maybe more than once with the same
// idempotency key), paid (Stripe answered with a transfer), failed (Stripe
// refused for good; the debit was reversed).
const (
	PayoutPending    PayoutStatus = "pending"
	PayoutProcessing PayoutStatus = "processing"
	PayoutPaid       PayoutStatus = "paid"
	PayoutFailed     PayoutStatus = "failed"
)

// Payout is one transfer of a mapper's balance in one currency. The
// ledger is debited when the payout is prepared, so the same cents can
// never be prepared twice; IdempotencyKey, derived from the ledger
// entries it pays, goes with every transfer request, so a retried request
// cannot pay twice either.
type Payout struct {
	ID              string
	BatchID         string
	MapperID        string
	Currency        string
	Cents           int64
	StripeAccountID string
	IdempotencyKey  string
	Status          PayoutStatus
	TransferID      string
	Failure         string
	Attempts        int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// PendingPayout is one mapper's balance as the admin's payout page lists
// it: Eligible when it reaches the minimum and the mapper can be paid,
// Reason otherwise.
type PendingPayout struct {
	MapperID        string
	DisplayName     string
	Balance         Money
	Votes           int
	StripeAccountID string
	Eligible        bool
	Reason          string
}

// PendingPayouts lists every balance above zero with whether it can be
// paid now: at least min cents (its currency's), an approved mapper with a
// Stripe Connect account.
func (s *Service) PendingPayouts(ctx context.Context, min int64) ([]PendingPayout, error) {
	bal, err := s.store.AllBalances(ctx)
	if err != nil {
		return nil, err
	}
	var out []PendingPayout
	for _, b := range bal {
		m, err := s.mappers.Mapper(ctx, b.MapperID)
		if err != nil {
			return nil, err
		}
		votes, err := s.store.Votes(ctx, b.MapperID, 1<<30)
		if err != nil {
			return nil, err
		}
		p := PendingPayout{MapperID: m.ID, DisplayName: m.DisplayName, Balance: b.Money, Votes: len(votes), StripeAccountID: m.StripeAccountID}
		switch {
		case b.Cents < min:
			p.Reason = fmt.Sprintf("below the minimum payout of %d", min)
		case m.StripeAccountID == "":
			p.Reason = "no Stripe Connect account yet"
		case !m.CanVote():
			p.Reason = fmt.Sprintf("mapper is %s", m.Status)
		default:
			p.Eligible = true
		}
		out = append(out, p)
	}
	return out, nil
}

// MapperBalance is one mapper's balance in one currency.
type MapperBalance struct {
	MapperID string
	Money
}

// Payouts lists payouts, newest first: batchID's when set, else every
// batch's, at most limit (default 100).
func (s *Service) Payouts(ctx context.Context, batchID string, limit int) ([]Payout, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.store.Payouts(ctx, batchID, "", limit)
}

// MapperPayouts lists mapperID's payouts, newest first (their payout
// history).
func (s *Service) MapperPayouts(ctx context.Context, mapperID string, limit int) ([]Payout, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.store.Payouts(ctx, "", mapperID, limit)
}

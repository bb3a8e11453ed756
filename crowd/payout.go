package crowd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/portiere/portiere/platform/stripeconnect"
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

// Transfers moves money to a payee's Stripe Connect account
// (stripeconnect.Client). An error wrapping stripeconnect.ErrRefused is
// final; any other may succeed when retried with the same key.
type Transfers interface {
	Transfer(ctx context.Context, r stripeconnect.TransferRequest) (stripeconnect.Transfer, error)
}

// Notifier tells a mapper on LINE (line.Pusher); the same key is
// delivered once.
type Notifier interface {
	PushText(ctx context.Context, to, text, key string) error
}

// PayoutOptions select what a payout batch pays: MapperIDs (every
// eligible mapper when empty) whose balance in a currency reaches
// MinCents.
type PayoutOptions struct {
	BatchID   string
	MapperIDs []string
	MinCents  int64
}

// PreparePayouts prepares one payout per eligible mapper and currency
// (an approved mapper with a Stripe Connect account and at least
// o.MinCents): each debits the whole balance from the ledger in the
// transaction that records the payout, with an idempotency key derived
// from the ledger entries it pays. A mapper with an unfinished payout
// (prepared or sent by a run that stopped) gets that one back instead of
// a new one, so a balance is never prepared twice. It returns every
// unfinished payout of the selection, oldest first.
func (s *Service) PreparePayouts(ctx context.Context, o PayoutOptions) ([]Payout, error) {
	if o.BatchID == "" {
		return nil, fmt.Errorf("%w: a payout batch needs an id", ErrInvalid)
	}
	if o.MinCents <= 0 {
		return nil, fmt.Errorf("%w: the minimum payout must be positive, not %d", ErrInvalid, o.MinCents)
	}
	want := map[string]bool{}
	for _, id := range o.MapperIDs {
		want[id] = true
	}
	bal, err := s.store.AllBalances(ctx)
	if err != nil {
		return nil, err
	}
	open, err := s.store.OpenPayouts(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Payout
	for _, p := range open {
		if len(want) == 0 || want[p.MapperID] {
			out = append(out, p)
			seen[p.MapperID+"/"+p.Currency] = true
		}
	}
	for _, b := range bal {
		if (len(want) > 0 && !want[b.MapperID]) || seen[b.MapperID+"/"+b.Currency] || b.Cents < o.MinCents {
			continue
		}
		m, err := s.mappers.Mapper(ctx, b.MapperID)
		if err != nil {
			return nil, err
		}
		if !m.CanVote() || m.StripeAccountID == "" {
			continue
		}
		p, ok, err := s.store.PreparePayout(ctx, Payout{ID: newPayoutID(), BatchID: o.BatchID, MapperID: m.ID, Currency: b.Currency,
			StripeAccountID: m.StripeAccountID}, o.MinCents)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// Pay sends payout id's transfer, unless it is paid or failed already
// (then it comes back as it is: a payout is never paid twice). The
// transfer carries the payout's idempotency key, so a retry after a lost
// answer is the same transfer at Stripe. Stripe's refusal fails the
// payout and credits the balance back (one reversal entry); any other
// error is returned for the caller to retry, the payout left processing.
func (s *Service) Pay(ctx context.Context, id string, t Transfers) (Payout, error) {
	p, err := s.store.StartTransfer(ctx, id)
	if err != nil || p.Status == PayoutPaid || p.Status == PayoutFailed {
		return p, err
	}
	tr, err := t.Transfer(ctx, stripeconnect.TransferRequest{Destination: p.StripeAccountID, Currency: p.Currency, Cents: p.Cents,
		IdempotencyKey: p.IdempotencyKey, Group: p.BatchID, Metadata: map[string]string{"payout": p.ID, "mapper": p.MapperID}})
	switch {
	case errors.Is(err, stripeconnect.ErrRefused):
		return s.store.FinishPayout(ctx, id, PayoutFailed, "", err.Error(), s.now())
	case err != nil:
		return p, err
	}
	return s.store.FinishPayout(ctx, id, PayoutPaid, tr.ID, "", s.now())
}

// NotifyPayout tells the mapper of a paid or failed payout on LINE, once
// per payout (the payout id is the push's key).
func (s *Service) NotifyPayout(ctx context.Context, id string, n Notifier) error {
	p, err := s.store.Payout(ctx, id)
	if err != nil {
		return err
	}
	m, err := s.mappers.Mapper(ctx, p.MapperID)
	if err != nil {
		return err
	}
	var text string
	switch p.Status {
	case PayoutPaid:
		text = fmt.Sprintf("Portiere Mapper: %s is on its way to your Stripe account (transfer %s). Thank you for your reviews!", FormatMoney(Money{p.Currency, p.Cents}), p.TransferID)
	case PayoutFailed:
		text = fmt.Sprintf("Portiere Mapper: your payout of %s could not be sent; it is back in your balance. Check your Stripe account on your profile page.", FormatMoney(Money{p.Currency, p.Cents}))
	default:
		return fmt.Errorf("%w: payout %s is %s, nothing to tell yet", ErrInvalid, id, p.Status)
	}
	return n.PushText(ctx, m.LineUserID, text, "payout-"+string(p.Status)+"-"+p.ID)
}

// zeroDecimal are the currencies Stripe counts in whole units.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

// FormatMoney writes m as "USD 12.34" ("JPY 1234" for zero-decimal
// currencies).
func FormatMoney(m Money) string {
	c := strings.ToUpper(m.Currency)
	if zeroDecimal[m.Currency] {
		return fmt.Sprintf("%s %d", c, m.Cents)
	}
	sign := ""
	v := m.Cents
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s %s%d.%02d", c, sign, v/100, v%100)
}

func newPayoutID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "po_" + hex.EncodeToString(b)
}

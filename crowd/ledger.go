package crowd

import (
	"fmt"
	"sort"
	"time"
)

// EntryKind is why the ledger moved.
type EntryKind string

// The ledger entry kinds. Rewards and bonuses credit; a payout debits the
// amount transferred; a failed payout's reversal credits it back.
const (
	EntryVoteReward     EntryKind = "vote_reward"
	EntryConsensusBonus EntryKind = "consensus_bonus"
	EntryPayout         EntryKind = "payout"
	EntryPayoutReversal EntryKind = "payout_reversal"
)

// Entry is one line of a mapper's append-only ledger: Cents is positive
// for a credit, negative for a debit, in Currency. Entries are never
// updated or deleted; a correction is another entry.
type Entry struct {
	ID       int64
	MapperID string
	Currency string
	Kind     EntryKind
	Cents    int64
	TaskID   int64  // the vote's task (rewards, bonuses)
	PayoutID string // the payout (payouts, reversals)
	At       time.Time
}

// Money is an amount in integer cents of a currency.
type Money struct {
	Currency string
	Cents    int64
}

// Balances sums entries per currency, currencies in order. It is the one
// definition of a balance; the store keeps a running total that must
// equal it.
func Balances(entries []Entry) []Money {
	sums := map[string]int64{}
	for _, e := range entries {
		sums[e.Currency] += e.Cents
	}
	out := make([]Money, 0, len(sums))
	for c, v := range sums {
		out = append(out, Money{Currency: c, Cents: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// CheckEntry reports whether e may follow a ledger whose balance in
// e.Currency is balance: credits must be positive and come from rewards or
// reversals, debits from payouts, and no debit may take the balance below
// zero (ErrInsufficientBalance).
func CheckEntry(balance int64, e Entry) error {
	if len(e.Currency) != 3 {
		return fmt.Errorf("%w: ledger currency %q is not an ISO 4217 code", ErrInvalid, e.Currency)
	}
	switch e.Kind {
	case EntryVoteReward, EntryConsensusBonus, EntryPayoutReversal:
		if e.Cents <= 0 {
			return fmt.Errorf("%w: a %s entry credits a positive amount, not %d", ErrInvalid, e.Kind, e.Cents)
		}
	case EntryPayout:
		if e.Cents >= 0 {
			return fmt.Errorf("%w: a payout entry debits a negative amount, not %d", ErrInvalid, e.Cents)
		}
		if balance+e.Cents < 0 {
			return fmt.Errorf("%w: mapper %s has %d %s, a payout of %d would leave %d", ErrInsufficientBalance, e.MapperID, balance, e.Currency, -e.Cents, balance+e.Cents)
		}
	default:
		return fmt.Errorf("%w: ledger entry kind %q", ErrInvalid, e.Kind)
	}
	return nil
}

package crowdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/crowd"
)

const payoutColumns = `id, batch_id, mapper_id, currency, cents, stripe_account_id, idempotency_key, status, transfer_id, failure,
	attempts, created_at, updated_at`

func scanPayout(row pgx.Row) (crowd.Payout, error) {
	var p crowd.Payout
	var status string
	err := row.Scan(&p.ID, &p.BatchID, &p.MapperID, &p.Currency, &p.Cents, &p.StripeAccountID, &p.IdempotencyKey, &status,
		&p.TransferID, &p.Failure, &p.Attempts, &p.CreatedAt, &p.UpdatedAt)
	p.Status = crowd.PayoutStatus(status)
	return p, err
}

// Payouts implements crowd.Store.
func (s *Store) Payouts(ctx context.Context, batch, mapperID string, limit int) ([]crowd.Payout, error) {
	rows, err := s.pool.Query(ctx, `select `+payoutColumns+` from crowd_payouts
		where ($1 = '' or batch_id = $1) and ($2 = '' or mapper_id = $2) order by created_at desc, id limit $3`, batch, mapperID, limit)
	if err != nil {
		return nil, translate("payouts", err)
	}
	defer rows.Close()
	out := []crowd.Payout{}
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, translate("payouts", err)
		}
		out = append(out, p)
	}
	return out, translate("payouts", rows.Err())
}

// OpenPayouts implements crowd.Store.
func (s *Store) OpenPayouts(ctx context.Context) ([]crowd.Payout, error) {
	rows, err := s.pool.Query(ctx, `select `+payoutColumns+` from crowd_payouts where status in ('pending', 'processing') order by created_at, id`)
	if err != nil {
		return nil, translate("payouts", err)
	}
	defer rows.Close()
	var out []crowd.Payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, translate("payouts", err)
		}
		out = append(out, p)
	}
	return out, translate("payouts", rows.Err())
}

// PreparePayout implements crowd.Store. The balance row is locked first,
// so a reward landing meanwhile waits and is paid by the next payout.
func (s *Store) PreparePayout(ctx context.Context, p crowd.Payout, min int64) (crowd.Payout, bool, error) {
	var out crowd.Payout
	ok := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var balance int64
		err := tx.QueryRow(ctx, `select cents from crowd_balances where mapper_id = $1 and currency = $2 for update`, p.MapperID, p.Currency).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = scanPayout(tx.QueryRow(ctx, `select `+payoutColumns+` from crowd_payouts
			where mapper_id = $1 and currency = $2 and status in ('pending', 'processing')`, p.MapperID, p.Currency))
		if err == nil {
			ok = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if balance < min {
			return nil
		}
		var last int64
		if err := tx.QueryRow(ctx, `select max(id) from crowd_ledger where mapper_id = $1 and currency = $2`, p.MapperID, p.Currency).Scan(&last); err != nil {
			return err
		}
		key := fmt.Sprintf("payout-%s-%s-through-%d", p.MapperID, p.Currency, last)
		out, err = scanPayout(tx.QueryRow(ctx, `
			insert into crowd_payouts (id, batch_id, mapper_id, currency, cents, stripe_account_id, idempotency_key)
			values ($1, $2, $3, $4, $5, $6, $7) returning `+payoutColumns,
			p.ID, p.BatchID, p.MapperID, p.Currency, balance, p.StripeAccountID, key))
		if err != nil {
			return err
		}
		ok = true
		return appendEntries(ctx, tx, []crowd.Entry{{MapperID: p.MapperID, Currency: p.Currency, Kind: crowd.EntryPayout, Cents: -balance, PayoutID: out.ID}})
	})
	if err != nil {
		return crowd.Payout{}, false, translate("prepare payout of "+p.MapperID, err)
	}
	return out, ok, nil
}

// Payout implements crowd.Store.
func (s *Store) Payout(ctx context.Context, id string) (crowd.Payout, error) {
	p, err := scanPayout(s.pool.QueryRow(ctx, `select `+payoutColumns+` from crowd_payouts where id = $1`, id))
	return p, translate("payout "+id, err)
}

// StartTransfer implements crowd.Store.
func (s *Store) StartTransfer(ctx context.Context, id string) (crowd.Payout, error) {
	p, err := scanPayout(s.pool.QueryRow(ctx, `
		update crowd_payouts set status = 'processing', attempts = attempts + 1, updated_at = now()
		where id = $1 and status in ('pending', 'processing') returning `+payoutColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.Payout(ctx, id)
	}
	return p, translate("payout "+id, err)
}

// FinishPayout implements crowd.Store.
func (s *Store) FinishPayout(ctx context.Context, id string, status crowd.PayoutStatus, transferID, failure string, at time.Time) (crowd.Payout, error) {
	if status != crowd.PayoutPaid && status != crowd.PayoutFailed {
		return crowd.Payout{}, fmt.Errorf("%w: a payout finishes paid or failed, not %s", crowd.ErrInvalid, status)
	}
	var out crowd.Payout
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanPayout(tx.QueryRow(ctx, `
			update crowd_payouts set status = $2, transfer_id = $3, failure = $4, updated_at = $5
			where id = $1 and status = 'processing' returning `+payoutColumns, id, string(status), transferID, failure, at))
		if errors.Is(err, pgx.ErrNoRows) {
			out, err = scanPayout(tx.QueryRow(ctx, `select `+payoutColumns+` from crowd_payouts where id = $1`, id))
			return err
		}
		if err != nil || status != crowd.PayoutFailed {
			return err
		}
		return appendEntries(ctx, tx, []crowd.Entry{{MapperID: out.MapperID, Currency: out.Currency, Kind: crowd.EntryPayoutReversal, Cents: out.Cents, PayoutID: out.ID}})
	})
	return out, translate("payout "+id, err)
}

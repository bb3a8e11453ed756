package crowdstore

import (
	"context"

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

// Package billingstore is the PostgreSQL storage of billing: the
// billing_usage, billing_usage_events, billing_accounts,
// billing_stripe_events and billing_usage_reports tables (migration 0010).
// It reads the tenancy tables (organizations' plan, projects, memberships)
// and writes organizations.plan when a Stripe event changes the plan.
package billingstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/billing"
)

// Store implements billing.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ billing.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// translate maps no row, an unknown referenced row or a malformed id to
// billing.ErrNotFound.
func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", billing.ErrNotFound, what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23503" || pe.Code == "22P02") {
		return fmt.Errorf("%w: %s", billing.ErrNotFound, what)
	}
	return fmt.Errorf("billing: %s: %w", what, err)
}

const insertUsageEvent = `
insert into billing_usage_events (organization_id, period, meter, request_id, quantity)
values ($1, $2, $3, $4, $5)
on conflict do nothing`

// addUsage adds to the month's total only while it stays within the limit
// ($5 < 0: unlimited). The row lock ON CONFLICT takes makes concurrent
// increments see each other's totals, so the limit holds exactly.
const addUsage = `
insert into billing_usage as u (organization_id, period, meter, quantity)
select $1::uuid, $2::date, $3::text, $4::bigint where $5::bigint < 0 or $4::bigint <= $5::bigint
on conflict (organization_id, period, meter) do update
	set quantity = u.quantity + excluded.quantity, updated_at = now()
	where $5::bigint < 0 or u.quantity + excluded.quantity <= $5::bigint
returning quantity`

const usageTotal = `
select coalesce((select quantity from billing_usage where organization_id = $1 and period = $2 and meter = $3), 0)`

// AddUsage implements billing.Store.
func (s *Store) AddUsage(ctx context.Context, org string, period time.Time, m billing.Meter, n int64, requestID string, limit int64) (int64, error) {
	var total int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertUsageEvent, org, period, string(m), requestID, n)
		if err != nil {
			return translate("organization "+org, err)
		}
		if tag.RowsAffected() == 0 { // counted before
			return tx.QueryRow(ctx, usageTotal, org, period, string(m)).Scan(&total)
		}
		err = tx.QueryRow(ctx, addUsage, org, period, string(m), n, limit).Scan(&total)
		if errors.Is(err, pgx.ErrNoRows) {
			var used int64
			if err := tx.QueryRow(ctx, usageTotal, org, period, string(m)).Scan(&used); err != nil {
				return err
			}
			// Returning an error rolls the event back: the refused
			// request was not counted.
			return &billing.QuotaError{Meter: m, Used: used, Limit: limit, Requested: n}
		}
		return translate("usage", err)
	})
	return total, err
}

const usage = `
select meter, quantity from billing_usage where organization_id = $1 and period = $2
union all
select 'projects', count(*) from projects where organization_id = $1 and status = 'active'
union all
select 'seats', count(*) from memberships where organization_id = $1`

// Usage implements billing.Store.
func (s *Store) Usage(ctx context.Context, org string, period time.Time) (map[billing.Meter]int64, error) {
	rows, err := s.pool.Query(ctx, usage, org, period)
	if err != nil {
		return nil, translate("usage", err)
	}
	out := map[billing.Meter]int64{}
	for rows.Next() {
		var m string
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[billing.Meter(m)] = n
	}
	return out, translate("usage", rows.Err())
}

const (
	countProjects = `select count(*) from projects where organization_id = $1 and status = 'active'`
	countSeats    = `select count(*) from memberships where organization_id = $1`
)

// Count implements billing.Store.
func (s *Store) Count(ctx context.Context, org string, m billing.Meter) (int64, error) {
	q := countProjects
	switch m {
	case billing.Projects:
	case billing.Seats:
		q = countSeats
	default:
		return 0, fmt.Errorf("%w: %s is not counted", billing.ErrInvalid, m)
	}
	var n int64
	err := s.pool.QueryRow(ctx, q, org).Scan(&n)
	return n, translate("count", err)
}

// account reads the organization's plan and its billing row, if any.
const account = `
select o.id, o.plan, coalesce(a.stripe_customer_id, ''), coalesce(a.stripe_subscription_id, ''),
	coalesce(a.metered_item_id, ''), coalesce(a.status, 'none'), a.current_period_end,
	coalesce(a.cancel_at_period_end, false), coalesce(a.last_event_at, 0)
from organizations o left join billing_accounts a on a.organization_id = o.id`

func scanAccount(row pgx.Row) (billing.Account, error) {
	var a billing.Account
	err := row.Scan(&a.OrganizationID, &a.Plan, &a.StripeCustomerID, &a.StripeSubscriptionID,
		&a.MeteredItemID, &a.Status, &a.CurrentPeriodEnd, &a.CancelAtPeriodEnd, &a.LastEventAt)
	return a, err
}

// Account implements billing.Store.
func (s *Store) Account(ctx context.Context, org string) (billing.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, account+` where o.id = $1`, org))
	return a, translate("organization "+org, err)
}

// AccountByCustomer implements billing.Store.
func (s *Store) AccountByCustomer(ctx context.Context, customerID string) (billing.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, account+` where a.stripe_customer_id = $1`, customerID))
	return a, translate("customer "+customerID, err)
}

const setCustomer = `
insert into billing_accounts (organization_id, stripe_customer_id) values ($1, $2)
on conflict (organization_id) do update set stripe_customer_id = excluded.stripe_customer_id, updated_at = now()`

// SetCustomer implements billing.Store.
func (s *Store) SetCustomer(ctx context.Context, org, customerID string) error {
	_, err := s.pool.Exec(ctx, setCustomer, org, customerID)
	return translate("organization "+org, err)
}

const (
	insertEvent = `insert into billing_stripe_events (id, type) values ($1, $2) on conflict do nothing`
	// lockAccount serialises the events of one organization, so two
	// events delivered together apply one after the other.
	lockAccount = `
insert into billing_accounts (organization_id) values ($1)
on conflict (organization_id) do update set organization_id = excluded.organization_id`
	saveAccount = `
update billing_accounts set stripe_customer_id = nullif($2, ''), stripe_subscription_id = nullif($3, ''),
	metered_item_id = nullif($4, ''), plan = $5, status = $6, current_period_end = $7,
	cancel_at_period_end = $8, last_event_at = $9, updated_at = now()
where organization_id = $1`
	savePlan = `update organizations set plan = $2, updated_at = now() where id = $1`
)

// HandleEvent implements billing.Store.
func (s *Store) HandleEvent(ctx context.Context, e billing.Event, apply func(billing.Account) (billing.Account, bool)) (bool, error) {
	handled := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A concurrent delivery of the same id waits here on the primary
		// key until the first commits, then inserts nothing.
		tag, err := tx.Exec(ctx, insertEvent, e.ID, e.Type)
		if err != nil {
			return translate("event", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		handled = true
		org := e.OrganizationID
		if org == "" && e.CustomerID != "" {
			err := tx.QueryRow(ctx, `select organization_id from billing_accounts where stripe_customer_id = $1`, e.CustomerID).Scan(&org)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // not one of ours: recorded and ignored
			}
			if err != nil {
				return err
			}
		}
		if org == "" {
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from organizations where id::text = $1)`, org).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return nil // an organization deleted since, or a foreign id: recorded and ignored
		}
		if _, err := tx.Exec(ctx, lockAccount, org); err != nil {
			return err
		}
		cur, err := scanAccount(tx.QueryRow(ctx, account+` where o.id = $1`, org))
		if err != nil {
			return translate("organization "+org, err)
		}
		// lockAccount holds the account's row lock until commit.
		next, changed := apply(cur)
		if !changed {
			return nil
		}
		if _, err := tx.Exec(ctx, saveAccount, org, next.StripeCustomerID, next.StripeSubscriptionID, next.MeteredItemID,
			next.Plan, next.Status, next.CurrentPeriodEnd, next.CancelAtPeriodEnd, next.LastEventAt); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, savePlan, org, next.Plan)
		return err
	})
	return handled && err == nil, err
}

// snapshot turns unreported usage into reports and advances reported, in
// one statement (so in one transaction): usage is never in two reports.
const snapshot = `
with due as (
	select u.organization_id, u.period, u.meter, u.quantity - u.reported as delta, u.quantity, a.stripe_customer_id
	from billing_usage u join billing_accounts a on a.organization_id = u.organization_id
	where u.meter = $1 and u.quantity > u.reported
		and a.metered_item_id is not null and a.stripe_customer_id is not null
	for update of u
), advanced as (
	update billing_usage u set reported = due.quantity
	from due where u.organization_id = due.organization_id and u.period = due.period and u.meter = due.meter
)
insert into billing_usage_reports (organization_id, period, meter, quantity, stripe_customer_id)
select organization_id, period, meter, delta, stripe_customer_id from due`

const reportColumns = `id, organization_id, period, meter, quantity, stripe_customer_id, created_at, sent_at, coalesce(stripe_event_id, '')`

func scanReport(row pgx.Row) (billing.Report, error) {
	var r billing.Report
	var m string
	err := row.Scan(&r.ID, &r.OrganizationID, &r.Period, &m, &r.Quantity, &r.CustomerID, &r.CreatedAt, &r.SentAt, &r.StripeEventID)
	r.Meter = billing.Meter(m)
	return r, err
}

// PrepareReports implements billing.Store.
func (s *Store) PrepareReports(ctx context.Context, m billing.Meter) ([]billing.Report, error) {
	if _, err := s.pool.Exec(ctx, snapshot, string(m)); err != nil {
		return nil, translate("prepare usage reports", err)
	}
	rows, err := s.pool.Query(ctx, `select `+reportColumns+` from billing_usage_reports where sent_at is null order by created_at, id`)
	if err != nil {
		return nil, translate("usage reports", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Report, error) { return scanReport(r) })
	return out, translate("usage reports", err)
}

// Report implements billing.Store.
func (s *Store) Report(ctx context.Context, id string) (billing.Report, error) {
	r, err := scanReport(s.pool.QueryRow(ctx, `select `+reportColumns+` from billing_usage_reports where id = $1`, id))
	return r, translate("usage report "+id, err)
}

// MarkSent implements billing.Store.
func (s *Store) MarkSent(ctx context.Context, id, stripeEventID string, at time.Time) error {
	// An already sent report keeps its first mark.
	_, err := s.pool.Exec(ctx, `update billing_usage_reports set sent_at = $2, stripe_event_id = $3 where id = $1 and sent_at is null`, id, at, stripeEventID)
	return translate("usage report "+id, err)
}

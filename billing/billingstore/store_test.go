package billingstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newOrg(t *testing.T, pool *pgxpool.Pool, slug string) string {
	t.Helper()
	o, err := tenancystore.New(pool).CreateOrganization(context.Background(), tenancy.Organization{Name: slug, Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// TestAddUsageQuotaExact: 40 concurrent requests of 1 against a quota of
// 25 — exactly 25 are counted, 15 refused with a *QuotaError, and a
// repeated request id counts once.
func TestAddUsageQuotaExact(t *testing.T) {
	pool := dbtest.New(t)
	s := billingstore.New(pool)
	org := newOrg(t, pool, "acme")
	period := billing.MonthStart(time.Now())
	ctx := context.Background()
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AddUsage(ctx, org, period, billing.ConceptSearches, 1, fmt.Sprint("req-", i), 25)
			var qe *billing.QuotaError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &qe) && errors.Is(err, billing.ErrQuotaExceeded) && qe.Used == 25 && qe.Limit == 25:
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 25 || refused.Load() != 15 {
		t.Fatalf("%d counted, %d refused; want 25 and 15", ok.Load(), refused.Load())
	}
	u, err := s.Usage(ctx, org, period)
	if err != nil || u[billing.ConceptSearches] != 25 {
		t.Fatalf("usage %v %v", u, err)
	}
	// A retried request (same id) is not counted again, even at the quota.
	if total, err := s.AddUsage(ctx, org, period, billing.ConceptSearches, 1, "req-0", 25); err != nil && total != 25 {
		// req-0 may have been one of the refused; then it is refused again.
		var qe *billing.QuotaError
		if !errors.As(err, &qe) {
			t.Fatal(err)
		}
	}
	var events int
	pool.QueryRow(ctx, `select count(*) from billing_usage_events where organization_id = $1`, org).Scan(&events)
	if events != 25 {
		t.Fatalf("%d usage events, want 25 (refused requests leave none)", events)
	}
	// Unlimited, and idempotent per request id.
	for i := 0; i < 3; i++ {
		total, err := s.AddUsage(ctx, org, period, billing.MappedItems, 500, "bulk-chunk-1", billing.Unlimited)
		if err != nil || total != 500 {
			t.Fatalf("attempt %d: total %d, %v", i, total, err)
		}
	}
	// Another month starts from zero.
	if total, err := s.AddUsage(ctx, org, period.AddDate(0, 1, 0), billing.ConceptSearches, 1, "req-0", 25); err != nil || total != 1 {
		t.Fatalf("next month: %d %v", total, err)
	}
	// More than the quota at once is refused even on a fresh month.
	if _, err := s.AddUsage(ctx, org, period.AddDate(0, 2, 0), billing.MappedItems, 30, "big", 25); !errors.Is(err, billing.ErrQuotaExceeded) {
		t.Fatalf("30 of 25 on an empty month: %v", err)
	}
	if _, err := s.AddUsage(ctx, "00000000-0000-0000-0000-000000000000", period, billing.MappedItems, 1, "x", 25); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("unknown organization: %v", err)
	}
}

// TestHandleEventOnce: 10 concurrent deliveries of one event id apply it
// once.
func TestHandleEventOnce(t *testing.T) {
	pool := dbtest.New(t)
	s := billingstore.New(pool)
	org := newOrg(t, pool, "acme")
	ctx := context.Background()
	var applied, handled atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.HandleEvent(ctx, billing.Event{ID: "evt_1", Type: billing.EventSubscriptionUpdated, OrganizationID: org}, func(a billing.Account) (billing.Account, bool) {
				applied.Add(1)
				a.Plan, a.Status = billing.PlanPro, "active"
				return a, true
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				handled.Add(1)
			}
		}()
	}
	wg.Wait()
	if applied.Load() != 1 || handled.Load() != 1 {
		t.Fatalf("applied %d, handled %d; want 1 and 1", applied.Load(), handled.Load())
	}
	a, err := s.Account(ctx, org)
	if err != nil || a.Plan != billing.PlanPro || a.Status != "active" {
		t.Fatalf("%+v %v", a, err)
	}
	o, _ := tenancystore.New(pool).Organization(ctx, org)
	if o.Plan != billing.PlanPro {
		t.Fatalf("organization plan %q", o.Plan)
	}
	// An event for a foreign organization id is recorded and ignored.
	if ok, err := s.HandleEvent(ctx, billing.Event{ID: "evt_2", Type: billing.EventSubscriptionUpdated, OrganizationID: "not-a-uuid"}, func(a billing.Account) (billing.Account, bool) {
		t.Error("applied to no organization")
		return a, true
	}); err != nil || !ok {
		t.Fatalf("foreign org: %v %v", ok, err)
	}
}

// TestReports: usage is snapshotted into one report per organization and
// meter, and not again; new usage makes a new report of the difference.
func TestReports(t *testing.T) {
	pool := dbtest.New(t)
	s := billingstore.New(pool)
	org := newOrg(t, pool, "acme")
	other := newOrg(t, pool, "other") // no metered subscription: never reported
	ctx := context.Background()
	period := billing.MonthStart(time.Now())
	s.AddUsage(ctx, org, period, billing.MappedItems, 70, "a", billing.Unlimited)
	s.AddUsage(ctx, other, period, billing.MappedItems, 5, "a", billing.Unlimited)
	if _, err := s.HandleEvent(ctx, billing.Event{ID: "evt", OrganizationID: org}, func(a billing.Account) (billing.Account, bool) {
		a.MeteredItemID, a.StripeCustomerID, a.Plan, a.Status = "si_1", "cus_1", billing.PlanPro, "active"
		return a, true
	}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.PrepareReports(ctx, billing.MappedItems)
	if err != nil || len(rs) != 1 || rs[0].Quantity != 70 || rs[0].CustomerID != "cus_1" || rs[0].OrganizationID != org {
		t.Fatalf("%+v %v", rs, err)
	}
	again, _ := s.PrepareReports(ctx, billing.MappedItems)
	if len(again) != 1 || again[0].ID != rs[0].ID {
		t.Fatalf("second prepare: %+v (want the same unsent report only)", again)
	}
	if err := s.MarkSent(ctx, rs[0].ID, "usage-report-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.AddUsage(ctx, org, period, billing.MappedItems, 30, "b", billing.Unlimited)
	rs, _ = s.PrepareReports(ctx, billing.MappedItems)
	if len(rs) != 1 || rs[0].Quantity != 30 {
		t.Fatalf("after more usage: %+v", rs)
	}
	r, err := s.Report(ctx, rs[0].ID)
	if err != nil || r.SentAt != nil {
		t.Fatalf("%+v %v", r, err)
	}
}

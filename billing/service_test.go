package billing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestQuotas on a real database: monthly meters refuse past the plan's
// quota with a complete *QuotaError, current counts (projects, seats) are
// checked before creation, unlimited plans are never refused, and the rate
// limit follows the plan.
func TestQuotas(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	tenants := tenancystore.New(pool)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	svc := billing.NewService(billingstore.New(pool), billing.Options{Now: func() time.Time { return now }})
	free, _ := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Free", Slug: "free-org"})
	ent, _ := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Ent", Slug: "ent-org", Plan: billing.PlanEnterprise})
	quota := billing.Plans()[billing.PlanFree].Quotas

	if err := svc.Add(ctx, free.ID, billing.MappedItems, quota[billing.MappedItems], "bulk-1"); err != nil {
		t.Fatal(err)
	}
	err := svc.Add(ctx, free.ID, billing.MappedItems, 1, "bulk-2")
	var qe *billing.QuotaError
	if !errors.As(err, &qe) || qe.Plan != "free" || qe.Used != quota[billing.MappedItems] || qe.Requested != 1 ||
		!qe.PeriodStart.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !qe.PeriodEnd.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%#v", err)
	}
	if err := svc.Add(ctx, free.ID, billing.MappedItems, 1, "bulk-1"); err != nil {
		t.Fatalf("a retried request id is not counted again, nor refused: %v", err)
	}
	if err := svc.Add(ctx, free.ID, billing.Projects, 1, "x"); !errors.Is(err, billing.ErrInvalid) {
		t.Fatalf("projects are not a monthly meter: %v", err)
	}
	if err := svc.Add(ctx, free.ID, billing.ConceptSearches, 1, ""); !errors.Is(err, billing.ErrInvalid) {
		t.Fatalf("no request id: %v", err)
	}

	for i := range quota[billing.Projects] {
		if err := svc.Check(ctx, free.ID, billing.Projects, 1); err != nil {
			t.Fatalf("project %d: %v", i+1, err)
		}
		if _, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: free.ID, Name: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Check(ctx, free.ID, billing.Projects, 1); !errors.As(err, &qe) || qe.Meter != billing.Projects || qe.Used != quota[billing.Projects] {
		t.Fatalf("one project too many: %v", err)
	}
	for i := range quota[billing.Seats] + 1 {
		u, _ := tenants.CreateUser(ctx, tenancy.User{Email: string(rune('a'+i)) + "@x.example"})
		tenants.AddMember(ctx, tenancy.Membership{OrganizationID: free.ID, UserID: u.ID, Role: tenancy.RoleMember})
		tenants.AddMember(ctx, tenancy.Membership{OrganizationID: ent.ID, UserID: u.ID, Role: tenancy.RoleMember})
	}
	if err := svc.Check(ctx, free.ID, billing.Seats, 0); !errors.Is(err, billing.ErrQuotaExceeded) {
		t.Fatalf("seats over quota: %v", err)
	}
	if err := svc.Check(ctx, ent.ID, billing.Seats, 1000); err != nil {
		t.Fatalf("enterprise: %v", err)
	}
	if err := svc.Add(ctx, ent.ID, billing.MappedItems, 1_000_000, "big"); err != nil {
		t.Fatalf("enterprise: %v", err)
	}
	u, err := svc.UsageOf(ctx, ent.ID)
	if err != nil || u.Meters[1].Meter != billing.MappedItems || u.Meters[1].Used != 1_000_000 || u.Meters[1].Limit != billing.Unlimited || u.Meters[3].Used != quota[billing.Seats]+1 {
		t.Fatalf("%+v %v", u, err)
	}
	if l, err := svc.RateLimit(ctx, free.ID); err != nil || l != 0 {
		t.Fatalf("free rate limit %d %v", l, err)
	}
	if _, err := svc.UsageOf(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, billing.ErrNotFound) {
		t.Fatalf("unknown organization: %v", err)
	}
	if _, err := svc.Checkout(ctx, free.ID, "pro", "a", "b", "r"); !errors.Is(err, billing.ErrNotConfigured) {
		t.Fatalf("checkout without Stripe: %v", err)
	}
}

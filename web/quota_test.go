package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/web"
)

// lateQuota is web.Config.Quota bound to the real billing.Service once
// newApp has made the database: it only forwards.
type lateQuota struct{ *billing.Service }

// newQuotaApp is a dashboard whose organizations' free plan allows 2
// projects and 2 seats (billing.Service on the app's database).
func newQuotaApp(t *testing.T) *app {
	t.Helper()
	q := &lateQuota{}
	a := newApp(t, func(c *web.Config) { c.Quota = q })
	plans := billing.Plans()
	plans[billing.PlanFree] = billing.Plan{Name: billing.PlanFree, Quotas: map[billing.Meter]int64{billing.Projects: 2, billing.Seats: 2}}
	q.Service = billing.NewService(billingstore.New(a.pool), billing.Options{Plans: plans})
	return a
}

// TestNewProjectPastQuota: the third project of a plan of two is refused
// on the form (422) with the plan's sentence, and nothing is created.
func TestNewProjectPastQuota(t *testing.T) {
	t.Parallel()
	a := newQuotaApp(t)
	b := a.browser(t)
	b.signUp("Quota Org", "quota@example.org")
	org := a.org(t, "quota@example.org")
	b.createProject("Cardiology")
	b.createProject("Oncology")
	b.get("/projects/new")
	res := b.post("/projects", url.Values{"name": {"Neurology"}, "description": {"one too many"}})
	const want = "The free plan allows 2 projects and this organization has 2: upgrade the plan (Billing) or remove one first."
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `role="alert"`) || !strings.Contains(res.body, want) {
		t.Fatalf("third project: %d %s, want 422 saying %q\n%.1500s", res.status, res.location, want, res.body)
	}
	if !strings.Contains(res.body, `value="Neurology"`) {
		t.Errorf("the form lost what was typed:\n%.1500s", res.body)
	}
	ps, err := a.tenants.Projects(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("%d projects, want 2: %+v", len(ps), ps)
	}
}

// TestInvitePastSeatQuota: on a plan of two seats, once two members hold
// them an invitation is refused on the form (422) with the plan's
// sentence and not stored, and accepting an invitation sent earlier is
// refused (429) without creating the account; a member accepting another
// invitation takes no seat and joins as before.
func TestInvitePastSeatQuota(t *testing.T) {
	t.Parallel()
	a := newQuotaApp(t)
	ctx := context.Background()
	owner := a.browser(t)
	owner.signUp("Seats Org", "seats@example.org")
	org := a.org(t, "seats@example.org")
	// One seat taken: invitations take none until accepted.
	first := owner.invite("twice@example.org", tenancy.RoleMember)
	second := owner.invite("twice@example.org", tenancy.RoleViewer)
	late := owner.invite("late@example.org", tenancy.RoleMember)

	guest := a.browser(t)
	guest.get(first)
	if res := guest.post(first, url.Values{"name": {"Twice"}, "password": {"correct horse battery"}}); res.status != http.StatusSeeOther || res.location != "/projects" {
		t.Fatalf("accept within the quota: %d %s\n%.800s", res.status, res.location, res.body)
	}

	// Two seats taken.
	owner.get("/members")
	res := owner.post("/members/invitations", url.Values{"email": {"more@example.org"}, "role": {"viewer"}})
	const want = "The free plan allows 2 seats and this organization has 2: upgrade the plan (Billing) or remove one first."
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `role="alert"`) || !strings.Contains(res.body, want) || inviteLink.MatchString(res.body) {
		t.Fatalf("invite past the seats: %d, want 422 saying %q\n%.1500s", res.status, want, res.body)
	}
	pending, err := a.tenants.PendingInvitations(ctx, org.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if p.Email == "more@example.org" {
			t.Fatalf("the refused invitation is stored: %+v", p)
		}
	}

	stranger := a.browser(t)
	stranger.get(late)
	res = stranger.post(late, url.Values{"name": {"Late"}, "password": {"correct horse battery"}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "Seats Org has no seat left.") || !strings.Contains(res.body, want) {
		t.Fatalf("accept past the seats: %d %s\n%.1500s", res.status, res.location, res.body)
	}
	if _, err := a.tenants.UserByEmail(ctx, "late@example.org"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("the refused acceptance created the account: %v", err)
	}

	// The member accepts the second invitation: no new seat, role kept.
	guest.get(second)
	if res := guest.post(second, nil); res.status != http.StatusSeeOther || res.location != "/projects" {
		t.Fatalf("a member accepts another invitation at full seats: %d %s\n%.800s", res.status, res.location, res.body)
	}
	u, err := a.tenants.UserByEmail(ctx, "twice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := a.tenants.Membership(ctx, org.ID, u.ID); err != nil || m.Role != tenancy.RoleMember {
		t.Fatalf("membership %+v %v", m, err)
	}
}

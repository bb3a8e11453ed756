package tenancystore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestInvitations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	org, owner, err := s.SignUp(ctx, tenancy.Organization{Name: "Inv", Slug: "inv-org"}, tenancy.User{Email: "o@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.CreateInvitation(ctx, tenancy.Invitation{OrganizationID: org.ID, Email: "x@example.org", Role: "boss", TokenHash: tenancy.InvitationTokenHash("t0"), ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
	token, hash := tenancy.NewInvitationToken()
	inv, err := s.CreateInvitation(ctx, tenancy.Invitation{OrganizationID: org.ID, Email: "new@example.org", Role: tenancy.RoleMember, TokenHash: hash, InvitedBy: owner.ID, ExpiresAt: now.Add(time.Hour)})
	if err != nil || inv.ID == "" || inv.InvitedBy != owner.ID {
		t.Fatalf("create: %+v %v", inv, err)
	}
	if got, err := s.Invitation(ctx, tenancy.InvitationTokenHash(token), now); err != nil || got.ID != inv.ID {
		t.Fatalf("by token: %+v %v", got, err)
	}
	if _, err := s.Invitation(ctx, hash, now.Add(2*time.Hour)); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("expired: %v", err)
	}
	if ps, err := s.PendingInvitations(ctx, org.ID, now); err != nil || len(ps) != 1 {
		t.Fatalf("pending: %+v %v", ps, err)
	}

	// Two accepts racing: exactly one wins, and one user is created.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = s.AcceptInvitation(ctx, hash, tenancy.User{Name: "New"}, now)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, tenancy.ErrNotFound) && !errors.Is(err, tenancy.ErrConflict):
			t.Fatalf("losing accept: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accepts succeeded: %v", ok, errs)
	}
	u, err := s.UserByEmail(ctx, "new@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Membership(ctx, org.ID, u.ID); err != nil || m.Role != tenancy.RoleMember {
		t.Fatalf("membership %+v %v", m, err)
	}
	if ps, _ := s.PendingInvitations(ctx, org.ID, now); len(ps) != 0 {
		t.Fatalf("accepted invitation still pending: %+v", ps)
	}
}

package sessionstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/session"
	"github.com/portiere/portiere/session/sessionstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	tenants := tenancystore.New(pool)
	org, u, err := tenants.SignUp(ctx, tenancy.Organization{Name: "S", Slug: "sess-org"}, tenancy.User{Email: "s@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	s := sessionstore.New(pool)
	now := time.Now().UTC().Truncate(time.Microsecond)

	token, se := session.Start(u.ID, org.ID, "test agent", now, time.Hour)
	if token == "" || se.TokenHash != session.Hash(token) || se.CSRFToken == "" || se.CSRFToken == token {
		t.Fatalf("session %+v", se)
	}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	// The token is never stored, only its hash.
	var n int
	pool.QueryRow(ctx, `select count(*) from web_sessions where token_hash = $1 or csrf_token = $1`, token).Scan(&n)
	if n != 0 {
		t.Fatal("the raw token is stored")
	}
	got, err := s.Session(ctx, se.TokenHash, now.Add(time.Minute))
	if err != nil || got.UserID != u.ID || got.OrganizationID != org.ID || got.CSRFToken != se.CSRFToken || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("read back %+v %v", got, err)
	}
	// Within a minute the last use is not rewritten.
	if got, err := s.Session(ctx, se.TokenHash, now.Add(90*time.Second)); err != nil || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("touched again within a minute: %+v %v", got, err)
	}
	if _, err := s.Session(ctx, se.TokenHash, now.Add(time.Hour)); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if _, err := s.Session(ctx, session.Hash("unknown"), now); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	if err := s.SetSessionOrganization(ctx, se.TokenHash, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, se.TokenHash, now); got.OrganizationID != "" {
		t.Fatalf("organization not cleared: %+v", got)
	}

	_, other := session.Start(u.ID, org.ID, "", now, time.Hour)
	_, old := session.Start(u.ID, org.ID, "", now.Add(-2*time.Hour), time.Hour)
	for _, x := range []session.Session{other, old} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteExpired(ctx, now); err != nil || n != 1 {
		t.Fatalf("delete expired: %d %v", n, err)
	}
	if n, err := s.DeleteUserSessions(ctx, u.ID, se.TokenHash); err != nil || n != 1 {
		t.Fatalf("delete others: %d %v", n, err)
	}
	if _, err := s.Session(ctx, se.TokenHash, now); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
	if err := s.DeleteSession(ctx, se.TokenHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, se.TokenHash, now); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

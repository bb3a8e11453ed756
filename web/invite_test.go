package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/tenancy"
)

var inviteLink = regexp.MustCompile(`id="invite-link" class="mono" readonly value="(http://[^"]+/invite/([A-Za-z0-9_-]{43}))"`)

// invite creates an invitation as b and returns its path (/invite/TOKEN).
func (b *browser) invite(email string, role tenancy.Role) string {
	b.t.Helper()
	b.get("/members")
	res := b.post("/members/invitations", url.Values{"email": {email}, "role": {string(role)}})
	m := inviteLink.FindStringSubmatch(res.body)
	if res.status != http.StatusCreated || m == nil {
		b.t.Fatalf("invite %s as %s: %d\n%.1500s", email, role, res.status, res.body)
	}
	if !strings.HasPrefix(m[1], b.app.srv.URL) {
		b.t.Fatalf("invitation link %s is not on this site", m[1])
	}
	return "/invite/" + m[2]
}

func TestInviteANewMember(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.browser(t)
	owner.signUp("Invite Org", "boss@example.org")
	org := a.org(t, "boss@example.org")
	link := owner.invite("newbie@example.org", tenancy.RoleMember)
	if res := owner.get("/members"); !strings.Contains(res.body, "Pending invitations") || !strings.Contains(res.body, "newbie@example.org") || strings.Contains(res.body, link) {
		t.Fatalf("pending list (the link must not be shown again):\n%.1500s", res.body)
	}
	// The token is stored only as a hash.
	var n int
	a.pool.QueryRow(context.Background(), `select count(*) from invitations where token_hash = $1`, strings.TrimPrefix(link, "/invite/")).Scan(&n)
	if n != 0 {
		t.Fatal("the raw invitation token is stored")
	}

	// The invited person opens the link, creates an account and lands in
	// the organization as a member.
	guest := a.browser(t)
	res := guest.get(link)
	if res.status != 200 || !strings.Contains(res.body, "Invite Org") || !strings.Contains(res.body, "<strong>member</strong>") || !strings.Contains(res.body, "Create account and join") {
		t.Fatalf("invitation page: %d\n%.1500s", res.status, res.body)
	}
	if res := guest.post(link, url.Values{"name": {"New"}, "password": {"short"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("short password: %d", res.status)
	}
	if res := guest.post(link, url.Values{"name": {"New"}, "password": {"correct horse battery"}, "csrf_token": {"forged"}}); res.status != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d", res.status)
	}
	res = guest.post(link, url.Values{"name": {"New"}, "password": {"correct horse battery"}})
	if res.status != http.StatusSeeOther || res.location != "/projects" {
		t.Fatalf("accept: %d %s\n%.800s", res.status, res.location, res.body)
	}
	u, err := a.tenants.UserByEmail(context.Background(), "newbie@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := a.tenants.Membership(context.Background(), org.ID, u.ID); err != nil || m.Role != tenancy.RoleMember {
		t.Fatalf("membership %+v %v", m, err)
	}
	if res := guest.get("/projects"); res.status != 200 || !strings.Contains(res.body, "Invite Org") {
		t.Fatalf("the new member's projects page: %d", res.status)
	}
	// A link works once.
	if res := a.browser(t).get(link); res.status != http.StatusNotFound || !strings.Contains(res.body, "not valid") {
		t.Fatalf("used link: %d", res.status)
	}
	if res := a.browser(t).get("/invite/not-a-token"); res.status != http.StatusNotFound {
		t.Fatalf("unknown token: %d", res.status)
	}
}

func TestInvitationRules(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	owner := a.browser(t)
	owner.signUp("Rules Org", "own@example.org")
	org := a.org(t, "own@example.org")

	// Viewers and members cannot invite; admins cannot invite owners.
	for _, role := range []tenancy.Role{tenancy.RoleViewer, tenancy.RoleMember} {
		b := a.member(t, org.ID, string(role)+"@example.org", role)
		if res := b.post("/members/invitations", url.Values{"email": {"x@example.org"}, "role": {"viewer"}}); res.status != http.StatusForbidden {
			t.Errorf("%s invites: %d", role, res.status)
		}
		if res := b.get("/members"); strings.Contains(res.body, "Invite a member") {
			t.Errorf("%s sees the invite form", role)
		}
	}
	admin := a.member(t, org.ID, "adm@example.org", tenancy.RoleAdmin)
	if res := admin.post("/members/invitations", url.Values{"email": {"x@example.org"}, "role": {"owner"}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "above your own") {
		t.Errorf("admin invites an owner: %d", res.status)
	}
	if res := admin.post("/members/invitations", url.Values{"email": {"nope"}, "role": {"viewer"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("invalid email: %d", res.status)
	}
	if ps, _ := a.tenants.PendingInvitations(context.Background(), org.ID, time.Now()); len(ps) != 0 {
		t.Fatalf("refused invitations stored: %+v", ps)
	}

	// An existing account logs in first; someone else signed in is
	// refused; the invited user signed in joins, keeping a role they hold.
	other := a.browser(t)
	other.signUp("Elsewhere", "elsewhere@example.org")
	link := owner.invite("elsewhere@example.org", tenancy.RoleViewer)
	anon := a.browser(t)
	if res := anon.get(link); !strings.Contains(res.body, "Log in to accept") {
		t.Fatalf("existing account, anonymous:\n%.800s", res.body)
	}
	anon.get("/login")
	if res := anon.post(link, nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?next=") {
		t.Fatalf("existing account posts: %d %s", res.status, res.location)
	}
	if res := admin.get(link); res.status != 200 || !strings.Contains(res.body, "This invitation is for elsewhere@example.org") {
		t.Fatalf("someone else signed in: %d", res.status)
	}
	if res := admin.post(link, nil); res.status != http.StatusForbidden {
		t.Fatalf("someone else accepts: %d", res.status)
	}
	if res := other.get(link); !strings.Contains(res.body, "Join Rules Org</button>") {
		t.Fatalf("the invited user signed in:\n%.800s", res.body)
	}
	if res := other.post(link, nil); res.status != http.StatusSeeOther || res.location != "/projects" {
		t.Fatalf("the invited user accepts: %d %s", res.status, res.location)
	}
	if res := other.get("/projects"); !strings.Contains(res.body, `<label for="org-switch">Organization</label>`) || !strings.Contains(res.body, `selected>Rules Org</option>`) {
		t.Fatalf("after joining, the session works in the new organization:\n%.1500s", res.body)
	}
	// An invitation never changes the role of someone already a member.
	link = owner.invite("adm@example.org", tenancy.RoleViewer)
	if res := admin.post(link, nil); res.status != http.StatusSeeOther {
		t.Fatalf("member accepts: %d", res.status)
	}
	u, _ := a.tenants.UserByEmail(context.Background(), "adm@example.org")
	if m, _ := a.tenants.Membership(context.Background(), org.ID, u.ID); m.Role != tenancy.RoleAdmin {
		t.Fatalf("accepting demoted an admin to %s", m.Role)
	}
	// Links expire.
	link = owner.invite("late@example.org", tenancy.RoleViewer)
	a.clock.Add(tenancy.InvitationTTL + time.Minute)
	if res := a.browser(t).get(link); res.status != http.StatusNotFound {
		t.Fatalf("expired link: %d", res.status)
	}
}

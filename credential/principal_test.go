package credential_test

import (
	"testing"

	"github.com/portiere/portiere/credential"
)

func TestPrincipalRules(t *testing.T) {
	key := func(role credential.Role, scope credential.Scope, project string) credential.Principal {
		return credential.Principal{OrganizationID: "org", KeyID: "k", Role: role, Scope: scope, ProjectID: project}
	}
	const (
		allow = iota
		unauth
		forbid
	)
	type want struct{ read, write, decide, admin, adminOrg, operate int }
	cases := []struct {
		name string
		p    credential.Principal
		want want
	}{
		{"nobody", credential.Principal{}, want{unauth, unauth, unauth, unauth, unauth, unauth}},
		{"operator token", credential.Principal{Operator: true}, want{forbid, forbid, forbid, forbid, forbid, allow}},
		{"viewer write key", key(credential.RoleViewer, credential.ScopeWrite, ""), want{allow, forbid, forbid, forbid, forbid, forbid}},
		{"member read key", key(credential.RoleMember, credential.ScopeRead, ""), want{allow, forbid, forbid, forbid, forbid, forbid}},
		{"member write key", key(credential.RoleMember, credential.ScopeWrite, ""), want{allow, allow, allow, forbid, forbid, forbid}},
		{"admin read key", key(credential.RoleAdmin, credential.ScopeRead, ""), want{allow, forbid, forbid, forbid, forbid, forbid}},
		{"admin write key", key(credential.RoleAdmin, credential.ScopeWrite, ""), want{allow, allow, allow, allow, allow, allow}},
		{"owner write key", key(credential.RoleOwner, credential.ScopeWrite, ""), want{allow, allow, allow, allow, allow, allow}},
		{"owner key on project P", key(credential.RoleOwner, credential.ScopeWrite, "P"), want{allow, allow, allow, allow, forbid, forbid}},
		{"owner key on project Q", key(credential.RoleOwner, credential.ScopeWrite, "Q"), want{forbid, forbid, forbid, forbid, forbid, forbid}},
		{"unknown role", key("superuser", credential.ScopeWrite, ""), want{forbid, forbid, forbid, forbid, forbid, forbid}},
		{"signed-in member", credential.Principal{OrganizationID: "org", UserID: "u", Role: credential.RoleMember, Scope: credential.ScopeWrite}, want{allow, allow, allow, forbid, forbid, forbid}},
	}
	check := func(t *testing.T, what string, err error, w int) {
		t.Helper()
		switch w {
		case allow:
			if err != nil {
				t.Errorf("%s: %v, want allowed", what, err)
			}
		case unauth:
			wantDeniedNoFatal(t, what, err, credential.ErrUnauthenticated)
		case forbid:
			wantDeniedNoFatal(t, what, err, credential.ErrForbidden)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, "CanRead(P)", c.p.CanRead("P"), c.want.read)
			check(t, "CanWrite(P)", c.p.CanWrite("P"), c.want.write)
			check(t, "CanDecide(P)", c.p.CanDecide("P"), c.want.decide)
			check(t, "CanAdminProject(P)", c.p.CanAdminProject("P"), c.want.admin)
			check(t, `CanAdminProject("")`, c.p.CanAdminProject(""), c.want.adminOrg)
			check(t, "CanOperate()", c.p.CanOperate(), c.want.operate)
		})
	}
}

func TestProjectKeyReadsOrganizationLevel(t *testing.T) {
	p := credential.Principal{OrganizationID: "org", KeyID: "k", Role: credential.RoleMember, Scope: credential.ScopeRead, ProjectID: "P"}
	if err := p.CanRead(""); err != nil {
		t.Errorf("project key listing projects: %v (the route narrows the list)", err)
	}
}

func TestParseRoleAndScope(t *testing.T) {
	for _, s := range []string{"owner", "admin", "member", "viewer"} {
		if r, err := credential.ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Owner", "root"} {
		if _, err := credential.ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
	for _, s := range []string{"read", "write"} {
		if _, err := credential.ParseScope(s); err != nil {
			t.Errorf("ParseScope(%q) = %v", s, err)
		}
	}
	if _, err := credential.ParseScope("admin"); err == nil {
		t.Error("ParseScope(admin) accepted")
	}
	if !credential.RoleOwner.AtLeast(credential.RoleAdmin) || credential.RoleMember.AtLeast(credential.RoleAdmin) ||
		credential.Role("x").AtLeast(credential.RoleViewer) {
		t.Error("AtLeast ordering wrong")
	}
}

func wantDeniedNoFatal(t *testing.T, what string, err error, kind error) {
	t.Helper()
	d, ok := err.(*credential.DeniedError)
	if !ok || d.Kind != kind || d.Detail == "" {
		t.Errorf("%s: %v, want a DeniedError of kind %v with a detail", what, err, kind)
	}
}

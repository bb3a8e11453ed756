package tenancystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestSignUpMembershipsAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	s := tenancystore.New(pool)

	org, u, err := s.SignUp(ctx, tenancy.Organization{Name: "Zeta Clinic", Slug: "zeta-clinic"}, tenancy.User{Email: "z@example.org", Name: "Zed", PasswordHash: "$argon2id$x"})
	if err != nil || org.ID == "" || u.ID == "" {
		t.Fatalf("sign up: %+v %+v %v", org, u, err)
	}
	if m, err := s.Membership(ctx, org.ID, u.ID); err != nil || m.Role != tenancy.RoleOwner {
		t.Fatalf("owner membership %+v %v", m, err)
	}
	// A taken email or slug is a conflict that leaves nothing behind.
	if _, _, err := s.SignUp(ctx, tenancy.Organization{Name: "Other", Slug: "other-org"}, tenancy.User{Email: "Z@example.org"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Fatalf("taken email: %v", err)
	}
	if _, err := s.OrganizationBySlug(ctx, "other-org"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("a failed sign-up left its organization: %v", err)
	}
	if _, _, err := s.SignUp(ctx, tenancy.Organization{Name: "Again", Slug: "zeta-clinic"}, tenancy.User{Email: "new@example.org"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Fatalf("taken slug: %v", err)
	}
	if _, err := s.UserByEmail(ctx, "new@example.org"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("a failed sign-up left its user: %v", err)
	}

	second, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "alpha lab", Slug: "alpha-lab"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: second.ID, UserID: u.ID, Role: tenancy.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.UserMemberships(ctx, u.ID)
	if err != nil || len(ms) != 2 || ms[0].Organization.Name != "alpha lab" || ms[0].Role != tenancy.RoleViewer || ms[1].Organization.ID != org.ID || ms[1].Role != tenancy.RoleOwner {
		t.Fatalf("memberships by name: %+v %v", ms, err)
	}

	// Deleting a project takes its project keys with it.
	p, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "Doomed"})
	if err != nil {
		t.Fatal(err)
	}
	hasher, _ := credential.NewKeyHasher("store-test-salt-0123456789abcdef-xyz")
	k, _, err := tenancy.IssueAPIKey(ctx, s, hasher, tenancy.KeyRequest{OrganizationID: org.ID, ProjectID: p.ID, Name: "project key", Scope: "write"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Project(ctx, p.ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("deleted project: %v", err)
	}
	if _, err := s.APIKeyByHash(ctx, k.Hash); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("the project's key survived: %v", err)
	}
	if err := s.DeleteProject(ctx, p.ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestIssueAndRevokeKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	a, _ := s.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "org-a"})
	b, _ := s.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	pb, _ := s.CreateProject(ctx, tenancy.Project{OrganizationID: b.ID, Name: "B's"})
	hasher, _ := credential.NewKeyHasher("store-test-salt-0123456789abcdef-xyz")

	if _, _, err := tenancy.IssueAPIKey(ctx, s, hasher, tenancy.KeyRequest{OrganizationID: a.ID, Scope: "admin"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("unknown scope: %v", err)
	}
	if _, _, err := tenancy.IssueAPIKey(ctx, s, hasher, tenancy.KeyRequest{OrganizationID: a.ID, ProjectID: pb.ID}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("another organization's project: %v", err)
	}
	k, key, err := tenancy.IssueAPIKey(ctx, s, hasher, tenancy.KeyRequest{OrganizationID: a.ID, Name: "default scope"})
	if err != nil || tenancy.KeyScope(k) != credential.ScopeRead || k.Hash != hasher.Hash(key).String() {
		t.Fatalf("issued %+v %v", k, err)
	}
	if err := tenancy.RevokeOrganizationKey(ctx, s, b.ID, k.ID, k.CreatedAt); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("revoke from another organization: %v", err)
	}
	if err := tenancy.RevokeOrganizationKey(ctx, s, a.ID, k.ID, k.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByHash(ctx, k.Hash); got.RevokedAt == nil {
		t.Fatal("not revoked")
	}
}

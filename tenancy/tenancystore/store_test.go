package tenancystore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestOrganizationsUsersAndMemberships(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))

	org, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "Saint Mary", Slug: "saint-mary"})
	if err != nil {
		t.Fatal(err)
	}
	if org.ID == "" || org.Plan != "free" || org.CreatedAt.IsZero() {
		t.Fatalf("created %+v", org)
	}
	if _, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "again", Slug: "saint-mary"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Errorf("duplicate slug: %v, want ErrConflict", err)
	}
	if _, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "bad", Slug: "Bad Slug"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("bad slug: %v, want ErrInvalid", err)
	}
	if got, err := s.OrganizationBySlug(ctx, "saint-mary"); err != nil || got.ID != org.ID {
		t.Errorf("by slug: %+v %v", got, err)
	}
	if _, err := s.Organization(ctx, "not-a-uuid"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("malformed id: %v, want ErrNotFound", err)
	}
	if _, err := s.Organization(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}

	u, err := s.CreateUser(ctx, tenancy.User{Email: "Ana@Example.org", Name: "Ana", PasswordHash: "$argon2id$..."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, tenancy.User{Email: "ana@example.org"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Errorf("same email in another case: %v, want ErrConflict", err)
	}
	if _, err := s.CreateUser(ctx, tenancy.User{Email: "no-at-sign"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("bad email: %v, want ErrInvalid", err)
	}
	if got, err := s.UserByEmail(ctx, "ANA@example.org"); err != nil || got.ID != u.ID || got.PasswordHash != "$argon2id$..." {
		t.Errorf("by email: %+v %v", got, err)
	}
	invited, err := s.CreateUser(ctx, tenancy.User{Email: "bo@example.org"})
	if err != nil || invited.PasswordHash != "" {
		t.Fatalf("invited user: %+v %v", invited, err)
	}

	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: u.ID, Role: "root"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("bad role: %v, want ErrInvalid", err)
	}
	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: u.ID, Role: tenancy.RoleMember}); err != nil {
		t.Fatal(err)
	}
	// Adding again changes the role.
	if m, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: u.ID, Role: tenancy.RoleOwner}); err != nil || m.Role != tenancy.RoleOwner {
		t.Fatalf("role change: %+v %v", m, err)
	}
	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: invited.ID, Role: tenancy.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: "00000000-0000-0000-0000-000000000000", Role: tenancy.RoleViewer}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
	ms, err := s.Members(ctx, org.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("members: %+v %v", ms, err)
	}
	if m, err := s.Membership(ctx, org.ID, u.ID); err != nil || m.Role != tenancy.RoleOwner {
		t.Errorf("membership: %+v %v", m, err)
	}
	if _, err := s.Membership(ctx, org.ID, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("no membership: %v", err)
	}
}

func TestProjectsAndSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	org, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "Lab", Slug: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "Diagnoses", Settings: tenancy.Settings{
		Vocabularies: []string{"ICD10CM"}, AutoThreshold: 0.9, ReviewThreshold: 0.5, SecondReviewer: tenancy.SecondReviewerOverrides,
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Project(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Diagnoses" || got.Status != "active" || len(got.Settings.Vocabularies) != 1 || got.Settings.Domains == nil ||
		got.Settings.AutoThreshold != 0.9 || got.Settings.SecondReviewer != tenancy.SecondReviewerOverrides {
		t.Errorf("read back %+v", got)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "Diagnoses"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Errorf("same name: %v, want ErrConflict", err)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "x", Settings: tenancy.Settings{AutoThreshold: 0.3, ReviewThreshold: 0.6}}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("thresholds out of order: %v, want ErrInvalid", err)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: "00000000-0000-0000-0000-000000000000", Name: "x"}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown organization: %v, want ErrNotFound", err)
	}
	if _, err := s.Project(ctx, "nope"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("malformed id: %v", err)
	}
	up, err := s.UpdateProjectSettings(ctx, p.ID, tenancy.Settings{Domains: []string{"Condition"}})
	if err != nil || len(up.Settings.Vocabularies) != 0 || up.Settings.Domains[0] != "Condition" || up.Settings.SecondReviewer != tenancy.SecondReviewerNone {
		t.Errorf("update: %+v %v", up, err)
	}
	if _, err := s.UpdateProjectSettings(ctx, "00000000-0000-0000-0000-000000000000", tenancy.Settings{}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	if byName, err := s.ProjectByName(ctx, org.ID, "Diagnoses"); err != nil || byName.ID != p.ID {
		t.Errorf("by name: %+v %v", byName, err)
	}
	if all, err := s.Projects(ctx, org.ID); err != nil || len(all) != 1 {
		t.Errorf("projects: %+v %v", all, err)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	org, err := s.CreateOrganization(ctx, tenancy.Organization{Name: "Keys", Slug: "keys"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, ProjectID: p.ID, Name: "ci", Prefix: "pt_abc", Hash: "h1", Scopes: []string{"mappings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, Name: "dup", Prefix: "pt_x", Hash: "h1"}); !errors.Is(err, tenancy.ErrConflict) {
		t.Errorf("same hash: %v, want ErrConflict", err)
	}
	if _, err := s.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, Name: "nohash"}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Errorf("no hash: %v, want ErrInvalid", err)
	}
	got, err := s.APIKeyByHash(ctx, "h1")
	if err != nil || got.ID != k.ID || got.ProjectID != p.ID || got.Scopes[0] != "mappings:read" || !got.Active(time.Now()) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := s.APIKeyByHash(ctx, "h2"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	used := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := s.TouchAPIKey(ctx, k.ID, used); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID, used.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID, used.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.APIKeyByHash(ctx, "h1")
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(used.Add(time.Hour)) || got.Active(time.Now()) {
		t.Errorf("after touch and revoke: %+v", got)
	}
	if err := s.RevokeAPIKey(ctx, "00000000-0000-0000-0000-000000000000", used); !errors.Is(err, tenancy.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	if keys, err := s.APIKeys(ctx, org.ID); err != nil || len(keys) != 1 {
		t.Errorf("keys: %+v %v", keys, err)
	}
}

func TestRoles(t *testing.T) {
	if !tenancy.RoleOwner.AtLeast(tenancy.RoleAdmin) || tenancy.RoleViewer.AtLeast(tenancy.RoleMember) || tenancy.Role("x").AtLeast(tenancy.RoleViewer) {
		t.Error("role order")
	}
}

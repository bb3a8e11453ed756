package tenancystore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestKeysResolveForTheAuthenticator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tenancystore.New(dbtest.New(t))
	hasher, err := credential.NewKeyHasher("keys-test-salt-keys-test-salt-keys-test")
	if err != nil {
		t.Fatal(err)
	}
	org, _ := s.CreateOrganization(ctx, tenancy.Organization{Name: "K", Slug: "keys-org"})
	viewer, _ := s.CreateUser(ctx, tenancy.User{Email: "v@k.example"})
	if _, err := s.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: viewer.ID, Role: tenancy.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	store := func(user string, scopes []string, expires *time.Time) string {
		k := hasher.Issue()
		if _, err := s.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, UserID: user, Prefix: k.Prefix, Hash: k.Hash.String(), Scopes: scopes, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		return k.Key
	}
	keys := s.Keys()
	for _, c := range []struct {
		name    string
		key     string
		role    credential.Role
		scope   credential.Scope
		revoked bool
		user    string
	}{
		{"viewer's write key acts as viewer", store(viewer.ID, []string{"write"}, nil), credential.RoleViewer, credential.ScopeWrite, false, viewer.ID},
		{"system read key acts as admin", store("", []string{"read"}, nil), credential.RoleAdmin, credential.ScopeRead, false, ""},
		{"expired key reads as revoked", store("", []string{"write"}, &past), credential.RoleAdmin, credential.ScopeWrite, true, ""},
	} {
		rec, err := keys.KeyByHash(ctx, hasher.Hash(c.key))
		if err != nil || rec.Role != c.role || rec.Scope != c.scope || rec.Revoked() != c.revoked || rec.OrganizationID != org.ID || rec.UserID != c.user {
			t.Errorf("%s: %+v %v", c.name, rec, err)
			continue
		}
		byID, err := keys.KeyByID(ctx, rec.ID)
		if err != nil || byID.Hash != rec.Hash {
			t.Errorf("%s by id: %+v %v", c.name, byID, err)
		}
	}
	if _, err := keys.KeyByHash(ctx, hasher.Hash("pt_sk_unknown")); !errors.Is(err, credential.ErrKeyNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	if _, err := keys.KeyByID(ctx, "not-a-uuid"); !errors.Is(err, credential.ErrKeyNotFound) {
		t.Errorf("malformed id: %v", err)
	}
}

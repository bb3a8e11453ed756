package devstack

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

const (
	demoEmail = "demo@portiere.local"
	// devPassword names the demo user's password in the secrets file.
	devPassword = "DEV_USER_PASSWORD"
)

// demoAccess is what `portiere dev` prints so the API can be tried at once.
type demoAccess struct {
	OrganizationID string
	UserID         string
}

// seedDemoAccess makes sure the demo organization has an owner (demoEmail,
// password) and that key, a write key of that owner, is stored under salt.
// It is idempotent: a restart with the same secrets file changes nothing.
func seedDemoAccess(ctx context.Context, pool *pgxpool.Pool, salt, key, password string) (demoAccess, error) {
	tenants := tenancystore.New(pool)
	org, err := tenants.OrganizationBySlug(ctx, demoOrganization)
	if err != nil {
		return demoAccess{}, err
	}
	u, err := tenants.UserByEmail(ctx, demoEmail)
	if errors.Is(err, tenancy.ErrNotFound) {
		hash, herr := credential.HashPassword(password)
		if herr != nil {
			return demoAccess{}, herr
		}
		u, err = tenants.CreateUser(ctx, tenancy.User{Email: demoEmail, Name: "Demo owner", PasswordHash: hash})
	}
	if err != nil {
		return demoAccess{}, err
	}
	if _, err := tenants.AddMember(ctx, tenancy.Membership{OrganizationID: org.ID, UserID: u.ID, Role: tenancy.RoleOwner}); err != nil {
		return demoAccess{}, err
	}
	hasher, err := credential.NewKeyHasher(salt)
	if err != nil {
		return demoAccess{}, err
	}
	hash := hasher.Hash(key)
	_, err = tenants.Keys().KeyByHash(ctx, hash)
	if errors.Is(err, credential.ErrKeyNotFound) {
		prefix, perr := credential.KeyPrefix(key)
		if perr != nil {
			return demoAccess{}, perr
		}
		_, err = tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: org.ID, UserID: u.ID, Name: "portiere dev",
			Prefix: prefix, Hash: hash.String(), Scopes: []string{string(credential.ScopeWrite)}})
	}
	if err != nil {
		return demoAccess{}, err
	}
	return demoAccess{OrganizationID: org.ID, UserID: u.ID}, nil
}

package tenancystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// KeyStore resolves API keys for credential's Authenticator and
// TokenService from the api_keys table. A key acts with its creator's
// current role in the organization, so demoting or removing a member
// demotes or disables their keys at once; a key with no creator (made by
// the operator's CLI) acts as an admin. A key whose expiry has passed is
// reported as revoked at its expiry.
type KeyStore struct {
	store *Store
}

var _ credential.KeyStore = KeyStore{}

// Keys returns the credential.KeyStore view of s.
func (s *Store) Keys() KeyStore { return KeyStore{store: s} }

const keyRecordQuery = `
	select k.id, k.organization_id, coalesce(k.project_id::text, ''), k.key_hash, k.scopes,
		k.expires_at, k.revoked_at, k.user_id is null, coalesce(m.role, ''), coalesce(k.user_id::text, '')
	from api_keys k
	left join memberships m on m.organization_id = k.organization_id and m.user_id = k.user_id
	where `

// KeyByHash returns the key whose HMAC is hash.
func (k KeyStore) KeyByHash(ctx context.Context, hash credential.KeyHash) (credential.KeyRecord, error) {
	return k.record(k.store.pool.QueryRow(ctx, keyRecordQuery+`k.key_hash = $1`, hash.String()))
}

// KeyByID returns the key with id (a token's key, checked on every use so
// revocation is immediate).
func (k KeyStore) KeyByID(ctx context.Context, id string) (credential.KeyRecord, error) {
	return k.record(k.store.pool.QueryRow(ctx, keyRecordQuery+`k.id = $1`, id))
}

// TouchKey records that key id was used at at.
func (k KeyStore) TouchKey(ctx context.Context, id string, at time.Time) error {
	return k.store.TouchAPIKey(ctx, id, at)
}

func (k KeyStore) record(row pgx.Row) (credential.KeyRecord, error) {
	var (
		r                credential.KeyRecord
		hash, role       string
		scopes           []string
		expires, revoked *time.Time
		system           bool
	)
	err := row.Scan(&r.ID, &r.OrganizationID, &r.ProjectID, &hash, &scopes, &expires, &revoked, &system, &role, &r.UserID)
	if err = translate("API key", err); err != nil {
		if errors.Is(err, tenancy.ErrNotFound) {
			return credential.KeyRecord{}, credential.ErrKeyNotFound
		}
		return credential.KeyRecord{}, err
	}
	if r.Hash, err = credential.ParseKeyHash(hash); err != nil {
		return credential.KeyRecord{}, fmt.Errorf("tenancy: API key %s: stored hash: %w", r.ID, err)
	}
	r.Scope = credential.ScopeRead
	if slices.Contains(scopes, string(credential.ScopeWrite)) {
		r.Scope = credential.ScopeWrite
	}
	switch {
	case system:
		r.Role = credential.RoleAdmin
	default:
		// A creator no longer in the organization leaves an unknown role,
		// which every rule refuses.
		r.Role = credential.Role(role)
	}
	switch {
	case revoked != nil:
		r.RevokedAt = *revoked
	case expires != nil && !time.Now().Before(*expires):
		r.RevokedAt = *expires
	}
	return r, nil
}

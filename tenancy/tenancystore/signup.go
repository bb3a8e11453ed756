package tenancystore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/tenancy"
)

// SignUp creates o, u and u's owner membership of o in one transaction.
// A taken email or slug is ErrConflict and leaves nothing behind.
func (s *Store) SignUp(ctx context.Context, o tenancy.Organization, u tenancy.User) (tenancy.Organization, tenancy.User, error) {
	if !strings.Contains(u.Email, "@") {
		return tenancy.Organization{}, tenancy.User{}, fmt.Errorf("%w: email %q", tenancy.ErrInvalid, u.Email)
	}
	if strings.TrimSpace(o.Name) == "" {
		return tenancy.Organization{}, tenancy.User{}, fmt.Errorf("%w: organization name is empty", tenancy.ErrInvalid)
	}
	const (
		qOrg = `
			insert into organizations (name, slug, plan) values ($1, $2, coalesce(nullif($3, ''), 'free'))
			returning id, name, slug, plan, created_at`
		qUser = `
			insert into users (email, name, password_hash) values ($1, $2, $3)
			returning id, email, name, password_hash, created_at`
		qOwner = `insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner')`
	)
	var org tenancy.Organization
	var user tenancy.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if user, err = s.scanUser(tx.QueryRow(ctx, qUser, strings.TrimSpace(u.Email), u.Name, nullString(u.PasswordHash)), "user "+u.Email); err != nil {
			return err
		}
		if org, err = s.scanOrg(tx.QueryRow(ctx, qOrg, o.Name, o.Slug, o.Plan), "organization "+o.Slug); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qOwner, org.ID, user.ID)
		return translate("owner membership", err)
	})
	if err != nil {
		return tenancy.Organization{}, tenancy.User{}, err
	}
	return org, user, nil
}

// UserMemberships returns userID's memberships with their organizations,
// by organization name.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]tenancy.UserMembership, error) {
	const q = `
		select o.id, o.name, o.slug, o.plan, o.created_at, m.role
		from memberships m join organizations o on o.id = m.organization_id
		where m.user_id = $1
		order by lower(o.name), o.id`
	rows, err := s.pool.Query(ctx, q, userID)
	if err != nil {
		return nil, translate("memberships of "+userID, err)
	}
	return collect(rows, "memberships of "+userID, func(r pgx.Rows) (tenancy.UserMembership, error) {
		var m tenancy.UserMembership
		var role string
		err := r.Scan(&m.Organization.ID, &m.Organization.Name, &m.Organization.Slug, &m.Organization.Plan, &m.Organization.CreatedAt, &role)
		m.Role = tenancy.Role(role)
		return m, translate("membership", err)
	})
}

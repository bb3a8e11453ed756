package tenancystore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/tenancy"
)

const invitationColumns = `id, organization_id, email, role, token_hash, coalesce(invited_by::text, ''), created_at, expires_at, accepted_at`

func scanInvitation(row pgx.Row, what string) (tenancy.Invitation, error) {
	var inv tenancy.Invitation
	var role string
	err := row.Scan(&inv.ID, &inv.OrganizationID, &inv.Email, &role, &inv.TokenHash, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt, &inv.AcceptedAt)
	inv.Role = tenancy.Role(role)
	return inv, translate(what, err)
}

// CreateInvitation stores inv; an invalid role or email is ErrInvalid.
func (s *Store) CreateInvitation(ctx context.Context, inv tenancy.Invitation) (tenancy.Invitation, error) {
	if !inv.Role.Valid() || !strings.Contains(inv.Email, "@") {
		return tenancy.Invitation{}, fmt.Errorf("%w: invitation needs an email and a role", tenancy.ErrInvalid)
	}
	q := `
		insert into invitations (organization_id, email, role, token_hash, invited_by, expires_at)
		values ($1, $2, $3, $4, $5, $6)
		returning ` + invitationColumns
	return scanInvitation(s.pool.QueryRow(ctx, q, inv.OrganizationID, strings.TrimSpace(inv.Email), string(inv.Role), inv.TokenHash,
		nullString(inv.InvitedBy), inv.ExpiresAt), "invitation for "+inv.Email)
}

// Invitation returns the usable invitation whose token hashes to tokenHash.
func (s *Store) Invitation(ctx context.Context, tokenHash string, now time.Time) (tenancy.Invitation, error) {
	q := `select ` + invitationColumns + ` from invitations where token_hash = $1 and accepted_at is null and expires_at > $2`
	return scanInvitation(s.pool.QueryRow(ctx, q, tokenHash, now), "invitation")
}

// PendingInvitations returns orgID's usable invitations, newest first.
func (s *Store) PendingInvitations(ctx context.Context, orgID string, now time.Time) ([]tenancy.Invitation, error) {
	q := `select ` + invitationColumns + ` from invitations
		where organization_id = $1 and accepted_at is null and expires_at > $2 order by created_at desc, id`
	rows, err := s.pool.Query(ctx, q, orgID, now)
	if err != nil {
		return nil, translate("invitations of "+orgID, err)
	}
	return collect(rows, "invitations of "+orgID, func(r pgx.Rows) (tenancy.Invitation, error) { return scanInvitation(r, "invitation") })
}

// AcceptInvitation uses the invitation for u in one transaction; see
// tenancy.Store.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash string, u tenancy.User, now time.Time) (tenancy.Membership, tenancy.User, error) {
	var m tenancy.Membership
	user := u
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := `select ` + invitationColumns + ` from invitations
			where token_hash = $1 and accepted_at is null and expires_at > $2 for update`
		inv, err := scanInvitation(tx.QueryRow(ctx, q, tokenHash, now), "invitation")
		if err != nil {
			return err
		}
		if user.ID == "" {
			const qUser = `
				insert into users (email, name, password_hash) values ($1, $2, $3)
				returning id, email, name, password_hash, created_at`
			if user, err = s.scanUser(tx.QueryRow(ctx, qUser, inv.Email, u.Name, nullString(u.PasswordHash)), "user "+inv.Email); err != nil {
				return err
			}
		}
		// An existing member keeps the role they have: an invitation
		// never demotes (or promotes) anyone.
		const qMember = `
			insert into memberships (organization_id, user_id, role) values ($1, $2, $3)
			on conflict (organization_id, user_id) do update set role = memberships.role
			returning organization_id, user_id, role, created_at`
		if m, err = scanMember(tx.QueryRow(ctx, qMember, inv.OrganizationID, user.ID, string(inv.Role))); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update invitations set accepted_at = $2, accepted_by = $3 where id = $1`, inv.ID, now, user.ID)
		return translate("invitation", err)
	})
	if err != nil {
		return tenancy.Membership{}, tenancy.User{}, err
	}
	return m, user, nil
}

// Package tenancystore is the PostgreSQL storage of tenancy: the
// organizations, users, memberships, projects and api_keys tables.
package tenancystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/tenancy"
)

// Store implements tenancy.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ tenancy.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// translate maps PostgreSQL errors to tenancy's sentinels: no row, an
// unknown referenced row or a malformed id is ErrNotFound, a unique
// violation ErrConflict, a check violation ErrInvalid.
func translate(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", tenancy.ErrNotFound, what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503", "22P02": // foreign_key_violation, invalid_text_representation (uuid)
			return fmt.Errorf("%w: %s", tenancy.ErrNotFound, what)
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s (%s)", tenancy.ErrConflict, what, pe.ConstraintName)
		case "23514", "23502": // check_violation, not_null_violation
			return fmt.Errorf("%w: %s (%s)", tenancy.ErrInvalid, what, pe.ConstraintName)
		}
	}
	return fmt.Errorf("tenancy: %s: %w", what, err)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// CreateOrganization inserts o; ID and CreatedAt are assigned. Plan
// defaults to "free".
func (s *Store) CreateOrganization(ctx context.Context, o tenancy.Organization) (tenancy.Organization, error) {
	const q = `
		insert into organizations (name, slug, plan) values ($1, $2, coalesce(nullif($3, ''), 'free'))
		returning id, name, slug, plan, created_at`
	return s.scanOrg(s.pool.QueryRow(ctx, q, o.Name, o.Slug, o.Plan), "organization "+o.Slug)
}

// Organization returns the organization with id.
func (s *Store) Organization(ctx context.Context, id string) (tenancy.Organization, error) {
	const q = `select id, name, slug, plan, created_at from organizations where id = $1`
	return s.scanOrg(s.pool.QueryRow(ctx, q, id), "organization "+id)
}

// OrganizationBySlug returns the organization with slug.
func (s *Store) OrganizationBySlug(ctx context.Context, slug string) (tenancy.Organization, error) {
	const q = `select id, name, slug, plan, created_at from organizations where slug = $1`
	return s.scanOrg(s.pool.QueryRow(ctx, q, slug), "organization "+slug)
}

func (s *Store) scanOrg(row pgx.Row, what string) (tenancy.Organization, error) {
	var o tenancy.Organization
	err := row.Scan(&o.ID, &o.Name, &o.Slug, &o.Plan, &o.CreatedAt)
	return o, translate(what, err)
}

// CreateUser inserts u; the email must contain '@' and is unique
// regardless of case.
func (s *Store) CreateUser(ctx context.Context, u tenancy.User) (tenancy.User, error) {
	if !strings.Contains(u.Email, "@") {
		return tenancy.User{}, fmt.Errorf("%w: email %q", tenancy.ErrInvalid, u.Email)
	}
	const q = `
		insert into users (email, name, password_hash) values ($1, $2, $3)
		returning id, email, name, password_hash, created_at`
	return s.scanUser(s.pool.QueryRow(ctx, q, strings.TrimSpace(u.Email), u.Name, nullString(u.PasswordHash)), "user "+u.Email)
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (tenancy.User, error) {
	const q = `select id, email, name, password_hash, created_at from users where id = $1`
	return s.scanUser(s.pool.QueryRow(ctx, q, id), "user "+id)
}

// UserByEmail returns the user with email, compared without case.
func (s *Store) UserByEmail(ctx context.Context, email string) (tenancy.User, error) {
	const q = `select id, email, name, password_hash, created_at from users where lower(email) = lower($1)`
	return s.scanUser(s.pool.QueryRow(ctx, q, strings.TrimSpace(email)), "user "+email)
}

func (s *Store) scanUser(row pgx.Row, what string) (tenancy.User, error) {
	var u tenancy.User
	var hash *string
	err := row.Scan(&u.ID, &u.Email, &u.Name, &hash, &u.CreatedAt)
	u.PasswordHash = str(hash)
	return u, translate(what, err)
}

// AddMember gives m.UserID the role m.Role in m.OrganizationID, replacing
// the role it had there.
func (s *Store) AddMember(ctx context.Context, m tenancy.Membership) (tenancy.Membership, error) {
	if !m.Role.Valid() {
		return tenancy.Membership{}, fmt.Errorf("%w: role %q", tenancy.ErrInvalid, m.Role)
	}
	const q = `
		insert into memberships (organization_id, user_id, role) values ($1, $2, $3)
		on conflict (organization_id, user_id) do update set role = excluded.role
		returning organization_id, user_id, role, created_at`
	return scanMember(s.pool.QueryRow(ctx, q, m.OrganizationID, m.UserID, string(m.Role)))
}

// Membership returns userID's membership of orgID.
func (s *Store) Membership(ctx context.Context, orgID, userID string) (tenancy.Membership, error) {
	const q = `select organization_id, user_id, role, created_at from memberships where organization_id = $1 and user_id = $2`
	return scanMember(s.pool.QueryRow(ctx, q, orgID, userID))
}

// Members returns orgID's memberships, oldest first.
func (s *Store) Members(ctx context.Context, orgID string) ([]tenancy.Membership, error) {
	const q = `select organization_id, user_id, role, created_at from memberships where organization_id = $1 order by created_at, user_id`
	rows, err := s.pool.Query(ctx, q, orgID)
	if err != nil {
		return nil, translate("members of "+orgID, err)
	}
	return collect(rows, "members of "+orgID, func(r pgx.Rows) (tenancy.Membership, error) { return scanMember(r) })
}

func scanMember(row pgx.Row) (tenancy.Membership, error) {
	var m tenancy.Membership
	var role string
	err := row.Scan(&m.OrganizationID, &m.UserID, &role, &m.CreatedAt)
	m.Role = tenancy.Role(role)
	return m, translate("membership", err)
}

func collect[T any](rows pgx.Rows, what string, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, translate(what, rows.Err())
}

const projectColumns = `id, organization_id, name, description, target_model, task, source_standard, status,
	target_vocabularies, domains, auto_threshold, review_threshold, second_reviewer, coalesce(created_by::text, ''), created_at`

func scanProject(row pgx.Row, what string) (tenancy.Project, error) {
	var p tenancy.Project
	var rule string
	err := row.Scan(&p.ID, &p.OrganizationID, &p.Name, &p.Description, &p.TargetModel, &p.Task, &p.SourceStandard, &p.Status,
		&p.Settings.Vocabularies, &p.Settings.Domains,
		&p.Settings.AutoThreshold, &p.Settings.ReviewThreshold, &rule, &p.CreatedBy, &p.CreatedAt)
	p.Settings.SecondReviewer = tenancy.SecondReviewer(rule)
	return p, translate(what, err)
}

func listOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func rule(r tenancy.SecondReviewer) string {
	if r == "" {
		return string(tenancy.SecondReviewerNone)
	}
	return string(r)
}

// CreateProject inserts p in its organization; a name already used there
// is ErrConflict (naming the project), an unknown organization ErrNotFound,
// an unknown target model ErrInvalid. An empty TargetModel is
// tenancy.TargetOMOP54, an empty Task tenancy.DefaultTask.
func (s *Store) CreateProject(ctx context.Context, p tenancy.Project) (tenancy.Project, error) {
	if strings.TrimSpace(p.Name) == "" {
		return tenancy.Project{}, fmt.Errorf("%w: project name is empty", tenancy.ErrInvalid)
	}
	if p.TargetModel == "" {
		p.TargetModel = tenancy.TargetOMOP54
	}
	if !slices.Contains(tenancy.TargetModels(), p.TargetModel) {
		return tenancy.Project{}, fmt.Errorf("%w: target model %q (want one of %s)", tenancy.ErrInvalid, p.TargetModel, strings.Join(tenancy.TargetModels(), ", "))
	}
	if p.Task == "" {
		p.Task = tenancy.DefaultTask
	}
	if err := p.Settings.Validate(); err != nil {
		return tenancy.Project{}, err
	}
	q := `
		insert into projects (organization_id, name, description, target_model, task, source_standard,
			target_vocabularies, domains, auto_threshold, review_threshold, second_reviewer, created_by)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		returning ` + projectColumns
	st := p.Settings
	created, err := scanProject(s.pool.QueryRow(ctx, q, p.OrganizationID, p.Name, p.Description, p.TargetModel, p.Task, p.SourceStandard,
		listOrEmpty(st.Vocabularies), listOrEmpty(st.Domains),
		st.AutoThreshold, st.ReviewThreshold, rule(st.SecondReviewer), nullString(p.CreatedBy)), "project "+p.Name)
	if errors.Is(err, tenancy.ErrConflict) {
		return tenancy.Project{}, fmt.Errorf("%w: the organization already has a project named %q", tenancy.ErrConflict, p.Name)
	}
	return created, err
}

// DeleteProject deletes project id; the foreign keys of every table that
// references projects cascade, so its sources, source codes, mapping
// items, review events and project-restricted API keys go with it in the
// same statement. An unknown or malformed id is ErrNotFound.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	const q = `delete from projects where id = $1`
	return s.affected(ctx, "project "+id, q, id)
}

// Project returns the project with id; a malformed id is ErrNotFound.
func (s *Store) Project(ctx context.Context, id string) (tenancy.Project, error) {
	q := `select ` + projectColumns + ` from projects where id = $1`
	return scanProject(s.pool.QueryRow(ctx, q, id), "project "+id)
}

// ProjectByName returns orgID's project called name.
func (s *Store) ProjectByName(ctx context.Context, orgID, name string) (tenancy.Project, error) {
	q := `select ` + projectColumns + ` from projects where organization_id = $1 and name = $2`
	return scanProject(s.pool.QueryRow(ctx, q, orgID, name), "project "+name)
}

// Projects returns orgID's projects by name.
func (s *Store) Projects(ctx context.Context, orgID string) ([]tenancy.Project, error) {
	q := `select ` + projectColumns + ` from projects where organization_id = $1 order by name`
	rows, err := s.pool.Query(ctx, q, orgID)
	if err != nil {
		return nil, translate("projects of "+orgID, err)
	}
	return collect(rows, "projects of "+orgID, func(r pgx.Rows) (tenancy.Project, error) { return scanProject(r, "project") })
}

// UpdateProjectSettings replaces the settings of project id.
func (s *Store) UpdateProjectSettings(ctx context.Context, id string, st tenancy.Settings) (tenancy.Project, error) {
	if err := st.Validate(); err != nil {
		return tenancy.Project{}, err
	}
	q := `
		update projects set target_vocabularies = $2, domains = $3, auto_threshold = $4, review_threshold = $5,
			second_reviewer = $6, updated_at = now()
		where id = $1
		returning ` + projectColumns
	return scanProject(s.pool.QueryRow(ctx, q, id, listOrEmpty(st.Vocabularies), listOrEmpty(st.Domains),
		st.AutoThreshold, st.ReviewThreshold, rule(st.SecondReviewer)), "project "+id)
}

const keyColumns = `id, organization_id, coalesce(user_id::text, ''), coalesce(project_id::text, ''), name, prefix, key_hash,
	scopes, created_at, expires_at, last_used_at, revoked_at`

func scanKey(row pgx.Row, what string) (tenancy.APIKey, error) {
	var k tenancy.APIKey
	err := row.Scan(&k.ID, &k.OrganizationID, &k.UserID, &k.ProjectID, &k.Name, &k.Prefix, &k.Hash,
		&k.Scopes, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt)
	return k, translate(what, err)
}

// CreateAPIKey stores k (its prefix and HMAC, never the key).
func (s *Store) CreateAPIKey(ctx context.Context, k tenancy.APIKey) (tenancy.APIKey, error) {
	if k.Prefix == "" || k.Hash == "" {
		return tenancy.APIKey{}, fmt.Errorf("%w: an API key needs a prefix and a hash", tenancy.ErrInvalid)
	}
	q := `
		insert into api_keys (organization_id, user_id, project_id, name, prefix, key_hash, scopes, expires_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8)
		returning ` + keyColumns
	return scanKey(s.pool.QueryRow(ctx, q, k.OrganizationID, nullString(k.UserID), nullString(k.ProjectID), k.Name,
		k.Prefix, k.Hash, listOrEmpty(k.Scopes), k.ExpiresAt), "API key "+k.Name)
}

// APIKeyByHash returns the key whose HMAC is hash, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (tenancy.APIKey, error) {
	q := `select ` + keyColumns + ` from api_keys where key_hash = $1`
	return scanKey(s.pool.QueryRow(ctx, q, hash), "API key")
}

// APIKeys returns orgID's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, orgID string) ([]tenancy.APIKey, error) {
	q := `select ` + keyColumns + ` from api_keys where organization_id = $1 order by created_at desc, id`
	rows, err := s.pool.Query(ctx, q, orgID)
	if err != nil {
		return nil, translate("API keys of "+orgID, err)
	}
	return collect(rows, "API keys of "+orgID, func(r pgx.Rows) (tenancy.APIKey, error) { return scanKey(r, "API key") })
}

// TouchAPIKey records that key id was used at at.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	const q = `update api_keys set last_used_at = $2 where id = $1`
	return s.affected(ctx, "API key "+id, q, id, at)
}

// RevokeAPIKey revokes key id at at; revoking twice keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	const q = `update api_keys set revoked_at = coalesce(revoked_at, $2) where id = $1`
	return s.affected(ctx, "API key "+id, q, id, at)
}

func (s *Store) affected(ctx context.Context, what, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return translate(what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", tenancy.ErrNotFound, what)
	}
	return nil
}

// RevokeAPIKeyByPrefix revokes the one key shown as prefix (the CLI's
// handle on a key); no key is ErrNotFound, several ErrConflict.
func (s *Store) RevokeAPIKeyByPrefix(ctx context.Context, prefix string, at time.Time) (tenancy.APIKey, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return tenancy.APIKey{}, translate("API key "+prefix, err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, `select `+keyColumns+` from api_keys where prefix = $1 for update`, prefix)
	if err != nil {
		return tenancy.APIKey{}, translate("API key "+prefix, err)
	}
	keys, err := collect(rows, "API key "+prefix, func(r pgx.Rows) (tenancy.APIKey, error) { return scanKey(r, "API key") })
	switch {
	case err != nil:
		return tenancy.APIKey{}, err
	case len(keys) == 0:
		return tenancy.APIKey{}, fmt.Errorf("%w: API key %s", tenancy.ErrNotFound, prefix)
	case len(keys) > 1:
		return tenancy.APIKey{}, fmt.Errorf("%w: %d API keys share the prefix %s; revoke through the API by id", tenancy.ErrConflict, len(keys), prefix)
	}
	k := keys[0]
	if err := tx.QueryRow(ctx, `update api_keys set revoked_at = coalesce(revoked_at, $2) where id = $1 returning revoked_at`, k.ID, at).Scan(&k.RevokedAt); err != nil {
		return tenancy.APIKey{}, translate("API key "+prefix, err)
	}
	return k, translate("API key "+prefix, tx.Commit(ctx))
}

// Package tenancy is who owns what: organizations, their users and the role
// each user holds in an organization (Membership), the mapping projects an
// organization runs with their settings, and the API keys that act for an
// organization. It owns the model, the storage interface (Store) and the
// sentinel errors; the PostgreSQL store is in tenancystore.
//
// Authentication (turning an API key or a token into a Principal) is not
// here: the HTTP layer resolves credentials through an Authenticator and
// passes the Principal down; this package only stores what it needs.
package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/portiere/portiere/credential"
)

// Sentinel errors. Stores wrap them; callers test with errors.Is. The HTTP
// layer maps each to a status (not found 404, invalid 422, conflict 409,
// forbidden 403).
var (
	// ErrNotFound: no such organization, user, project or API key.
	ErrNotFound = errors.New("tenancy: not found")
	// ErrInvalid: a value breaks a rule of the model (slug, role, email,
	// threshold).
	ErrInvalid = errors.New("tenancy: invalid")
	// ErrConflict: the name, slug or email is taken.
	ErrConflict = errors.New("tenancy: already exists")
	// ErrForbidden: the principal may not do this.
	ErrForbidden = errors.New("tenancy: forbidden")
)

// Role is what a user may do in an organization: credential's Role, so the
// role stored in a membership is the one a Principal carries and the
// authorization rules check. Roles are ordered: owner > admin > member >
// viewer.
type Role = credential.Role

// The roles of a membership.
const (
	RoleOwner  = credential.RoleOwner
	RoleAdmin  = credential.RoleAdmin
	RoleMember = credential.RoleMember
	RoleViewer = credential.RoleViewer
)

// Organization is a tenant: it owns users (through memberships), projects
// and API keys.
type Organization struct {
	ID        string
	Name      string
	Slug      string // lower-case letters, digits and '-', 2-63 characters
	Plan      string
	CreatedAt time.Time
}

// User is a person who signs in. PasswordHash is empty for users who sign
// in another way (invited, single sign-on).
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	CreatedAt    time.Time
}

// Membership gives a user a role in an organization.
type Membership struct {
	OrganizationID string
	UserID         string
	Role           Role
	CreatedAt      time.Time
}

// UserMembership is a membership seen from the user's side: the
// organization and the role held in it.
type UserMembership struct {
	Organization Organization
	Role         Role
}

// SecondReviewer says which mapping items need a second reviewer's
// decision before they count as approved.
type SecondReviewer string

// The second-reviewer rules of a project.
const (
	SecondReviewerNone SecondReviewer = "none" // one decision is enough
	// SecondReviewerOverrides: overrides and rejections need a second
	// reviewer.
	SecondReviewerOverrides SecondReviewer = "overrides"
	SecondReviewerAll       SecondReviewer = "all" // every decision
)

// Settings are a project's mapping rules.
type Settings struct {
	// Vocabularies and Domains restrict the search; empty means any.
	Vocabularies []string
	Domains      []string
	// AutoThreshold is the confidence at or above which an item is
	// accepted without review; ReviewThreshold the one below which it is
	// left for manual mapping. 0 <= ReviewThreshold <= AutoThreshold <= 1;
	// both 0 means the engine's calibrated routing.
	AutoThreshold   float64
	ReviewThreshold float64
	SecondReviewer  SecondReviewer
}

// Validate returns an error wrapping ErrInvalid when s breaks a rule.
func (s Settings) Validate() error {
	if s.ReviewThreshold < 0 || s.AutoThreshold > 1 || s.ReviewThreshold > s.AutoThreshold {
		return errors.Join(ErrInvalid, errors.New("tenancy: thresholds must satisfy 0 <= review <= auto <= 1"))
	}
	switch s.SecondReviewer {
	case "", SecondReviewerNone, SecondReviewerOverrides, SecondReviewerAll:
	default:
		return errors.Join(ErrInvalid, errors.New("tenancy: second reviewer rule must be none, overrides or all"))
	}
	return nil
}

// The data models a project maps to (the SDK's target_model values).
const (
	TargetOMOP54 = "omop_cdm_v5.4" // the default
	TargetOMOP53 = "omop_cdm_v5.3"
	TargetFHIRR4 = "fhir_r4"
)

// TargetModels lists the target models a project may have, the default
// first.
func TargetModels() []string { return []string{TargetOMOP54, TargetOMOP53, TargetFHIRR4} }

// DefaultTask is a project's task when its creator names none (the SDK's
// CloudStorageBackend default).
const DefaultTask = "standardize"

// Project is a mapping project of an organization. TargetModel, Task and
// SourceStandard are the SDK's project fields; the server keeps them for
// the SDK and does not act on Task or SourceStandard.
type Project struct {
	ID             string
	OrganizationID string
	Name           string
	Description    string
	TargetModel    string // one of TargetModels; empty means TargetOMOP54 on creation
	Task           string // empty means DefaultTask on creation
	SourceStandard string // optional, e.g. "icd10", free text
	Status         string // active or archived
	Settings       Settings
	CreatedBy      string // user id; empty when created by the system
	CreatedAt      time.Time
}

// APIKey is a key that acts for an organization, optionally restricted to
// one project. The key itself is never stored: Prefix (shown in listings)
// and Hash (an HMAC of the whole key under API_KEY_SALT) are.
type APIKey struct {
	ID             string
	OrganizationID string
	UserID         string // who created it; empty for system keys
	ProjectID      string // empty: every project of the organization
	Name           string
	Prefix         string
	Hash           string
	Scopes         []string
	CreatedAt      time.Time
	ExpiresAt      *time.Time
	LastUsedAt     *time.Time
	RevokedAt      *time.Time
}

// Active reports whether k may be used at now.
func (k APIKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Principal is who a request acts for. It is credential's Principal (one
// type, with its authorization rules), resolved from API keys stored here.
type Principal = credential.Principal

// Store keeps organizations, users, memberships, projects and API keys.
// Implementations are safe for concurrent use. Lookups return an error
// wrapping ErrNotFound when nothing matches; creations return ErrConflict
// when a unique name is taken and ErrInvalid when a value breaks a rule.
type Store interface {
	CreateOrganization(ctx context.Context, o Organization) (Organization, error)
	Organization(ctx context.Context, id string) (Organization, error)
	OrganizationBySlug(ctx context.Context, slug string) (Organization, error)

	CreateUser(ctx context.Context, u User) (User, error)
	User(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)

	// AddMember gives user a role in org, replacing the role it had.
	AddMember(ctx context.Context, m Membership) (Membership, error)
	Membership(ctx context.Context, orgID, userID string) (Membership, error)
	Members(ctx context.Context, orgID string) ([]Membership, error)
	// UserMemberships returns userID's memberships with their
	// organizations, by organization name (the organization switcher).
	UserMemberships(ctx context.Context, userID string) ([]UserMembership, error)
	// SignUp creates an organization, its first user and the user's owner
	// membership in one transaction: nothing is left behind when the
	// email (ErrConflict) or the slug (ErrConflict) is taken.
	SignUp(ctx context.Context, o Organization, u User) (Organization, User, error)

	// CreateInvitation stores inv (its token's hash, never the token).
	CreateInvitation(ctx context.Context, inv Invitation) (Invitation, error)
	// Invitation returns the invitation whose token hashes to tokenHash if
	// it is neither accepted nor expired at now, else ErrNotFound.
	Invitation(ctx context.Context, tokenHash string, now time.Time) (Invitation, error)
	// PendingInvitations returns orgID's invitations neither accepted nor
	// expired at now, newest first.
	PendingInvitations(ctx context.Context, orgID string, now time.Time) ([]Invitation, error)
	// AcceptInvitation uses the invitation (once, before it expires; else
	// ErrNotFound) for user u in one transaction: u.ID "" creates the user
	// with the invitation's email (ErrConflict when the email is taken);
	// the user becomes a member with the invited role, and an existing
	// membership keeps its role.
	AcceptInvitation(ctx context.Context, tokenHash string, u User, now time.Time) (Membership, User, error)

	CreateProject(ctx context.Context, p Project) (Project, error)
	Project(ctx context.Context, id string) (Project, error)
	ProjectByName(ctx context.Context, orgID, name string) (Project, error)
	Projects(ctx context.Context, orgID string) ([]Project, error)
	UpdateProjectSettings(ctx context.Context, id string, s Settings) (Project, error)
	// DeleteProject deletes project id with everything it owns (sources,
	// source codes, mapping items, review events, project keys); an unknown
	// id is ErrNotFound.
	DeleteProject(ctx context.Context, id string) error

	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// APIKeyByHash finds a key by its HMAC, revoked or not.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	APIKeys(ctx context.Context, orgID string) ([]APIKey, error)
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

package credential

import "fmt"

// Role is a member's role in an organisation, ordered from least to most
// powerful: viewer < member < admin < owner.
type Role string

// The roles of a membership (and of the API keys its holder creates).
const (
	RoleViewer Role = "viewer" // reads projects and results
	RoleMember Role = "member" // also uploads, maps and reviews
	RoleAdmin  Role = "admin"  // also changes project settings, manages keys, runs operator routes
	RoleOwner  Role = "owner"  // everything an admin can, for the whole organisation
)

// ParseRole returns the Role named s, or an error naming the valid roles.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", fmt.Errorf("credential: unknown role %q (want owner, admin, member or viewer)", s)
	}
	return r, nil
}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is min or more powerful. An unknown role is
// below every role.
func (r Role) AtLeast(min Role) bool { return r.rank() > 0 && r.rank() >= min.rank() }

// Scope limits what an API key may do regardless of its role.
type Scope string

// The scopes of an API key. Users signed in with a password act with
// ScopeWrite; their role alone limits them.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// ParseScope returns the Scope named s, or an error naming the valid scopes.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeRead, ScopeWrite:
		return Scope(s), nil
	}
	return "", fmt.Errorf("credential: unknown scope %q (want read or write)", s)
}

// Principal is the authenticated caller of one request. Exactly one of
// these holds: Operator is true (the operator token; no organisation), or
// OrganizationID is set together with UserID or KeyID.
//
// Its Can… methods are pure: they return nil when the action is allowed,
// otherwise a *DeniedError wrapping ErrUnauthenticated (zero Principal) or
// ErrForbidden. They do not check that a project belongs to the
// organisation: stores scope every query by OrganizationID, so another
// organisation's project is simply not found (404) before these run.
type Principal struct {
	OrganizationID string
	UserID         string // the signed-in user, or the user who created the API key presented
	KeyID          string // set when an API key, or a token issued for one, was presented
	Role           Role
	Scope          Scope
	ProjectID      string // non-empty: the key is restricted to this project
	Operator       bool   // the deployment's operator token (ADMIN_TOKEN)
}

// Authenticated reports whether p came from a credential at all.
func (p Principal) Authenticated() bool { return p.Operator || p.OrganizationID != "" }

// tenant checks that p acts for an organisation and, if projectID is not
// empty, that p is not restricted to another project. projectID "" stands
// for organisation-level resources (e.g. listing projects); a project-
// restricted key may reach those, and the route narrows the result.
func (p Principal) tenant(projectID string) error {
	if !p.Authenticated() {
		return unauthenticated("credentials required")
	}
	if p.OrganizationID == "" {
		return forbidden("the operator token only reaches operator routes")
	}
	if p.Role.rank() == 0 {
		return forbidden("no role in this organization")
	}
	if p.ProjectID != "" && projectID != "" && p.ProjectID != projectID {
		return forbidden("this API key is restricted to another project")
	}
	return nil
}

// CanRead allows any member of the organisation, viewers included, to read
// projectID ("" for organisation-level reads).
func (p Principal) CanRead(projectID string) error { return p.tenant(projectID) }

// CanWrite allows members and above holding a write-scope credential to
// change data in projectID: upload sources, start mappings, sync items.
func (p Principal) CanWrite(projectID string) error {
	if err := p.tenant(projectID); err != nil {
		return err
	}
	if p.Scope != ScopeWrite {
		return forbidden("this API key has read scope")
	}
	if !p.Role.AtLeast(RoleMember) {
		return forbidden("viewers cannot change data")
	}
	return nil
}

// CanDecide allows members and above with write scope to approve, reject or
// override mappings in projectID. It is CanWrite with the reviewer's
// wording, kept separate so the two rules can diverge.
func (p Principal) CanDecide(projectID string) error {
	if err := p.tenant(projectID); err != nil {
		return err
	}
	if p.Scope != ScopeWrite {
		return forbidden("this API key has read scope and cannot review")
	}
	if !p.Role.AtLeast(RoleMember) {
		return forbidden("viewers cannot review mappings")
	}
	return nil
}

// CanAdminProject allows admins and owners with write scope to change
// projectID's settings or delete it; projectID "" is creating a project or
// another organisation-level change, which a project-restricted key may not
// make.
func (p Principal) CanAdminProject(projectID string) error {
	if err := p.tenant(projectID); err != nil {
		return err
	}
	if p.ProjectID != "" && projectID == "" {
		return forbidden("this API key is restricted to one project")
	}
	if p.Scope != ScopeWrite {
		return forbidden("this API key has read scope")
	}
	if !p.Role.AtLeast(RoleAdmin) {
		return forbidden("only organization admins and owners can change project settings")
	}
	return nil
}

// CanOperate allows the deployment-wide operator routes (index build,
// Elasticsearch population, workflow administration): the operator token,
// or an owner/admin credential with write scope that is not restricted to a
// project. Those routes affect every organisation, so a viewer or member
// key, or a project key, is refused.
func (p Principal) CanOperate() error {
	if !p.Authenticated() {
		return unauthenticated("credentials required")
	}
	if p.Operator {
		return nil
	}
	if !p.Role.AtLeast(RoleAdmin) {
		return forbidden("operator routes need an organization owner or admin key, or the operator token")
	}
	if p.Scope != ScopeWrite || p.ProjectID != "" {
		return forbidden("operator routes need an organization-wide write key")
	}
	return nil
}

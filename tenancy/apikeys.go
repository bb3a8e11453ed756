package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/portiere/portiere/credential"
)

// KeyIssuer is what IssueAPIKey needs from a Store.
type KeyIssuer interface {
	Project(ctx context.Context, id string) (Project, error)
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
}

// KeyRequest describes an API key to issue.
type KeyRequest struct {
	OrganizationID string
	UserID         string // the creator; the key acts with this user's role
	ProjectID      string // "" for every project of the organization
	Name           string
	Scope          string // "read" (default when empty) or "write"
}

// IssueAPIKey generates an API key for req, stores its prefix and HMAC
// (under hasher's salt) and returns the stored key with the key itself,
// which must be shown to its owner once and never stored. The API's key
// route and the web dashboard both issue keys here. It returns an error
// wrapping ErrInvalid for an unknown scope and ErrNotFound when
// req.ProjectID is not a project of req.OrganizationID.
func IssueAPIKey(ctx context.Context, s KeyIssuer, hasher *credential.KeyHasher, req KeyRequest) (APIKey, string, error) {
	if req.Scope == "" {
		req.Scope = string(credential.ScopeRead)
	}
	scope, err := credential.ParseScope(req.Scope)
	if err != nil {
		return APIKey{}, "", fmt.Errorf("%w: scope must be read or write", ErrInvalid)
	}
	if req.ProjectID != "" {
		p, err := s.Project(ctx, req.ProjectID)
		if err != nil {
			return APIKey{}, "", err
		}
		if p.OrganizationID != req.OrganizationID {
			return APIKey{}, "", fmt.Errorf("%w: no such project in this organization", ErrNotFound)
		}
	}
	issued := hasher.Issue()
	k, err := s.CreateAPIKey(ctx, APIKey{
		OrganizationID: req.OrganizationID, UserID: req.UserID, ProjectID: req.ProjectID, Name: req.Name,
		Prefix: issued.Prefix, Hash: issued.Hash.String(), Scopes: []string{string(scope)},
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, issued.Key, nil
}

// KeyRevoker is what RevokeOrganizationKey needs from a Store.
type KeyRevoker interface {
	APIKeys(ctx context.Context, orgID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// RevokeOrganizationKey revokes key id of organization orgID at at. A key
// of another organization is reported exactly like an unknown one (an
// error wrapping ErrNotFound), so key ids cannot be probed across tenants.
func RevokeOrganizationKey(ctx context.Context, s KeyRevoker, orgID, id string, at time.Time) error {
	keys, err := s.APIKeys(ctx, orgID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == id {
			return s.RevokeAPIKey(ctx, k.ID, at)
		}
	}
	return fmt.Errorf("%w: no such API key in this organization", ErrNotFound)
}

// KeyScope is the scope a stored key acts with: write when its scopes hold
// it, else read.
func KeyScope(k APIKey) credential.Scope {
	for _, s := range k.Scopes {
		if s == string(credential.ScopeWrite) {
			return credential.ScopeWrite
		}
	}
	return credential.ScopeRead
}

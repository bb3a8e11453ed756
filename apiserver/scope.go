package apiserver

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/tenancy"
)

// ProjectFinder returns a project or an error wrapping tenancy.ErrNotFound;
// tenancystore.Store is one.
type ProjectFinder interface {
	Project(ctx context.Context, id string) (tenancy.Project, error)
}

// errNoProject is the answer for a project that does not exist and for
// another organization's project alike, so ids cannot be probed across
// tenants.
var errNoProject = &Error{Status: fiber.StatusNotFound, Detail: "no such project"}

// projectAccess loads the project a project-scoped route names (route
// parameter param), checks it belongs to the caller's organization and that
// the caller may act on it with allowed — one of tenancy.Principal's
// CanRead, CanWrite, CanDecide or CanAdminProject; the operator reaches
// every project and may always. It returns the principal too. Every
// project-scoped handler starts here: the cross-organization test relies on
// it.
func projectAccess(c *fiber.Ctx, finder ProjectFinder, param string, allowed func(tenancy.Principal, string) error) (tenancy.Project, tenancy.Principal, error) {
	p, _ := PrincipalFrom(c.UserContext())
	project, err := finder.Project(c.UserContext(), c.Params(param))
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenancy.Project{}, p, errNoProject
	}
	if err != nil {
		return tenancy.Project{}, p, err
	}
	if p.Operator {
		return project, p, nil
	}
	if project.OrganizationID != p.OrganizationID {
		return tenancy.Project{}, p, errNoProject
	}
	if err := allowed(p, project.ID); err != nil {
		return tenancy.Project{}, p, err
	}
	return project, p, nil
}

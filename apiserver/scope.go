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
// parameter param) and checks it belongs to the caller's organization; the
// operator reaches every project. It returns the principal too, so the
// handler goes on with its role check (p.CanRead / CanWrite / CanDecide /
// CanAdminProject with the project's id). Every project-scoped handler
// starts here: the cross-organization test relies on it.
func projectAccess(c *fiber.Ctx, finder ProjectFinder, param string) (tenancy.Project, tenancy.Principal, error) {
	p, _ := PrincipalFrom(c.UserContext())
	project, err := finder.Project(c.UserContext(), c.Params(param))
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenancy.Project{}, p, errNoProject
	}
	if err != nil {
		return tenancy.Project{}, p, err
	}
	if !p.Operator && project.OrganizationID != p.OrganizationID {
		return tenancy.Project{}, p, errNoProject
	}
	return project, p, nil
}

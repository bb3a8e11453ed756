package web

import (
	"net/http"
	"time"

	"github.com/portiere/portiere/tenancy"
)

// memberRow is a member of the organization as the list shows it.
type memberRow struct {
	Name, Email string
	Role        tenancy.Role
	Since       time.Time
	You         bool
}

// members lists the organization's members and their roles; any member
// may read it. (Inviting members is the next part of issue #10.)
func (s *Server) members(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	ms, err := s.cfg.Tenants.Members(r.Context(), v.Org.ID)
	if err != nil {
		return err
	}
	rows := make([]memberRow, 0, len(ms))
	for _, m := range ms {
		u, err := s.cfg.Tenants.User(r.Context(), m.UserID)
		if err != nil {
			return err
		}
		rows = append(rows, memberRow{Name: u.Name, Email: u.Email, Role: m.Role, Since: m.CreatedAt, You: u.ID == v.User.ID})
	}
	return s.render(w, r, http.StatusOK, "members", "Members", "members", rows)
}

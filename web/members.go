package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/tenancy"
)

// memberRow is a member of the organization as the list shows it.
type memberRow struct {
	Name, Email string
	Role        tenancy.Role
	Since       time.Time
	You         bool
}

type inviteForm struct {
	Email string
	Role  string
}

type membersData struct {
	Members   []memberRow
	Pending   []tenancy.Invitation
	CanInvite bool
	Roles     []tenancy.Role // the roles the visitor may give
	Form      inviteForm
	Link      string // a new invitation's link, shown once
	Invited   *tenancy.Invitation
	Error     string
}

// invitableRoles are the roles p may invite with: never above its own.
func invitableRoles(role tenancy.Role) []tenancy.Role {
	var out []tenancy.Role
	for _, r := range []tenancy.Role{tenancy.RoleViewer, tenancy.RoleMember, tenancy.RoleAdmin, tenancy.RoleOwner} {
		if role.AtLeast(r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) membersPage(r *http.Request, v *visitor) (membersData, error) {
	d := membersData{CanInvite: v.Principal().CanAdminProject("") == nil, Form: inviteForm{Role: string(tenancy.RoleMember)}}
	ms, err := s.cfg.Tenants.Members(r.Context(), v.Org.ID)
	if err != nil {
		return d, err
	}
	for _, m := range ms {
		u, err := s.cfg.Tenants.User(r.Context(), m.UserID)
		if err != nil {
			return d, err
		}
		d.Members = append(d.Members, memberRow{Name: u.Name, Email: u.Email, Role: m.Role, Since: m.CreatedAt, You: u.ID == v.User.ID})
	}
	if d.CanInvite {
		d.Roles = invitableRoles(v.Role)
		if d.Pending, err = s.cfg.Tenants.PendingInvitations(r.Context(), v.Org.ID, s.cfg.Now()); err != nil {
			return d, err
		}
	}
	return d, nil
}

// members lists the organization's members and their roles (any member
// may read it); owners and admins also invite from here.
func (s *Server) members(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	d, err := s.membersPage(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "members", "Members", "members", d)
}

// invite creates an invitation and shows its link once. Owners and admins
// invite, never with a role above their own.
func (s *Server) invite(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanAdminProject(""); err != nil {
		return err
	}
	d, err := s.membersPage(r, v)
	if err != nil {
		return err
	}
	d.Form = inviteForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Role: r.PostForm.Get("role")}
	role, err := credential.ParseRole(d.Form.Role)
	switch {
	case !strings.Contains(d.Form.Email, "@") || len(d.Form.Email) > 320:
		d.Error = "Enter the email address to invite."
	case err != nil:
		d.Error = "Choose a role."
	case !v.Role.AtLeast(role):
		d.Error = "You cannot invite with a role above your own (" + string(v.Role) + ")."
	}
	if d.Error == "" {
		if d.Error, err = s.checkQuota(r.Context(), v.Org.ID, billing.Seats); err != nil {
			return err
		}
	}
	if d.Error != "" {
		return s.render(w, r, http.StatusUnprocessableEntity, "members", "Members", "members", d)
	}
	token, hash := tenancy.NewInvitationToken()
	inv, err := s.cfg.Tenants.CreateInvitation(r.Context(), tenancy.Invitation{
		OrganizationID: v.Org.ID, Email: d.Form.Email, Role: role, TokenHash: hash, InvitedBy: v.User.ID,
		ExpiresAt: s.cfg.Now().Add(tenancy.InvitationTTL),
	})
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("web invitation created", "invitation_id", inv.ID, "organization_id", v.Org.ID, "role", role, "user_id", v.User.ID)
	d.Invited, d.Link, d.Form = &inv, s.origin(r)+"/invite/"+token, inviteForm{Role: string(tenancy.RoleMember)}
	d.Pending = append([]tenancy.Invitation{inv}, d.Pending...)
	return s.render(w, r, http.StatusCreated, "members", "Members", "members", d)
}

// origin is this app's address as the browser used it, for links to copy.
func (s *Server) origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || s.cfg.CookieSecure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type invitationData struct {
	Invitation tenancy.Invitation
	OrgName    string
	Token      string
	// Mode is what the visitor can do: "accept" (signed in with the
	// invited email), "other" (signed in as someone else), "login" (the
	// email has an account: log in first), "create" (a new account).
	Mode        string
	Name, Error string
	MinPassword int
}

// invitation loads the invitation of the route's token with what the
// visitor can do with it; an unknown, used or expired one is 404.
func (s *Server) invitation(r *http.Request) (invitationData, error) {
	token := r.PathValue("token")
	inv, err := s.cfg.Tenants.Invitation(r.Context(), tenancy.InvitationTokenHash(token), s.cfg.Now())
	if errors.Is(err, tenancy.ErrNotFound) {
		return invitationData{}, &pageError{Status: http.StatusNotFound,
			Message: "This invitation link is not valid: it was used already, it expired, or it was mistyped. Ask for a new one."}
	}
	if err != nil {
		return invitationData{}, err
	}
	org, err := s.cfg.Tenants.Organization(r.Context(), inv.OrganizationID)
	if err != nil {
		return invitationData{}, err
	}
	d := invitationData{Invitation: inv, OrgName: org.Name, Token: token, MinPassword: credential.MinPasswordLength}
	if v := visitorFrom(r); v != nil {
		d.Mode = "other"
		if strings.EqualFold(v.User.Email, inv.Email) {
			d.Mode = "accept"
		}
		return d, nil
	}
	d.Mode = "create"
	if _, err := s.cfg.Tenants.UserByEmail(r.Context(), inv.Email); err == nil {
		d.Mode = "login"
	} else if !errors.Is(err, tenancy.ErrNotFound) {
		return d, err
	}
	return d, nil
}

func (s *Server) invitationPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.invitation(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "invite", "Join "+d.OrgName, "", d)
}

// acceptInvitation makes the visitor a member: signed in with the invited
// email, or as a new account created here for it.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	d, err := s.invitation(r)
	if err != nil {
		return err
	}
	hash := tenancy.InvitationTokenHash(d.Token)
	// A new member takes a seat; a member accepting keeps theirs (and
	// their role).
	if d.Mode == "create" || d.Mode == "accept" && !isMember(visitorFrom(r), d.Invitation.OrganizationID) {
		msg, err := s.checkQuota(r.Context(), d.Invitation.OrganizationID, billing.Seats)
		if err != nil {
			return err
		}
		if msg != "" {
			return &pageError{Status: http.StatusTooManyRequests, Message: d.OrgName + " has no seat left. " + msg}
		}
	}
	switch d.Mode {
	case "other":
		return &pageError{Status: http.StatusForbidden, Message: "This invitation is for " + d.Invitation.Email + ". Log out, then open the link again."}
	case "login":
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/invite/"+d.Token), http.StatusSeeOther)
		return nil
	case "accept":
		v := visitorFrom(r)
		if _, _, err := s.cfg.Tenants.AcceptInvitation(r.Context(), hash, v.User, s.cfg.Now()); err != nil {
			return err
		}
		if err := s.cfg.Sessions.SetSessionOrganization(r.Context(), v.Session.TokenHash, d.Invitation.OrganizationID); err != nil {
			return err
		}
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
		return nil
	}
	d.Name = strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	if len(d.Name) > 200 || len(password) < credential.MinPasswordLength || len(password) > credential.MaxPasswordLength {
		d.Error = "Choose a password of at least 8 characters (and a name of at most 200)."
		return s.render(w, r, http.StatusUnprocessableEntity, "invite", "Join "+d.OrgName, "", d)
	}
	pw, err := s.cfg.Passwords.Hash(r.Context(), password)
	if err != nil {
		return err
	}
	_, user, err := s.cfg.Tenants.AcceptInvitation(r.Context(), hash, tenancy.User{Name: d.Name, PasswordHash: pw}, s.cfg.Now())
	if errors.Is(err, tenancy.ErrConflict) {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/invite/"+d.Token), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("web invitation accepted", "invitation_id", d.Invitation.ID, "user_id", user.ID)
	if err := s.startSession(w, r, user.ID, d.Invitation.OrganizationID); err != nil {
		return err
	}
	http.Redirect(w, r, "/projects", http.StatusSeeOther)
	return nil
}

// isMember reports whether v is a member of org already.
func isMember(v *visitor, org string) bool {
	for _, m := range v.Orgs {
		if m.Organization.ID == org {
			return true
		}
	}
	return false
}

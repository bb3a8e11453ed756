package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/portiere/portiere/tenancy"
)

// keyRow is an API key as the list shows it.
type keyRow struct {
	ID, Name, Prefix, Scope, Project string
	CreatedAt                        time.Time
	LastUsedAt, RevokedAt            *time.Time
}

type keyForm struct {
	Name, Scope, ProjectID string
}

type keysData struct {
	Keys     []keyRow
	Projects []tenancy.Project
	Form     keyForm
	Created  *keyRow
	Key      string // the new key, shown once
	Notice   string
	Error    string
}

// keysPage lists the organization's keys with the names of their projects.
func (s *Server) keysPage(r *http.Request, v *visitor) (keysData, error) {
	var d keysData
	projects, err := s.cfg.Tenants.Projects(r.Context(), v.Org.ID)
	if err != nil {
		return d, err
	}
	keys, err := s.cfg.Tenants.APIKeys(r.Context(), v.Org.ID)
	if err != nil {
		return d, err
	}
	d.Projects = projects
	for _, k := range keys {
		d.Keys = append(d.Keys, rowOf(k, projects))
	}
	return d, nil
}

func rowOf(k tenancy.APIKey, projects []tenancy.Project) keyRow {
	row := keyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: string(tenancy.KeyScope(k)),
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
	if k.ProjectID != "" {
		row.Project = "(deleted project)"
		for _, p := range projects {
			if p.ID == k.ProjectID {
				row.Project = p.Name
			}
		}
	}
	return row
}

// API keys are an organization-level resource of its owners and admins,
// as in the API (credential's CanAdminProject("")).
func (s *Server) apiKeys(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanAdminProject(""); err != nil {
		return err
	}
	d, err := s.keysPage(r, v)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("revoked") != "" {
		d.Notice = "Key revoked: it is refused from now on."
	}
	return s.render(w, r, http.StatusOK, "keys", "API keys", "keys", d)
}

// createAPIKey issues a key through tenancy (the same steps as the API's
// key route) and shows it once, in this response only: it is never
// redirected through a URL or stored.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanAdminProject(""); err != nil {
		return err
	}
	f := keyForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Scope: r.PostForm.Get("scope"), ProjectID: r.PostForm.Get("project_id")}
	d, err := s.keysPage(r, v)
	if err != nil {
		return err
	}
	d.Form = f
	if f.Name == "" || len(f.Name) > 100 {
		d.Error = "Name the key (at most 100 characters) so you can tell it apart later."
		return s.render(w, r, http.StatusUnprocessableEntity, "keys", "API keys", "keys", d)
	}
	k, key, err := tenancy.IssueAPIKey(r.Context(), s.cfg.Tenants, s.cfg.Keys, tenancy.KeyRequest{
		OrganizationID: v.Org.ID, UserID: v.User.ID, ProjectID: f.ProjectID, Name: f.Name, Scope: f.Scope,
	})
	switch {
	case errors.Is(err, tenancy.ErrInvalid):
		d.Error = "Choose the read or write scope."
		return s.render(w, r, http.StatusUnprocessableEntity, "keys", "API keys", "keys", d)
	case errors.Is(err, tenancy.ErrNotFound):
		d.Error = "That project is not in " + v.Org.Name + "."
		return s.render(w, r, http.StatusUnprocessableEntity, "keys", "API keys", "keys", d)
	case err != nil:
		return err
	}
	s.cfg.Logger.Info("web API key created", "key_id", k.ID, "prefix", k.Prefix, "user_id", v.User.ID)
	row := rowOf(k, d.Projects)
	d.Created, d.Key, d.Form = &row, key, keyForm{}
	d.Keys = append([]keyRow{row}, d.Keys...)
	return s.render(w, r, http.StatusCreated, "keys", "API keys", "keys", d)
}

// revokeAPIKey revokes a key of the organization worked in (another
// organization's key is 404). htmx gets the updated table row back; a
// plain form post is redirected to the list.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanAdminProject(""); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := tenancy.RevokeOrganizationKey(r.Context(), s.cfg.Tenants, v.Org.ID, id, s.cfg.Now()); err != nil {
		if errors.Is(err, tenancy.ErrNotFound) {
			return &pageError{Status: http.StatusNotFound, Message: "There is no such API key in " + v.Org.Name + "."}
		}
		return err
	}
	s.cfg.Logger.Info("web API key revoked", "key_id", id, "user_id", v.User.ID)
	if !isHTMX(r) {
		http.Redirect(w, r, "/api-keys?revoked=1", http.StatusSeeOther)
		return nil
	}
	d, err := s.keysPage(r, v)
	if err != nil {
		return err
	}
	for _, k := range d.Keys {
		if k.ID == id {
			return s.fragment(w, "keys", "keyrow", map[string]any{"Key": k, "CSRF": v.Session.CSRFToken})
		}
	}
	return &pageError{Status: http.StatusNotFound}
}

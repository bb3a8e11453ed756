package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/tenancy"
)

type projectsData struct {
	Projects  []tenancy.Project
	CanCreate bool
	Notice    string
}

func (s *Server) projects(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p := v.Principal()
	if err := p.CanRead(""); err != nil {
		return err
	}
	list, err := s.cfg.Tenants.Projects(r.Context(), v.Org.ID)
	if err != nil {
		return err
	}
	d := projectsData{Projects: list, CanCreate: p.CanAdminProject("") == nil}
	switch {
	case r.URL.Query().Get("welcome") != "":
		d.Notice = "Welcome to Portiere. " + v.Org.Name + " is ready: create its first project."
	case r.URL.Query().Get("deleted") != "":
		d.Notice = "Project “" + r.URL.Query().Get("deleted") + "” deleted."
	}
	return s.render(w, r, http.StatusOK, "projects", "Projects", "projects", d)
}

type newProjectData struct {
	Name, Description, Error string
}

func (s *Server) newProjectForm(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p := v.Principal()
	if err := p.CanAdminProject(""); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "project_new", "New project", "projects", newProjectData{})
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, v *visitor) error {
	p := v.Principal()
	if err := p.CanAdminProject(""); err != nil {
		return err
	}
	d := newProjectData{Name: strings.TrimSpace(r.PostForm.Get("name")), Description: strings.TrimSpace(r.PostForm.Get("description"))}
	again := func(msg string) error {
		d.Error = msg
		return s.render(w, r, http.StatusUnprocessableEntity, "project_new", "New project", "projects", d)
	}
	if d.Name == "" || len(d.Name) > 200 {
		return again("Give the project a name (at most 200 characters).")
	}
	if len(d.Description) > 2000 {
		return again("The description can have at most 2000 characters.")
	}
	msg, err := s.checkQuota(r.Context(), v.Org.ID, billing.Projects)
	if err != nil {
		return err
	}
	if msg != "" {
		return again(msg)
	}
	project, err := s.cfg.Tenants.CreateProject(r.Context(), tenancy.Project{
		OrganizationID: v.Org.ID, Name: d.Name, Description: d.Description, CreatedBy: v.User.ID,
	})
	if errors.Is(err, tenancy.ErrConflict) {
		return again("A project called “" + d.Name + "” exists already in " + v.Org.Name + ".")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/projects/"+project.ID+"?created=1", http.StatusSeeOther)
	return nil
}

// projectOf loads the project a route names and checks it belongs to the
// organization worked in: another organization's project (or a malformed
// id) is 404, never 403, so ids cannot be probed across tenants.
func (s *Server) projectOf(r *http.Request, v *visitor) (tenancy.Project, error) {
	project, err := s.cfg.Tenants.Project(r.Context(), r.PathValue("id"))
	if errors.Is(err, tenancy.ErrNotFound) || (err == nil && project.OrganizationID != v.Org.ID) {
		return tenancy.Project{}, &pageError{Status: http.StatusNotFound, Message: "There is no such project in " + v.Org.Name + "."}
	}
	return project, err
}

// settingsForm is the settings form's fields as typed.
type settingsForm struct {
	Vocabularies, Domains, Auto, Review, SecondReviewer string
}

func formOf(st tenancy.Settings) settingsForm {
	rule := string(st.SecondReviewer)
	if rule == "" {
		rule = string(tenancy.SecondReviewerNone)
	}
	return settingsForm{
		Vocabularies: strings.Join(st.Vocabularies, ", "), Domains: strings.Join(st.Domains, ", "),
		Auto: strconv.FormatFloat(st.AutoThreshold, 'f', -1, 64), Review: strconv.FormatFloat(st.ReviewThreshold, 'f', -1, 64),
		SecondReviewer: rule,
	}
}

type ruleChoice struct{ Value, Label string }

var secondReviewerRules = []ruleChoice{
	{string(tenancy.SecondReviewerNone), "None: one reviewer's decision is final"},
	{string(tenancy.SecondReviewerOverrides), "Overrides and rejections need a second reviewer"},
	{string(tenancy.SecondReviewerAll), "Every decision needs a second reviewer"},
}

type projectData struct {
	Project       tenancy.Project
	Form          settingsForm
	Rules         []ruleChoice
	Loaded        []string // vocabulary ids loaded, for the hint and the check
	CanAdmin      bool
	Notice, Error string
}

func (s *Server) projectPage(r *http.Request, v *visitor, project tenancy.Project) (projectData, error) {
	d := projectData{Project: project, Form: formOf(project.Settings), Rules: secondReviewerRules,
		CanAdmin: v.Principal().CanAdminProject(project.ID) == nil}
	loaded, err := s.loadedVocabularies(r)
	d.Loaded = loaded
	return d, err
}

func (s *Server) loadedVocabularies(r *http.Request) ([]string, error) {
	if s.cfg.Vocabulary == nil {
		return nil, nil
	}
	counts, err := s.cfg.Vocabulary.VocabularyCounts(r.Context())
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(counts))
	for _, c := range counts {
		ids = append(ids, c.VocabularyID)
	}
	return ids, nil
}

func (s *Server) project(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.projectOf(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanRead(project.ID); err != nil {
		return err
	}
	d, err := s.projectPage(r, v, project)
	if err != nil {
		return err
	}
	switch {
	case r.URL.Query().Get("created") != "":
		d.Notice = "Project created. Review its mapping settings below."
	case r.URL.Query().Get("saved") != "":
		d.Notice = "Settings saved."
	}
	return s.render(w, r, http.StatusOK, "project", project.Name, "projects", d)
}

// splitList reads a comma-separated field: trimmed, without empties or
// repeats.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func parseThreshold(label, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("%s must be a number from 0 to 1.", label)
	}
	return f, nil
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.projectOf(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanAdminProject(project.ID); err != nil {
		return err
	}
	f := settingsForm{
		Vocabularies: r.PostForm.Get("vocabularies"), Domains: r.PostForm.Get("domains"),
		Auto: r.PostForm.Get("auto_threshold"), Review: r.PostForm.Get("review_threshold"),
		SecondReviewer: r.PostForm.Get("second_reviewer"),
	}
	d, err := s.projectPage(r, v, project)
	if err != nil {
		return err
	}
	d.Form = f
	again := func(msg string) error {
		d.Error = msg
		return s.render(w, r, http.StatusUnprocessableEntity, "project", project.Name, "projects", d)
	}
	st := tenancy.Settings{Vocabularies: splitList(f.Vocabularies), Domains: splitList(f.Domains),
		SecondReviewer: tenancy.SecondReviewer(f.SecondReviewer)}
	if st.AutoThreshold, err = parseThreshold("Auto-accept", f.Auto); err != nil {
		return again(err.Error())
	}
	if st.ReviewThreshold, err = parseThreshold("Manual mapping", f.Review); err != nil {
		return again(err.Error())
	}
	if len(d.Loaded) > 0 {
		var unknown []string
		for _, id := range st.Vocabularies {
			if !slices.Contains(d.Loaded, id) {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return again("Not a loaded vocabulary: " + strings.Join(unknown, ", ") + ". Loaded: " + strings.Join(d.Loaded, ", ") + ".")
		}
	}
	if st.SecondReviewer == "" {
		st.SecondReviewer = tenancy.SecondReviewerNone
	}
	if err := st.Validate(); err != nil {
		return again("Check the thresholds (manual mapping must not be above auto-accept) and the second-reviewer rule.")
	}
	if _, err := s.cfg.Tenants.UpdateProjectSettings(r.Context(), project.ID, st); err != nil {
		if errors.Is(err, tenancy.ErrInvalid) {
			return again("These settings break a rule of the project: check the thresholds.")
		}
		return err
	}
	http.Redirect(w, r, "/projects/"+project.ID+"?saved=1", http.StatusSeeOther)
	return nil
}

type deleteData struct {
	Project tenancy.Project
	Error   string
}

func (s *Server) deleteProjectForm(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.projectOf(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanAdminProject(project.ID); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "project_delete", "Delete "+project.Name, "projects", deleteData{Project: project})
}

// deleteProject deletes the project once its name was typed to confirm.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.projectOf(r, v)
	if err != nil {
		return err
	}
	if err := v.Principal().CanAdminProject(project.ID); err != nil {
		return err
	}
	if strings.TrimSpace(r.PostForm.Get("confirm")) != project.Name {
		return s.render(w, r, http.StatusUnprocessableEntity, "project_delete", "Delete "+project.Name, "projects",
			deleteData{Project: project, Error: "The name typed does not match; nothing was deleted."})
	}
	if err := s.cfg.Tenants.DeleteProject(r.Context(), project.ID); err != nil {
		return err
	}
	s.cfg.Logger.Info("web project deleted", "project_id", project.ID, "user_id", v.User.ID)
	http.Redirect(w, r, "/projects?deleted="+url.QueryEscape(project.Name), http.StatusSeeOther)
	return nil
}

package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
)

// The admin pages of the mapper app: applications, one mapper (profile,
// KYC documents, decisions, terms, audit), and the documents themselves.
// mapperAdmin has already refused non-admins; mapper.Service checks again.

type adminListData struct {
	Filter  string
	Filters []adminFilter
	Mappers []mapper.Mapper
}

type adminFilter struct {
	Value, Label string
	States       []mapper.Status
}

var adminFilters = []adminFilter{
	{"review", "To review", []mapper.Status{mapper.StatusPending}},
	{"info_requested", "Information requested", []mapper.Status{mapper.StatusInfoRequested}},
	{"active", "Approved", []mapper.Status{mapper.StatusApproved}},
	{"suspended", "Suspended", []mapper.Status{mapper.StatusSuspended}},
	{"rejected", "Rejected", []mapper.Status{mapper.StatusRejected}},
	{"all", "All", nil},
}

func (s *Server) adminApplications(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	f := adminFilters[0]
	for _, x := range adminFilters {
		if x.Value == r.URL.Query().Get("filter") {
			f = x
		}
	}
	list, err := s.cfg.Mappers.Applications(r.Context(), me.LineUserID, f.States...)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mapper_admin", "Applications", "admin", adminListData{Filter: f.Value, Filters: adminFilters, Mappers: list})
}

type adminMapperData struct {
	M         mapper.Mapper
	Documents []mapper.Document
	Audit     []mapper.AuditEntry
	Actions   []adminAction
	Tiers     []string
	Error     string
	Notice    string
	// Stats and Flags are the mapper's standing in the crowd (votes,
	// skill, tier, earnings) and anomaly flags; nil without the crowd.
	Stats *crowd.MapperStats
	Flags []crowd.Flag
}

type adminAction struct {
	Action      mapper.Action
	Label       string
	NeedsReason bool
	Danger      bool
}

var actionLabels = map[mapper.Action]string{
	mapper.ActionApprove: "Approve", mapper.ActionReject: "Reject", mapper.ActionRequestInfo: "Request information",
	mapper.ActionSuspend: "Suspend", mapper.ActionReinstate: "Reinstate",
}

func (s *Server) adminMapperData(r *http.Request, admin, id string) (adminMapperData, error) {
	m, err := s.cfg.Mappers.Mapper(r.Context(), id)
	if err != nil {
		return adminMapperData{}, err
	}
	docs, err := s.cfg.Mappers.Documents(r.Context(), id)
	if err != nil {
		return adminMapperData{}, err
	}
	trail, err := s.cfg.Mappers.Audit(r.Context(), admin, id)
	if err != nil {
		return adminMapperData{}, err
	}
	d := adminMapperData{M: m, Documents: docs, Audit: trail, Tiers: mapper.Tiers}
	if s.cfg.Crowd != nil {
		st, err := s.cfg.Crowd.Stats(r.Context(), id)
		if err != nil {
			return adminMapperData{}, err
		}
		d.Stats = &st
		flags, err := s.cfg.Crowd.Flags(r.Context())
		if err != nil {
			return adminMapperData{}, err
		}
		for _, f := range flags {
			if f.MapperID == id {
				d.Flags = append(d.Flags, f)
			}
		}
	}
	for _, a := range []mapper.Action{mapper.ActionApprove, mapper.ActionRequestInfo, mapper.ActionReject, mapper.ActionSuspend, mapper.ActionReinstate} {
		if _, err := mapper.Next(m.Status, a); err == nil {
			d.Actions = append(d.Actions, adminAction{Action: a, Label: actionLabels[a], NeedsReason: a.NeedsReason(),
				Danger: a == mapper.ActionReject || a == mapper.ActionSuspend})
		}
	}
	return d, nil
}

func (s *Server) adminMapper(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	d, err := s.adminMapperData(r, me.LineUserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if n := r.URL.Query().Get("done"); n != "" {
		d.Notice = "Saved: " + n + "."
	}
	return s.render(w, r, http.StatusOK, "mapper_admin_mapper", d.M.DisplayName, "admin", d)
}

func (s *Server) adminDecide(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	id := r.PathValue("id")
	a := mapper.Action(r.PostForm.Get("action"))
	if _, ok := actionLabels[a]; !ok {
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "Choose approve, reject, request information, suspend or reinstate."}
	}
	_, err := s.cfg.Mappers.Decide(r.Context(), me.LineUserID, id, a, r.PostForm.Get("reason"))
	var fe mapper.FieldErrors
	if asFieldErrors(err, &fe) {
		d, derr := s.adminMapperData(r, me.LineUserID, id)
		if derr != nil {
			return derr
		}
		d.Error = actionLabels[a] + ": " + fe[0].Message
		return s.render(w, r, http.StatusUnprocessableEntity, "mapper_admin_mapper", d.M.DisplayName, "admin", d)
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("mapper application decided", "mapper_id", id, "action", a, "admin", me.ID)
	http.Redirect(w, r, "/admin/mappers/"+id+"?done="+strings.ToLower(actionLabels[a]), http.StatusSeeOther)
	return nil
}

func (s *Server) adminTerms(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	id := r.PathValue("id")
	rate, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("rate_percent")))
	if err != nil {
		rate = -1
	}
	_, err = s.cfg.Mappers.SetTerms(r.Context(), me.LineUserID, id, r.PostForm.Get("tier"), rate)
	var fe mapper.FieldErrors
	if asFieldErrors(err, &fe) {
		d, derr := s.adminMapperData(r, me.LineUserID, id)
		if derr != nil {
			return derr
		}
		d.Error = fe[0].Message
		return s.render(w, r, http.StatusUnprocessableEntity, "mapper_admin_mapper", d.M.DisplayName, "admin", d)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/mappers/"+id+"?done=tier+and+rate", http.StatusSeeOther)
	return nil
}

// adminDocument sends a KYC document decrypted (the view is audited by
// mapper.Service). Images show inline; a PDF downloads. Neither may run
// anything: the response is sandboxed and never cached.
func (s *Server) adminDocument(w http.ResponseWriter, r *http.Request, v *visitor, me mapper.Mapper) error {
	d, content, err := s.cfg.Mappers.ViewDocument(r.Context(), me.LineUserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("KYC document viewed", "document_id", d.ID, "mapper_id", d.MapperID, "admin", me.ID)
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'")
	h.Set("Cache-Control", "no-store")
	disposition := "attachment"
	if strings.HasPrefix(d.ContentType, "image/") {
		disposition = "inline"
	}
	ext := map[string]string{"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}[d.ContentType]
	h.Set("Content-Disposition", disposition+`; filename="`+d.ID+"."+ext+`"`)
	h.Set("Content-Length", strconv.Itoa(len(content)))
	_, err = w.Write(content)
	return err
}

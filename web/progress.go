package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/workflows"
)

// BulkMapping starts, follows and cancels the bulk mapping workflows;
// *workflows.Client is one. Implementations are safe for concurrent use.
type BulkMapping interface {
	// StartBulkMapping starts the mapping in describes, or returns the one
	// running for it.
	StartBulkMapping(ctx context.Context, in workflows.BulkMappingInput) (workflows.Run, error)
	// State describes the latest run of workflow id with its progress;
	// workflows.ErrNotFound when there is none.
	State(ctx context.Context, id string) (workflows.State, error)
	// Cancel asks workflow id to stop; workflows.ErrNotFound when there is
	// none.
	Cancel(ctx context.Context, id string) error
}

// errNoWorker is the answer to a bulk mapping request when Temporal is not
// configured for the dashboard.
var errNoWorker = &pageError{Status: http.StatusServiceUnavailable,
	Message: "Bulk mapping needs the worker: this dashboard has no Temporal configured (set TEMPORAL_ADDRESS and run `portiere worker`, or use `portiere dev`)."}

// errTemporalDown is the answer when Temporal does not answer.
var errTemporalDown = &pageError{Status: http.StatusServiceUnavailable,
	Message: "The workflow service (Temporal) is not answering, so the bulk mapping cannot be reached now. Try again in a moment."}

// stateTimeout bounds one progress query: the page polls every second.
const stateTimeout = 3 * time.Second

// projectSource loads the route's project, checking the visitor may write
// to it (or, when writable is false, read it), and the route's source of
// that project; another project's source is not found.
func (s *Server) projectSource(r *http.Request, v *visitor, writable bool) (tenancy.Project, mappingjob.Source, error) {
	projectOf := s.readableProject
	if writable {
		projectOf = s.writableProject
	}
	project, err := projectOf(r, v)
	if err != nil {
		return project, mappingjob.Source{}, err
	}
	if s.cfg.Sources == nil {
		return project, mappingjob.Source{}, &pageError{Status: http.StatusNotFound}
	}
	src, err := s.cfg.Sources.Source(r.Context(), project.ID, r.PathValue("source"))
	if errors.Is(err, mappingjob.ErrNotFound) {
		return project, src, &pageError{Status: http.StatusNotFound, Message: "The project " + project.Name + " has no such source."}
	}
	return project, src, err
}

func mappingID(project, source string) string {
	return workflows.BulkMappingSourceWorkflowID(project, source)
}

// mappingStatus is the status of source's latest bulk mapping for the
// sources list: "" when there was none. ok is false when Temporal did not
// answer (the list stops asking).
func (s *Server) mappingStatus(ctx context.Context, project, source string) (status string, ok bool) {
	st, err := s.cfg.Mapping.State(ctx, mappingID(project, source))
	switch {
	case errors.Is(err, workflows.ErrNotFound):
		return "", true
	case err != nil:
		return "", false
	}
	return progressOf(st, s.cfg.Now()).State, true
}

// progressView is a bulk mapping's state as the progress panel shows it.
type progressView struct {
	ProjectID, SourceID string
	State               string // starting, running, completed, cancelled, failed, not started; unknown while Temporal does not answer
	Total, Done         int64
	Auto, Review        int64
	Manual, Failed      int64
	Percent             int
	Rate, ETA           string
	Running             bool
	CanWrite            bool
	CSRF                string // the forms' token, for use without script
	Error               string
}

// progressOf reads st. The rate is codes done over the run's time so far
// (a run that continued as new restarts that clock, so the rate of a very
// large mapping reads high after each 100 chunks; the ETA follows it).
func progressOf(st workflows.State, now time.Time) progressView {
	pv := progressView{State: st.Status}
	p := st.Progress
	if p != nil {
		pv.Total, pv.Done, pv.Auto, pv.Review, pv.Manual, pv.Failed = p.Total, p.Done, p.Auto, p.Review, p.Manual, p.Failed
		if p.Status != "" {
			pv.State = p.Status
		}
	}
	switch pv.State {
	case "running", "continued_as_new":
		pv.State, pv.Running = "running", true
		if p == nil {
			pv.State = "starting"
		}
	case "canceled":
		pv.State = "cancelled"
	case "terminated", "timed_out":
		pv.State = "failed"
	}
	if pv.Total > 0 {
		pv.Percent = int(math.Floor(100 * float64(pv.Done) / float64(pv.Total)))
	} else if pv.State == "completed" {
		pv.Percent = 100
	}
	end := now
	if st.ClosedAt != nil {
		end = *st.ClosedAt
	}
	if secs := end.Sub(st.StartedAt).Seconds(); secs > 0 && pv.Done > 0 && !st.StartedAt.IsZero() {
		rate := float64(pv.Done) / secs
		pv.Rate = fmt.Sprintf("%.1f codes/s", rate)
		if pv.Running && pv.Total > pv.Done {
			pv.ETA = "about " + (time.Duration(float64(pv.Total-pv.Done)/rate*float64(time.Second)) + time.Second - 1).Truncate(time.Second).String()
		}
	}
	return pv
}

// progress asks Temporal for source's mapping.
func (s *Server) progress(ctx context.Context, v *visitor, project tenancy.Project, source string) (progressView, error) {
	pv := progressView{ProjectID: project.ID, SourceID: source, CanWrite: v.Principal().CanWrite(project.ID) == nil,
		CSRF: v.Session.CSRFToken}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	st, err := s.cfg.Mapping.State(ctx, mappingID(project.ID, source))
	switch {
	case errors.Is(err, workflows.ErrNotFound):
		pv.State = "not started"
		return pv, nil
	case errors.Is(err, workflows.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.cfg.Logger.Warn("web bulk mapping state", "project_id", project.ID, "source_id", source, "error", err)
		return pv, errTemporalDown
	case err != nil:
		return pv, err
	}
	got := progressOf(st, s.cfg.Now())
	got.ProjectID, got.SourceID, got.CanWrite, got.CSRF = pv.ProjectID, pv.SourceID, pv.CanWrite, pv.CSRF
	return got, nil
}

// polledProgress is progress for a page that polls it: a page error
// (Temporal down) shows in the panel as state "unknown", still running, so
// the page keeps polling — Temporal may be back in a moment.
func (s *Server) polledProgress(ctx context.Context, v *visitor, project tenancy.Project, source string) (progressView, error) {
	pv, err := s.progress(ctx, v, project, source)
	var pe *pageError
	if errors.As(err, &pe) {
		pv.Error, pv.State, pv.Running = pe.Message, "unknown", true
		return pv, nil
	}
	return pv, err
}

type mappingData struct {
	Project  tenancy.Project
	Source   mappingjob.Source
	CanMap   bool
	Progress progressView
}

func (s *Server) startMapping(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, src, err := s.projectSource(r, v, true)
	if err != nil {
		return err
	}
	if s.cfg.Mapping == nil {
		return errNoWorker
	}
	if src.Kind != mappingjob.SourceUpload {
		return &pageError{Status: http.StatusUnprocessableEntity,
			Message: "“" + src.Name + "” is a file the SDK keeps on its own machine: the server holds none of its codes. Upload the CSV, or map it with the SDK."}
	}
	run, err := s.cfg.Mapping.StartBulkMapping(r.Context(), workflows.BulkMappingInput{
		ProjectID: project.ID, OrganizationID: project.OrganizationID, SourceID: src.ID})
	if errors.Is(err, workflows.ErrUnavailable) {
		s.cfg.Logger.Warn("web bulk mapping start", "project_id", project.ID, "source_id", src.ID, "error", err)
		return errTemporalDown
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("web bulk mapping started", "project_id", project.ID, "source_id", src.ID, "workflow_id", run.WorkflowID, "user_id", v.User.ID)
	http.Redirect(w, r, "/projects/"+project.ID+"/sources/"+src.ID+"/mapping", http.StatusSeeOther)
	return nil
}

func (s *Server) mappingPage(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, src, err := s.projectSource(r, v, false)
	if err != nil {
		return err
	}
	d := mappingData{Project: project, Source: src, CanMap: s.cfg.Mapping != nil}
	if d.CanMap {
		if d.Progress, err = s.polledProgress(r.Context(), v, project, src.ID); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "mapping", "Bulk mapping · "+src.Name, "projects", d)
}

// mappingProgress is the progress panel alone: the mapping page polls it
// every second while the mapping runs.
func (s *Server) mappingProgress(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, src, err := s.projectSource(r, v, false)
	if err != nil {
		return err
	}
	if s.cfg.Mapping == nil {
		return errNoWorker
	}
	pv, err := s.polledProgress(r.Context(), v, project, src.ID)
	if err != nil {
		return err
	}
	return s.fragment(w, "mapping", "progress", pv)
}

func (s *Server) cancelMapping(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, src, err := s.projectSource(r, v, true)
	if err != nil {
		return err
	}
	if s.cfg.Mapping == nil {
		return errNoWorker
	}
	err = s.cfg.Mapping.Cancel(r.Context(), mappingID(project.ID, src.ID))
	switch {
	case errors.Is(err, workflows.ErrNotFound):
		return &pageError{Status: http.StatusNotFound, Message: "This source has no bulk mapping to cancel."}
	case errors.Is(err, workflows.ErrUnavailable):
		return errTemporalDown
	case err != nil:
		return err
	}
	s.cfg.Logger.Info("web bulk mapping cancelled", "project_id", project.ID, "source_id", src.ID, "user_id", v.User.ID)
	to := "/projects/" + project.ID + "/sources/" + src.ID + "/mapping"
	if isHTMX(r) {
		pv, err := s.progress(r.Context(), v, project, src.ID)
		if err != nil {
			return err
		}
		return s.fragment(w, "mapping", "progress", pv)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

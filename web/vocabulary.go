package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/workflows"
)

// IndexBuilder starts the search index build (IndexBuildWorkflow) and
// reports its latest run; *workflows.Client is one. Implementations are
// safe for concurrent use.
type IndexBuilder interface {
	// StartIndexBuild starts the build, or returns the run already
	// running.
	StartIndexBuild(ctx context.Context, in workflows.IndexBuildInput) (workflows.Run, error)
	// State describes the latest run of workflow id; workflows.ErrNotFound
	// when there is none.
	State(ctx context.Context, id string) (workflows.State, error)
}

type vocabularyData struct {
	Import               *vocab.Report
	Counts               []vocab.VocabularyCount
	Total, TotalStandard int64
	Index                indexView
	Notice               string
}

// indexView is the search index card: the index served and the latest
// build run, with the build button for those who may start one.
type indexView struct {
	IndexState
	// Build is the latest IndexBuildWorkflow run's state: "" when no
	// builder is configured, "none" before the first run, "unknown" while
	// Temporal does not answer.
	Build              string
	BuildStarted       time.Time
	BuildClosed        *time.Time
	Building, CanBuild bool
	CSRF               string
}

// vocabulary shows the loaded release, the concepts per vocabulary and
// the search index; any member may read it.
func (s *Server) vocabulary(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	d := vocabularyData{Index: s.indexOf(r.Context(), v)}
	if r.URL.Query().Get("build") == "started" {
		d.Notice = "Index build started: this page follows it below."
	}
	if s.cfg.Vocabulary != nil {
		rep, err := s.cfg.Vocabulary.LastImport(r.Context())
		switch {
		case err == nil:
			d.Import = &rep
		case !errors.Is(err, vocab.ErrNotFound):
			return err
		}
		if d.Counts, err = s.cfg.Vocabulary.VocabularyCounts(r.Context()); err != nil {
			return err
		}
		for _, c := range d.Counts {
			d.Total += c.Concepts
			d.TotalStandard += c.Standard
		}
	}
	return s.render(w, r, http.StatusOK, "vocabulary", "Vocabulary", "vocabulary", d)
}

// indexState is the search index card alone, which the vocabulary page
// polls with htmx.
func (s *Server) indexState(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	return s.fragment(w, "vocabulary", "indexstate", s.indexOf(r.Context(), v))
}

func (s *Server) indexOf(ctx context.Context, v *visitor) indexView {
	iv := indexView{IndexState: IndexState{State: "unknown", Detail: "This process does not see the search index; the API's /health/ready reports it."},
		CSRF: v.Session.CSRFToken}
	if s.cfg.Index != nil {
		iv.IndexState = s.cfg.Index(ctx)
	}
	if s.cfg.IndexBuilds == nil {
		return iv
	}
	iv.CanBuild = v.Principal().CanOperate() == nil
	sctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	st, err := s.cfg.IndexBuilds.State(sctx, workflows.IndexBuildWorkflowID)
	switch {
	case errors.Is(err, workflows.ErrNotFound):
		iv.Build = "none"
	case err != nil:
		s.cfg.Logger.Warn("web index build state", "err", err)
		iv.Build = "unknown"
	default:
		iv.Build, iv.BuildStarted, iv.BuildClosed, iv.Building = st.Status, st.StartedAt, st.ClosedAt, st.Status == "running"
	}
	return iv
}

// startIndexBuild starts IndexBuildWorkflow, as the API's
// POST /api/v1/workflows/index-build does: the build is deployment-wide,
// so only organization owners and admins may (credential.CanOperate).
// The vocabulary page then follows the run.
func (s *Server) startIndexBuild(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if s.cfg.IndexBuilds == nil {
		return &pageError{Status: http.StatusServiceUnavailable,
			Message: "Building the index needs the worker: this dashboard has no Temporal configured (set TEMPORAL_ADDRESS and run `portiere worker`, or use `portiere dev`)."}
	}
	if err := v.Principal().CanOperate(); err != nil {
		return err
	}
	run, err := s.cfg.IndexBuilds.StartIndexBuild(r.Context(), workflows.IndexBuildInput{})
	if errors.Is(err, workflows.ErrUnavailable) {
		return &pageError{Status: http.StatusServiceUnavailable,
			Message: "The workflow service (Temporal) is not answering, so the index build cannot be started now. Try again in a moment."}
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("web index build", "workflow_id", run.WorkflowID, "run_id", run.RunID, "user_id", v.User.ID)
	http.Redirect(w, r, "/vocabulary?build=started#index-state", http.StatusSeeOther)
	return nil
}

package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/portiere/portiere/vocab"
)

type vocabularyData struct {
	Import               *vocab.Report
	Counts               []vocab.VocabularyCount
	Total, TotalStandard int64
	Index                IndexState
}

// vocabulary shows the loaded release, the concepts per vocabulary and
// the search index; any member may read it.
func (s *Server) vocabulary(w http.ResponseWriter, r *http.Request, v *visitor) error {
	if err := v.Principal().CanRead(""); err != nil {
		return err
	}
	d := vocabularyData{Index: s.indexOf(r.Context())}
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
	return s.fragment(w, "vocabulary", "indexstate", s.indexOf(r.Context()))
}

func (s *Server) indexOf(ctx context.Context) IndexState {
	if s.cfg.Index == nil {
		return IndexState{State: "unknown", Detail: "This process does not see the search index; the API's /health/ready reports it."}
	}
	return s.cfg.Index(ctx)
}

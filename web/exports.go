package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/portiere/portiere/export"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

func (s *Server) exportRoutes(mux *http.ServeMux) {
	mux.Handle("GET /projects/{id}/exports", s.member(s.exports))
	mux.Handle("GET /projects/{id}/exports/{format}", s.member(s.downloadExport))
}

// exportFormat is one format on the exports page.
type exportFormat struct {
	Format      export.Format
	Label, Hint string
}

var exportFormats = []exportFormat{
	{export.FormatSourceToConceptMap, "OMOP source_to_concept_map (CSV)", "The CDM v5.4 table, ready to load."},
	{export.FormatUsagi, "Usagi (CSV)", "OHDSI Usagi's import/export file."},
	{export.FormatSSSOM, "SSSOM (TSV)", "Simple Standard for Sharing Ontological Mappings, with its metadata block."},
	{export.FormatFHIR, "FHIR R4 ConceptMap (JSON)", "One group per pair of code systems."},
}

type exportsData struct {
	Project tenancy.Project
	Formats []exportFormat
}

// exports lists the formats a project's approved and overridden mappings
// download in; every member may export, viewers included (as in the API).
func (s *Server) exports(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "exports", "Exports · "+project.Name, "projects", exportsData{Project: project, Formats: exportFormats})
}

// downloadExport writes the export with mappingjob.Export, the API's
// export, to an unlinked temporary file first: a row the format cannot
// carry is an error page rather than a truncated download.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request, v *visitor) error {
	project, err := s.reviewProject(r, v)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(r.PathValue("format"))
	if err != nil {
		return &pageError{Status: http.StatusNotFound, Message: "There is no such export format: choose one on the exports page."}
	}
	f, err := os.CreateTemp("", "portiere-web-export-*")
	if err != nil {
		return fmt.Errorf("web: export: %w", err)
	}
	os.Remove(f.Name())
	defer f.Close()
	buf := bufio.NewWriterSize(f, 64<<10)
	err = mappingjob.Export(r.Context(), s.cfg.Review, buf, mappingjob.ExportRequest{
		ProjectID: project.ID, ProjectName: project.Name, Format: format, Date: s.cfg.Now(),
	})
	if err == nil {
		err = buf.Flush()
	}
	if errors.Is(err, export.ErrInvalidDecision) {
		return &pageError{Status: http.StatusUnprocessableEntity, Message: "This project's mappings do not fit the format: " + err.Error()}
	}
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("web: export: %w", err)
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, mappingjob.ExportFileName(project.Name, format)))
	w.Header().Set("Content-Length", fmt.Sprint(size))
	_, err = io.Copy(w, f)
	return err
}

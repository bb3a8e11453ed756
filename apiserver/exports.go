package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/export"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

// AcceptedReader walks a project's approved and overridden items;
// mappingjobstore.Store is one.
type AcceptedReader = mappingjob.AcceptedReader

// Exports is the export resource: GET /api/v1/projects/{id}/exports/{format}
// writes the project's approved and overridden mappings (never rejected,
// pending, awaiting a second reviewer or flagged ones) with package
// export's writers. Any member of the project's organization may export,
// viewers included.
type Exports struct {
	Projects ProjectFinder
	Items    AcceptedReader
	// Now stamps the export (SSSOM mapping_date, FHIR date); nil is
	// time.Now.
	Now func() time.Time
}

// Routes registers the export route on r's protected group.
func (h *Exports) Routes(r *Router) {
	formats := make([]string, 0, 4)
	for _, f := range export.Formats() {
		formats = append(formats, string(f))
	}
	file := func(ct string) openapi.Response {
		return openapi.Response{Description: "The export, as an attachment", ContentType: ct}
	}
	r.Group("/projects").Protected().Add(fiber.MethodGet, "/:id/exports/:format", openapi.Operation{
		Summary: "Export a project's approved mappings", Tags: []string{"exports"},
		Description: "`format` is one of " + strings.Join(formats, ", ") + ": the OMOP CDM v5.4 `source_to_concept_map` table as CSV " +
			"(valid_start_date 1970-01-01, valid_end_date 2099-12-31, invalid_reason empty), OHDSI Usagi's CSV, SSSOM TSV with its " +
			"metadata block (`skos:exactMatch`, `semapv:ManualMappingCuration`), or a FHIR R4 ConceptMap (JSON). Only approved and " +
			"overridden items are exported. `source_vocabulary_id` (1 to 20 characters) names the local code system; by default an " +
			"item's source when it is a short identifier, else LOCAL. The file name is in Content-Disposition.",
		Responses: map[int]openapi.Response{
			200: file("text/csv, text/tab-separated-values or application/fhir+json"),
			403: errResp("No read access"),
			404: errResp("No such project, or an unknown format (the detail names the formats)"),
			422: errResp("A value that does not fit the format (e.g. a source code over 50 characters for source_to_concept_map)"),
		},
	}, h.export)
}

func (h *Exports) export(c *fiber.Ctx) error {
	project, _, err := projectAccess(c, h.Projects, "id", tenancy.Principal.CanRead)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(c.Params("format"))
	if err != nil {
		return &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("unknown export format %q: want source_to_concept_map, usagi, sssom or fhir", c.Params("format"))}
	}
	vocabulary := c.Query("source_vocabulary_id")
	if c.Context().QueryArgs().Has("source_vocabulary_id") && !mappingjob.ValidSourceVocabulary(vocabulary) {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: "source_vocabulary_id must be 1 to 20 letters, digits, '_', '.' or '-'"}
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	// The document is written to an unlinked temporary file first, so that
	// a row the format cannot carry is a 422 rather than a truncated
	// download, while memory stays constant however large the project.
	f, err := os.CreateTemp("", "portiere-export-*")
	if err != nil {
		return fmt.Errorf("apiserver: export: %w", err)
	}
	os.Remove(f.Name())
	sent := false
	defer func() {
		if !sent {
			f.Close()
		}
	}()
	buf := bufio.NewWriterSize(f, 64<<10)
	err = mappingjob.Export(c.UserContext(), h.Items, buf, mappingjob.ExportRequest{
		ProjectID: project.ID, ProjectName: project.Name, Format: format, SourceVocabularyID: vocabulary, Date: now(),
	})
	if err == nil {
		err = buf.Flush()
	}
	if errors.Is(err, export.ErrInvalidDecision) {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: err.Error()}
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, format.ContentType())
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, mappingjob.ExportFileName(project.Name, format)))
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("apiserver: export: %w", err)
	}
	// fasthttp closes the file once the body is sent.
	sent = true
	return c.SendStream(f, int(size))
}

package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/export"
	"github.com/portiere/portiere/mappingjob"
)

// AcceptedReader walks a project's approved and overridden items;
// mappingjobstore.Store is one.
type AcceptedReader interface {
	Accepted(ctx context.Context, project string, fn func(mappingjob.Accepted) error) error
}

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

// shortID is a source name usable as a source vocabulary id as is.
var shortID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,20}$`)

func (h *Exports) export(c *fiber.Ctx) error {
	project, p, err := projectAccess(c, h.Projects, "id")
	if err != nil {
		return err
	}
	if !p.Operator {
		if err := p.CanRead(project.ID); err != nil {
			return err
		}
	}
	format, err := export.ParseFormat(c.Params("format"))
	if err != nil {
		return &Error{Status: fiber.StatusNotFound, Detail: fmt.Sprintf("unknown export format %q: want source_to_concept_map, usagi, sssom or fhir", c.Params("format"))}
	}
	vocabulary := c.Query("source_vocabulary_id")
	if c.Context().QueryArgs().Has("source_vocabulary_id") && !shortID.MatchString(vocabulary) {
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
	w, err := export.New(format, buf, export.Options{
		SetID: "urn:portiere:project:" + project.ID, Title: project.Name, Date: now().UTC(),
	})
	if err != nil {
		return err
	}
	err = h.Items.Accepted(c.UserContext(), project.ID, func(a mappingjob.Accepted) error {
		src := vocabulary
		if src == "" {
			src = "LOCAL"
			if shortID.MatchString(a.Source) {
				src = a.Source
			}
		}
		d := export.Decision{
			SourceVocabularyID: src, SourceCode: a.Code, SourceDescription: a.Description, SourceCount: a.SourceCount,
			TargetConceptID: int64(a.ConceptID), TargetConceptName: a.TargetName, TargetVocabularyID: a.TargetVocabulary,
			TargetConceptCode: a.ConceptCode, TargetDomainID: a.TargetDomain,
			Status: export.StatusApproved, Method: string(a.InferenceMethod), Confidence: min(max(a.Confidence, 0), 1),
			Reviewer: a.Reviewer,
		}
		if a.Review == mappingjob.ReviewOverridden {
			d.Status = export.StatusOverridden
		}
		if a.DecidedAt != nil {
			d.DecidedAt = *a.DecidedAt
		}
		return w.Write(d)
	})
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = buf.Flush()
	}
	if errors.Is(err, export.ErrInvalidDecision) {
		return &Error{Status: fiber.StatusUnprocessableEntity, Detail: err.Error()}
	}
	if err != nil {
		return err
	}
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(project.Name), "-"), "-")
	if name == "" {
		name = "project"
	}
	c.Set(fiber.HeaderContentType, format.ContentType())
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s%s"`, name, format, format.Extension()))
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

// nonName matches what a file name leaves out of a project's name.
var nonName = regexp.MustCompile(`[^a-z0-9_.-]+`)

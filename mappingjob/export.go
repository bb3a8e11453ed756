package mappingjob

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/portiere/portiere/export"
)

// AcceptedReader walks a project's approved and overridden items;
// mappingjobstore.Store is one.
type AcceptedReader interface {
	Accepted(ctx context.Context, project string, fn func(Accepted) error) error
}

// ExportRequest is one export of a project's accepted mappings.
type ExportRequest struct {
	ProjectID, ProjectName string
	Format                 export.Format
	// SourceVocabularyID names the local code system; "" takes each
	// item's source when it is a short identifier (ValidSourceVocabulary),
	// else LOCAL.
	SourceVocabularyID string
	// Date stamps the export (SSSOM mapping_date, FHIR date).
	Date time.Time
}

var shortID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,20}$`)

// ValidSourceVocabulary reports whether s may name a source vocabulary in
// an export: 1 to 20 letters, digits, '_', '.' or '-'.
func ValidSourceVocabulary(s string) bool { return shortID.MatchString(s) }

// Export writes the project's approved and overridden items (never
// rejected, pending, awaiting a second reviewer or flagged ones) to w in
// r.Format with package export's writers. A row the format cannot carry
// is an error wrapping export.ErrInvalidDecision; w may then hold part of
// the document, so callers that must not send half a file write to a
// buffer or temporary file first.
func Export(ctx context.Context, items AcceptedReader, w io.Writer, r ExportRequest) error {
	ew, err := export.New(r.Format, w, export.Options{
		SetID: "urn:portiere:project:" + r.ProjectID, Title: r.ProjectName, Date: r.Date.UTC(),
	})
	if err != nil {
		return err
	}
	err = items.Accepted(ctx, r.ProjectID, func(a Accepted) error {
		src := r.SourceVocabularyID
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
		if a.Review == ReviewOverridden {
			d.Status = export.StatusOverridden
		}
		if a.DecidedAt != nil {
			d.DecidedAt = *a.DecidedAt
		}
		return ew.Write(d)
	})
	if err != nil {
		return err
	}
	return ew.Close()
}

// nonName matches what a file name leaves out of a project's name.
var nonName = regexp.MustCompile(`[^a-z0-9_.-]+`)

// ExportFileName is the attachment name of a project's export in format
// f: the project's name reduced to a file name, the format and its
// extension.
func ExportFileName(projectName string, f export.Format) string {
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(projectName), "-"), "-")
	if name == "" {
		name = "project"
	}
	return name + "-" + string(f) + f.Extension()
}

package vocab

import (
	"context"
	"errors"
	"time"

	"github.com/portiere/portiere/vocab/athena"
)

// Errors returned by stores and the Importer.
var (
	// ErrImportRunning means another import holds the vocabulary; imports
	// run one at a time per database.
	ErrImportRunning = errors.New("vocab: another vocabulary import is running on this database")
	// ErrEmptyRelease means CONCEPT.csv held no rows; replacing the live
	// vocabulary with nothing is refused.
	ErrEmptyRelease = errors.New("vocab: the release holds no concepts; refusing to replace the vocabulary with an empty one")
	// ErrNotFound means no such import was recorded, or no such concept
	// is in the vocabulary.
	ErrNotFound = errors.New("vocab: not found")
)

// MaxListedTargets caps Diff.InvalidatedTargets; Diff.TargetsInvalidated
// keeps the full count.
const MaxListedTargets = 1000

// Source identifies the release being imported.
type Source struct {
	Path        string // the folder, or a label such as "embedded demo vocabulary"
	Fingerprint string // athena.Release.Fingerprint
}

// Report is the outcome of a successful import.
type Report struct {
	ImportID   int64
	Source     Source
	StartedAt  time.Time
	FinishedAt time.Time
	Tables     []TableCount
	Diff       Diff
	// PreviousFingerprint is the fingerprint of the release this one
	// replaced; "" when none was recorded.
	PreviousFingerprint string
}

// SameRelease reports whether the imported files are byte-identical to the
// ones of the release they replaced.
func (r Report) SameRelease() bool {
	return r.PreviousFingerprint != "" && r.PreviousFingerprint == r.Source.Fingerprint
}

// TableCount is the row count of one vocabulary table after the import.
type TableCount struct {
	Table    athena.Table
	File     string // "" when the release had no file for the table (the table is now empty)
	Rows     int64
	Previous int64 // rows the previous import loaded; -1 when unknown
}

// Diff compares the imported concepts with the ones they replaced.
type Diff struct {
	// FirstImport is set when the live vocabulary was empty: every concept
	// counts as added.
	FirstImport bool
	Added       int64 // concept_ids new in this release
	Removed     int64 // concept_ids no longer in the release
	Changed     int64 // concepts present in both with any column changed
	// Changes breaks Changed down; one concept may count in several.
	Changes ChangeCounts

	// TargetsInvalidated counts concepts that were valid standard concepts
	// (standard_concept 'S', no invalid_reason) and now are removed,
	// invalid or not standard: existing mappings to them need review.
	TargetsInvalidated int64
	// MappedTargetsInvalidated counts those of them that concept mapping
	// items point to, and MappingsAffected the items: the mappings this
	// release breaks.
	MappedTargetsInvalidated int64
	MappingsAffected         int64
	// InvalidatedTargets lists the first MaxListedTargets of them: the
	// most mapped first, then by concept_id.
	InvalidatedTargets []InvalidatedTarget
}

// ChangeCounts counts changed concepts per kind of change.
type ChangeCounts struct {
	Name     int64 // concept_name
	Domain   int64 // domain_id
	Class    int64 // concept_class_id
	Standard int64 // standard_concept
	Validity int64 // invalid_reason, valid_start_date or valid_end_date
	Code     int64 // vocabulary_id or concept_code
}

// InvalidatedTarget is a formerly valid standard concept and why it no
// longer is one.
type InvalidatedTarget struct {
	ConceptID int32
	Reason    TargetChange
	// MappedItems is the number of concept mapping items pointing to it.
	MappedItems int64
}

// TargetChange says what happened to a formerly valid standard concept.
type TargetChange string

// The ways a standard concept stops being a valid mapping target.
const (
	TargetRemoved     TargetChange = "removed"      // not in the new release
	TargetInvalid     TargetChange = "invalid"      // invalid_reason set (deprecated or upgraded)
	TargetNonStandard TargetChange = "non-standard" // still valid but standard_concept no longer 'S'
)

// Empty reports whether the release changed no concept.
func (d Diff) Empty() bool { return d.Added == 0 && d.Removed == 0 && d.Changed == 0 }

// Store keeps the vocabulary tables. Implementations are safe for
// concurrent use; Replace itself runs one at a time per database.
type Store interface {
	// Replace loads every table of rel into staging, validates it and swaps
	// it in for the live vocabulary in one transaction, calling p as it
	// goes. Bad input comes back as *athena.ParseError naming the file and
	// line; a concurrent import as ErrImportRunning; a release without
	// concepts as ErrEmptyRelease. On any error the live tables are
	// untouched.
	Replace(ctx context.Context, rel *athena.Release, src Source, p Progress) (Report, error)
	// HasConcepts reports whether the live concept table holds any row.
	HasConcepts(ctx context.Context) (bool, error)
	// LastImport returns the report of the latest successful import, or
	// ErrNotFound.
	LastImport(ctx context.Context) (Report, error)
}

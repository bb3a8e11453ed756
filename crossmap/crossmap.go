// Package crossmap keeps a project's cross-mapping runs: the records the
// Portiere SDK writes each time it maps one standard's entity to another's
// (OMOP CDM person → FHIR Patient, ...), which it pushes to and pulls from
// the server's sync routes. Cross-mapping is deterministic, so a run has no
// review; the package only stores what the SDK sends, without duplicates.
//
// A run is identified by (project, source standard, target standard,
// source entity, the run's own created_at): pushing the same runs again
// updates them instead of adding copies.
package crossmap

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; stores wrap them.
var (
	// ErrNotFound: the project does not exist.
	ErrNotFound = errors.New("crossmap: not found")
	// ErrConflict: a run changed since the revision the caller saw.
	ErrConflict = errors.New("crossmap: the run changed since it was read")
	// ErrInvalid: a run that cannot be stored.
	ErrInvalid = errors.New("crossmap: invalid run")
)

// Run is one cross-mapping execution, the SDK's CrossMappingRun. Empty
// TargetEntity and CrossmapFile, and a nil RunCreatedAt, stand for the
// SDK's null.
type Run struct {
	ID             int64 // assigned by the store
	SourceStandard string
	TargetStandard string
	SourceEntity   string
	TargetEntity   string
	RecordCount    int64
	Status         string // the SDK writes "completed" or "failed"
	CrossmapFile   string
	// RunCreatedAt is the SDK's created_at, an ISO string kept as text so
	// it round-trips unchanged.
	RunCreatedAt *string

	// Revision starts at 1 and grows with every change. On Push it is the
	// revision the caller last saw, 0 when it has none.
	Revision  int
	CreatedAt time.Time // when the server first stored the run
	UpdatedAt time.Time
}

// Validate checks what a store requires of a pushed run.
func (r Run) Validate() error {
	if r.RecordCount < 0 {
		return fmt.Errorf("%w: record_count %d is negative", ErrInvalid, r.RecordCount)
	}
	return nil
}

// PushResult tallies a push: runs created, changed, and sent unchanged.
// Runs are the stored runs, one per distinct pushed identity, in push
// order.
type PushResult struct {
	Created, Updated, Unchanged int
	Runs                        []Run
}

// Store keeps cross-mapping runs. Implementations are safe for concurrent
// use.
type Store interface {
	// Push writes runs for project in one transaction: a run with the
	// identity of a stored one replaces its fields (its revision grows)
	// when anything differs; an identity pushed twice in one call keeps
	// the last. A run whose non-zero Revision is not the stored one fails
	// the whole push with ErrConflict naming it; an invalid run with
	// ErrInvalid; an unknown project with ErrNotFound.
	Push(ctx context.Context, project string, runs []Run) (PushResult, error)
	// Runs returns project's runs in id order.
	Runs(ctx context.Context, project string) ([]Run, error)
}

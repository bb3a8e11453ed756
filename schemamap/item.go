package schemamap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the schema mapping items; stores wrap them.
var (
	// ErrNotFound: the item (or its project) does not exist. Stores
	// return a *NotFoundError for an unknown item.
	ErrNotFound = errors.New("schemamap: not found")
	// ErrConflict: the item changed since the revision the caller saw.
	ErrConflict = errors.New("schemamap: the item changed since it was read")
	// ErrInvalid: an item or decision that cannot be stored (an empty
	// source column, an unknown status, approving an item without target).
	ErrInvalid = errors.New("schemamap: invalid")
)

// NotFoundError is an unknown schema mapping item. Its message is the one
// the Portiere SDK's Review API documentation shows, and it matches
// ErrNotFound with errors.Is.
type NotFoundError struct {
	Project string
	ID      string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("Schema mapping %s not found in project %s", e.ID, e.Project)
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Status is an item's state, with the values of the SDK's MappingStatus.
type Status string

// The statuses. The suggester's confidence gives AutoAccepted (≥ 0.95),
// NeedsReview (≥ 0.70) or Unmapped; a reviewer's decision gives Approved,
// Rejected or Overridden.
const (
	StatusAutoAccepted Status = "auto_accepted"
	StatusNeedsReview  Status = "needs_review"
	StatusApproved     Status = "approved"
	StatusRejected     Status = "rejected"
	StatusOverridden   Status = "overridden"
	StatusUnmapped     Status = "unmapped"
)

// The SDK's default confidence thresholds (SchemaMappingThresholds).
const (
	AutoAcceptThreshold  = 0.95
	NeedsReviewThreshold = 0.70
)

// Valid reports whether s is one of the six statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusAutoAccepted, StatusNeedsReview, StatusApproved, StatusRejected, StatusOverridden, StatusUnmapped:
		return true
	}
	return false
}

// Decided reports whether s is a reviewer's decision.
func (s Status) Decided() bool {
	return s == StatusApproved || s == StatusRejected || s == StatusOverridden
}

// StatusFor is the status of a suggestion with confidence c, routed as the
// SDK routes it: ≥ 0.95 auto-accepted, ≥ 0.70 needs review, else unmapped.
func StatusFor(c float64) Status {
	switch {
	case c >= AutoAcceptThreshold:
		return StatusAutoAccepted
	case c >= NeedsReviewThreshold:
		return StatusNeedsReview
	}
	return StatusUnmapped
}

// Item is the mapping of one source column of a project to a CDM table and
// column, the SDK's SchemaMappingItem. It is keyed by (project,
// SourceTable, SourceColumn). Empty TargetTable, TargetColumn and override
// fields stand for the SDK's null.
type Item struct {
	ID           int64 // assigned by the store; the mapping_id of the review routes
	SourceTable  string
	SourceColumn string
	TargetTable  string
	TargetColumn string
	Confidence   float64
	Status       Status
	// Candidates are free-form JSON objects (the SDK's list[dict]), kept
	// verbatim.
	Candidates []json.RawMessage
	// A reviewer's target replacing the suggestion; the suggestion stays
	// in TargetTable and TargetColumn, as the SDK keeps it.
	OverrideTargetTable  string
	OverrideTargetColumn string

	// Revision starts at 1 and grows with every change. On Push it is the
	// revision the caller last saw, 0 when it has none.
	Revision  int
	DecidedBy string // who set the decided status: a user id, an API key id or "operator"
	DecidedAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// EffectiveTarget is the table and column the item maps to: the override
// when there is one, else the suggestion.
func (it Item) EffectiveTarget() (table, column string) {
	if it.OverrideTargetTable != "" {
		return it.OverrideTargetTable, it.OverrideTargetColumn
	}
	return it.TargetTable, it.TargetColumn
}

// Validate checks what a store requires of a pushed item.
func (it Item) Validate() error {
	if it.SourceColumn == "" {
		return fmt.Errorf("%w: source_column is empty", ErrInvalid)
	}
	if !it.Status.Valid() {
		return fmt.Errorf("%w: status %q (want auto_accepted, needs_review, approved, rejected, overridden or unmapped)", ErrInvalid, it.Status)
	}
	for i, c := range it.Candidates {
		var obj map[string]json.RawMessage
		if json.Unmarshal(c, &obj) != nil || obj == nil {
			return fmt.Errorf("%w: candidate %d of %s is not a JSON object", ErrInvalid, i+1, it.SourceColumn)
		}
	}
	return nil
}

// PushResult tallies a push: items created, changed, and sent unchanged.
// Items are the stored items, one per distinct pushed key, in push order.
type PushResult struct {
	Created, Updated, Unchanged int
	Items                       []Item
}

// Decision is a reviewer's decision on item ID: Approved (the current
// target stands), Rejected, or Overridden with TargetTable and
// TargetColumn. Revision, when not 0, is the revision the reviewer saw.
type Decision struct {
	ID           int64
	Status       Status
	TargetTable  string
	TargetColumn string
	Actor        string // a user id, an API key id or "operator"
	Comment      string
	Revision     int
}

// Store keeps a project's schema mapping items and their audit trail.
// Implementations are safe for concurrent use.
type Store interface {
	// Push writes items for project in one transaction: an item with the
	// key of a stored one replaces its fields (its revision grows) when
	// anything differs, and is left alone otherwise; a key pushed twice in
	// one call keeps the last. Every created or changed item gets a
	// review_events row ("sync", by actor). An item whose non-zero
	// Revision is not the stored one (or names an item that does not
	// exist) fails the whole push with ErrConflict naming it; an invalid
	// item with ErrInvalid.
	Push(ctx context.Context, project, actor string, items []Item) (PushResult, error)
	// Items returns project's items in id order.
	Items(ctx context.Context, project string) ([]Item, error)
	// Item returns one item of project, or a *NotFoundError.
	Item(ctx context.Context, project string, id int64) (Item, error)
	// Decide records d on project's item and its review_events row in one
	// transaction and returns the item as decided (revision + 1, decided
	// by d.Actor now). Errors: *NotFoundError, ErrConflict for a stale
	// d.Revision, ErrInvalid for a decision that does not fit the item.
	Decide(ctx context.Context, project string, d Decision) (Item, error)
}

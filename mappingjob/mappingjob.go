// Package mappingjob is the bulk mapping of a project's source codes: the
// codes a project brings, the mapping item proposed for each, and the
// storage both live in (PostgreSQL, in mappingjobstore).
//
// A mapping item is keyed by (project, source, source code), so writing the
// items of a chunk again — after a retried activity or a restarted worker —
// replaces them instead of adding duplicates.
package mappingjob

import (
	"context"
	"errors"
)

// ErrNotFound is returned when a project does not exist.
var ErrNotFound = errors.New("mappingjob: not found")

// SourceCode is one local code of a project to map. Vocabularies and
// Domains, when set, restrict its search.
type SourceCode struct {
	ID           int64 // assigned by the store; codes are read in ID order
	Source       string
	Code         string
	Description  string
	Vocabularies []string
	Domains      []string
}

// Status routes an item: accepted automatically, to be reviewed, or to be
// mapped by hand.
type Status string

// The statuses of an item (search.Route's values).
const (
	StatusAuto   Status = "auto"
	StatusReview Status = "review"
	StatusManual Status = "manual"
)

// Candidate is one proposed standard concept.
type Candidate struct {
	ConceptID    int32   `json:"concept_id"`
	ConceptName  string  `json:"concept_name"`
	VocabularyID string  `json:"vocabulary_id"`
	DomainID     string  `json:"domain_id"`
	Score        float64 `json:"score"`
}

// Provenance says what produced an item.
type Provenance struct {
	EngineVersion string `json:"engine_version"`
	IndexVersion  string `json:"index_version"`
	WorkflowID    string `json:"workflow_id"`
}

// Item is the mapping proposed for one source code. ConceptID is the rank-1
// candidate's, 0 when there is none; Error is set when the term could not
// be searched.
type Item struct {
	Source      string
	Code        string
	Description string
	ConceptID   int32
	Candidates  []Candidate
	Confidence  float64
	Status      Status
	Error       string
	Provenance  Provenance
}

// Counts tallies a project's items by status.
type Counts struct {
	Total  int64
	Auto   int64
	Review int64
	Manual int64
	Failed int64 // items with Error set (also counted as Manual)
}

// Store keeps source codes and mapping items. Implementations are safe for
// concurrent use.
type Store interface {
	// AddSourceCodes adds codes to project (replacing the description and
	// filters of codes already there) and returns how many it wrote.
	AddSourceCodes(ctx context.Context, project string, codes []SourceCode) (int, error)
	// CountSourceCodes counts project's codes.
	CountSourceCodes(ctx context.Context, project string) (int64, error)
	// SourceCodes returns up to limit of project's codes with ID > after,
	// in ID order.
	SourceCodes(ctx context.Context, project string, after int64, limit int) ([]SourceCode, error)
	// UpsertItems writes items for project, replacing existing ones with
	// the same source and code.
	UpsertItems(ctx context.Context, project string, items []Item) error
	// CountItems tallies project's items.
	CountItems(ctx context.Context, project string) (Counts, error)
}

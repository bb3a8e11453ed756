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
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors; stores wrap them.
var (
	// ErrNotFound: the project or the item does not exist.
	ErrNotFound = errors.New("mappingjob: not found")
	// ErrConflict: the item changed since the revision the caller saw.
	ErrConflict = errors.New("mappingjob: the item changed since it was read")
	// ErrInvalid: a decision that does not fit the item (an override
	// without a concept, an unknown decision).
	ErrInvalid = errors.New("mappingjob: invalid decision")
	// ErrSourceExists: the project already has a source with that name.
	ErrSourceExists = errors.New("mappingjob: source already exists")
)

// SourceCode is one local code of a project to map. Vocabularies and
// Domains, when set, restrict its search; the context fields (Specimen,
// Unit, DomainHint, Category) are what the source's row says beside the
// description, and the engine reads them as hints.
type SourceCode struct {
	ID           int64 // assigned by the store; codes are read in ID order
	SourceID     string
	Source       string // the source's name
	Code         string
	Description  string
	Vocabularies []string
	Domains      []string
	// Count is the code's occurrences in its source (0: unknown);
	// Column the header of the code column it came from.
	Count      int64
	Column     string
	Specimen   string
	Unit       string
	DomainHint string
	Category   string
}

// The kinds of Source.
const (
	// SourceUpload: a CSV uploaded to the server; its codes are stored.
	SourceUpload = "upload"
	// SourceRegistration: a file the SDK keeps client-side, registered by
	// name, path and format (Project.add_source); no codes are stored.
	SourceRegistration = "registration"
)

// SourceColumns names, per role, the header column an upload took each
// field from ("" for an absent optional column).
type SourceColumns struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Count       string `json:"count,omitempty"`
	Specimen    string `json:"specimen,omitempty"`
	Unit        string `json:"unit,omitempty"`
	DomainHint  string `json:"domain,omitempty"`
	Category    string `json:"category,omitempty"`
}

// Source is where a project's codes come from: an uploaded CSV (Kind
// SourceUpload, with its distinct codes and summed counts) or a
// registered client-side file (SourceRegistration, Path and Format only).
// Its Name is unique in the project and is the source of its codes and
// mapping items.
type Source struct {
	ID            string
	ProjectID     string
	Name          string
	Format        string // csv, parquet or json
	Kind          string
	Path          string
	Header        []string
	Columns       SourceColumns
	Delimiter     string
	Rows          int64 // data rows read
	DistinctCodes int64
	TotalCount    int64 // sum of the codes' counts
	CreatedBy     string
	CreatedAt     time.Time
}

// SourceStore keeps a project's sources. Implementations are safe for
// concurrent use.
type SourceStore interface {
	// CreateSource stores src with its codes in one transaction: either
	// the source and every code are written, or nothing is. A name the
	// project already has (as a source, or as the source of codes added
	// without one) is ErrSourceExists, an unknown project ErrNotFound.
	// ID and CreatedAt are assigned; codes get the source's id and name.
	CreateSource(ctx context.Context, src Source, codes []SourceCode) (Source, error)
	// Sources returns project's sources, oldest first.
	Sources(ctx context.Context, project string) ([]Source, error)
	// Source returns project's source id; a source of another project is
	// ErrNotFound.
	Source(ctx context.Context, project, id string) (Source, error)
}

// Method is how an item's mapping was established, with the values of the
// SDK's ConceptMappingMethod: the engine's routing (auto, review, manual)
// or a reviewer's override or "no valid mapping" (unmapped).
type Method string

// The methods of an item. Auto, Review and Manual are search.Route's
// values.
const (
	MethodAuto     Method = "auto"
	MethodReview   Method = "review"
	MethodManual   Method = "manual"
	MethodOverride Method = "override"
	MethodUnmapped Method = "unmapped"
	// MethodCrowd: the Portiere Mapper crowd decided the item by
	// consensus (package crowd); its provenance's "crowd" key says how.
	MethodCrowd Method = "crowd"
)

// ReviewStatus is a reviewer's decision on an item.
type ReviewStatus string

// The review decisions. Pending items are the engine's proposal.
// ReviewUnset is the SDK's null review_decision ("no decision recorded",
// its policy then trusts the method): an item pushed so is pending for
// review and every query, and reads back with Review ReviewUnset while it
// stays pending.
const (
	ReviewUnset      ReviewStatus = ""
	ReviewPending    ReviewStatus = "pending"
	ReviewApproved   ReviewStatus = "approved"
	ReviewRejected   ReviewStatus = "rejected"
	ReviewOverridden ReviewStatus = "overridden"
)

// Candidate is one proposed standard concept, in the shape of the SDK's
// ConceptCandidate (its JSON is stored as is, so a candidate pushed by the
// SDK round-trips every field). StandardConcept is "S", "C" or "" (never
// null: the SDK requires a string). Explanation is the engine's account of
// the match, kept verbatim.
type Candidate struct {
	ConceptID         int32           `json:"concept_id"`
	ConceptName       string          `json:"concept_name"`
	VocabularyID      string          `json:"vocabulary_id"`
	DomainID          string          `json:"domain_id"`
	ConceptClassID    string          `json:"concept_class_id"`
	StandardConcept   string          `json:"standard_concept"`
	Score             float64         `json:"score"`
	RRFScore          *float64        `json:"rrf_score"`
	CrossEncoderScore *float64        `json:"cross_encoder_score"`
	Explanation       json.RawMessage `json:"explanation,omitempty"`
}

// Provenance says what produced an item, free-form as the SDK's provenance
// dict is: the engine writes ProvenanceEngine and friends, a memory hit
// its source project and reviewer, an SDK push whatever it sent.
type Provenance map[string]any

// Well-known provenance keys written by the bulk mapping.
const (
	ProvenanceEngine   = "engine_version"
	ProvenanceIndex    = "index_version"
	ProvenanceWorkflow = "workflow_id"
)

// Item is the mapping of one source code. ConceptID is the target: the
// rank-1 candidate's as proposed, a reviewer's choice after a decision, 0
// when there is none. Error is set when the term could not be searched.
// Candidates are kept through review.
type Item struct {
	ID           int64 // assigned by the store; the mapping_id of the review routes
	Source       string
	Code         string
	Description  string
	SourceColumn string
	SourceCount  int64
	ConceptID    int32
	// The target's name, vocabulary and domain, kept with the item because
	// an override may name a concept outside the candidates.
	TargetName       string
	TargetVocabulary string
	TargetDomain     string
	Candidates       []Candidate
	Confidence       float64
	Method           Method
	// InferenceMethod is the method the engine chose, kept when a review
	// changes Method (the SDK's inference_method).
	InferenceMethod Method
	Error           string
	Provenance      Provenance

	// Review is the decision on the item; DecidedBy (a user id) and
	// DecidedAt are set with it. Revision starts at 1 and grows with every
	// change, proposal or decision.
	Review    ReviewStatus
	DecidedBy string
	DecidedAt *time.Time
	Revision  int

	// Under the second-reviewer rule: the first reviewer's vote while the
	// item awaits a second, different reviewer; the second's when it
	// disagreed, with Flagged set until a project admin resolves the item.
	FirstDecision  *Vote
	SecondDecision *Vote
	Flagged        bool
}

// Decision is a reviewer's decision on an item: the one with ItemID, or
// when that is 0 the one with Source and Code. Approve accepts the item's
// target (its rank-1 candidate when it has none); Override sets ConceptID;
// Reject clears the target (method unmapped). Revision, when not 0, is the
// one the reviewer saw: a store refuses the decision with ErrConflict when
// the item has changed since. Apply says how the second-reviewer rule
// weighs the decision.
type Decision struct {
	ItemID       int64
	Source, Code string
	Review       ReviewStatus // approved, rejected or overridden
	ConceptID    int32
	// The overriding concept's name, vocabulary and domain (the caller
	// resolves them from the vocabulary).
	ConceptName, VocabularyID, DomainID string
	// DecidedBy is the deciding user's id ("" for a system key or the
	// operator); Actor names whoever decided for the audit trail and the
	// second-reviewer rule (a user id, "key:<id>" or "operator").
	DecidedBy string
	Actor     string
	Comment   string
	Revision  int
	// SecondReview: the project's rule sends this decision to a second
	// reviewer (SecondReviewRule). Adjudication: the decider may settle a
	// flagged item (a project admin); it changes nothing on other items.
	SecondReview bool
	Adjudication bool
}

// Counts tallies a project's items by method.
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
	// CountSourceCodes counts project's codes, only source's when source
	// (a source id) is not empty.
	CountSourceCodes(ctx context.Context, project, source string) (int64, error)
	// SourceCodes returns up to limit of project's codes with ID > after,
	// in ID order; only source's when source (a source id) is not empty.
	SourceCodes(ctx context.Context, project, source string, after int64, limit int) ([]SourceCode, error)
	// UpsertItems writes items for project as pending proposals,
	// replacing pending ones with the same source and code (their revision
	// grows); items a reviewer has decided, or that await a second
	// reviewer or are flagged, are kept.
	UpsertItems(ctx context.Context, project string, items []Item) error
	// CountItems tallies project's items.
	CountItems(ctx context.Context, project string) (Counts, error)
	// Memory is the organization's memory of reviewed decisions, which
	// a bulk mapping consults before search.
	Memory
}

package export

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidDecision is returned by a Writer's Write for a decision that
// cannot be written: no source code, an unknown status or match, or an
// accepted decision without a target concept.
var ErrInvalidDecision = errors.New("export: invalid decision")

// ErrClosed is returned by Write and Close after Close.
var ErrClosed = errors.New("export: writer closed")

// Status is the review state of a decision.
type Status string

// The decision statuses.
const (
	// StatusUndecided covers everything not yet final: proposed by the
	// matcher, waiting for review or for a second reviewer, in disagreement.
	StatusUndecided Status = "undecided"
	// StatusApproved: a reviewer accepted the proposed target.
	StatusApproved Status = "approved"
	// StatusOverridden: a reviewer chose a different target.
	StatusOverridden Status = "overridden"
	// StatusRejected: a reviewer said the proposed target is wrong.
	StatusRejected Status = "rejected"
)

// Accepted reports whether the decision puts its target in use (approved or
// overridden).
func (s Status) Accepted() bool { return s == StatusApproved || s == StatusOverridden }

// Match says how the target concept's meaning relates to the source code's.
type Match string

// The match kinds. The zero value means MatchExact.
const (
	MatchExact Match = "exact"
	// MatchBroader: the target is broader than the source (the source maps
	// "up", e.g. a specific local test to a generic LOINC code).
	MatchBroader Match = "broader"
	// MatchNarrower: the target is narrower than the source.
	MatchNarrower Match = "narrower"
	// MatchInexact: related but neither equal, broader nor narrower.
	MatchInexact Match = "inexact"
)

// Decision is one mapping decision of a source code to an OMOP concept, as
// the export formats need it. A source code mapped to several concepts is
// several decisions; writers expect those to arrive one after another.
type Decision struct {
	// SourceVocabularyID names the local code system, e.g. the project's
	// source vocabulary ("HOSP_LAB"). It must fit source_to_concept_map's
	// varchar(20).
	SourceVocabularyID string
	SourceCode         string
	SourceDescription  string
	// SourceCount is how often the code occurs in the source data (Usagi's
	// sourceFrequency); 0 when unknown.
	SourceCount int64

	TargetConceptID    int64
	TargetConceptName  string
	TargetVocabularyID string
	// TargetConceptCode is the concept's code in its vocabulary (e.g. SNOMED
	// 44054006); FHIR needs it, the other formats use the concept id.
	TargetConceptCode string
	TargetDomainID    string

	Status Status
	Match  Match
	// Method is how the target was proposed ("lexical", "dense", "hybrid",
	// "memory", "manual", ...); it is carried as provenance.
	Method     string
	Confidence float64
	Reviewer   string
	DecidedAt  time.Time
	Comment    string
}

func (d *Decision) validate() error {
	if d.SourceCode == "" {
		return fmt.Errorf("%w: empty source code", ErrInvalidDecision)
	}
	switch d.Status {
	case StatusUndecided, StatusApproved, StatusOverridden, StatusRejected:
	default:
		return fmt.Errorf("%w: source code %q: unknown status %q", ErrInvalidDecision, d.SourceCode, d.Status)
	}
	switch d.Match {
	case "":
		d.Match = MatchExact
	case MatchExact, MatchBroader, MatchNarrower, MatchInexact:
	default:
		return fmt.Errorf("%w: source code %q: unknown match %q", ErrInvalidDecision, d.SourceCode, d.Match)
	}
	if d.Status.Accepted() && d.TargetConceptID <= 0 {
		return fmt.Errorf("%w: source code %q is %s without a target concept", ErrInvalidDecision, d.SourceCode, d.Status)
	}
	if d.Confidence < 0 || d.Confidence > 1 {
		return fmt.Errorf("%w: source code %q: confidence %v outside [0, 1]", ErrInvalidDecision, d.SourceCode, d.Confidence)
	}
	return nil
}

// Writer streams decisions in one format. Write may skip a decision the
// format does not carry (see the package documentation) and returns
// ErrInvalidDecision for a malformed one, leaving the output usable; other
// errors come from the underlying io.Writer. Close completes the document
// (an empty input gives a valid, empty document) and does not close the
// io.Writer. A Writer is not safe for concurrent use.
type Writer interface {
	Write(Decision) error
	Close() error
}

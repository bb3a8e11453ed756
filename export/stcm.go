package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// SourceToConceptMapColumns are the columns of the OMOP CDM v5.4
// SOURCE_TO_CONCEPT_MAP table, in the CDM's order.
var SourceToConceptMapColumns = []string{
	"source_code", "source_concept_id", "source_vocabulary_id", "source_code_description",
	"target_concept_id", "target_vocabulary_id", "valid_start_date", "valid_end_date", "invalid_reason",
}

// The CDM's column widths (varchar(n)); a longer value would fail to load.
const (
	maxSourceCode        = 50
	maxVocabularyID      = 20
	maxSourceDescription = 255
)

// SourceToConceptMapWriter writes the OMOP CDM v5.4 source_to_concept_map
// table as RFC 4180 CSV with a header row, ready for COPY or the CDM's
// loaders. Dates are YYYY-MM-DD. Create one with NewSourceToConceptMap.
type SourceToConceptMapWriter struct {
	csv        *csv.Writer
	start, end string
	header     bool
	closed     bool
}

// NewSourceToConceptMap returns a writer of the source_to_concept_map CSV.
// Only approved and overridden decisions are written, each with
// source_concept_id 0 (local codes are not OMOP concepts),
// valid_start_date / valid_end_date from opts (default 1970-01-01 and
// 2099-12-31) and an empty invalid_reason, meaning valid.
func NewSourceToConceptMap(w io.Writer, opts Options) *SourceToConceptMapWriter {
	start, end := opts.ValidStart, opts.ValidEnd
	if start.IsZero() {
		start = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if end.IsZero() {
		end = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	return &SourceToConceptMapWriter{csv: csv.NewWriter(w), start: start.Format(time.DateOnly), end: end.Format(time.DateOnly)}
}

// Write writes d if it is approved or overridden and skips it otherwise. It
// returns ErrInvalidDecision when a value does not fit the CDM column
// (source_code over 50 characters, a vocabulary id over 20 or missing);
// a description over 255 characters is cut, since it is informational.
func (s *SourceToConceptMapWriter) Write(d Decision) error {
	if s.closed {
		return ErrClosed
	}
	if err := d.validate(); err != nil {
		return err
	}
	if !d.Status.Accepted() {
		return nil
	}
	switch {
	case utf8.RuneCountInString(d.SourceCode) > maxSourceCode:
		return fmt.Errorf("%w: source code %q longer than %d characters", ErrInvalidDecision, d.SourceCode, maxSourceCode)
	case d.SourceVocabularyID == "" || utf8.RuneCountInString(d.SourceVocabularyID) > maxVocabularyID:
		return fmt.Errorf("%w: source code %q: source vocabulary id %q must be 1 to %d characters", ErrInvalidDecision, d.SourceCode, d.SourceVocabularyID, maxVocabularyID)
	case d.TargetVocabularyID == "" || utf8.RuneCountInString(d.TargetVocabularyID) > maxVocabularyID:
		return fmt.Errorf("%w: source code %q: target vocabulary id %q must be 1 to %d characters", ErrInvalidDecision, d.SourceCode, d.TargetVocabularyID, maxVocabularyID)
	}
	if err := s.writeHeader(); err != nil {
		return err
	}
	return s.csv.Write([]string{
		d.SourceCode, "0", d.SourceVocabularyID, truncateRunes(d.SourceDescription, maxSourceDescription),
		strconv.FormatInt(d.TargetConceptID, 10), d.TargetVocabularyID, s.start, s.end, "",
	})
}

// Close writes the header if no row was written and flushes.
func (s *SourceToConceptMapWriter) Close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if err := s.writeHeader(); err != nil {
		return err
	}
	s.csv.Flush()
	return s.csv.Error()
}

func (s *SourceToConceptMapWriter) writeHeader() error {
	if s.header {
		return nil
	}
	s.header = true
	return s.csv.Write(SourceToConceptMapColumns)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

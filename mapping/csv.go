package mapping

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// OutputHeader is the column order of `portiere map` output. External
// benchmarks read these files: keep it exactly.
var OutputHeader = []string{
	"source_code", "source_description", "rank", "concept_id", "concept_name",
	"vocabulary_id", "domain_id", "concept_class_id", "standard_concept",
	"score", "confidence", "status",
}

// InputError points at a bad line of the input file.
type InputError struct {
	Line int
	Msg  string
}

func (e *InputError) Error() string { return fmt.Sprintf("mapping: input line %d: %s", e.Line, e.Msg) }

// ReadSourceCSV reads source terms: a header naming source_code and
// source_description (any order, case-insensitive), optionally
// vocabulary_id and domain_id (comma- or semicolon-separated lists, per-row
// filters) and category, specimen and unit (the row's context: hints the
// engine weighs, never filters; an empty cell says nothing). Other columns
// are ignored. A UTF-8 byte-order mark is allowed. Any bad row stops the
// read with an *InputError naming its line.
func ReadSourceCSV(r io.Reader) ([]SourceTerm, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &InputError{Line: 1, Msg: "empty file: want a header with source_code,source_description"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		col[h] = i
	}
	code, okCode := col["source_code"]
	desc, okDesc := col["source_description"]
	if !okCode || !okDesc {
		return nil, &InputError{Line: 1, Msg: fmt.Sprintf("header %v must name source_code and source_description", header)}
	}
	vocab, hasVocab := col["vocabulary_id"]
	domain, hasDomain := col["domain_id"]
	category, hasCategory := col["category"]
	specimen, hasSpecimen := col["specimen"]
	unit, hasUnit := col["unit"]
	var out []SourceTerm
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &InputError{Line: line, Msg: fmt.Sprintf("%d columns, header has %d", len(rec), len(header))}
		}
		t := SourceTerm{Line: line, Code: strings.TrimSpace(rec[code]), Description: strings.TrimSpace(rec[desc])}
		if t.Code == "" && t.Description == "" {
			return nil, &InputError{Line: line, Msg: "both source_code and source_description are empty"}
		}
		if hasVocab {
			t.Vocabularies = splitList(rec[vocab])
		}
		if hasDomain {
			t.Domains = splitList(rec[domain])
		}
		if hasCategory {
			t.Context.Category = strings.TrimSpace(rec[category])
		}
		if hasSpecimen {
			t.Context.Specimen = strings.TrimSpace(rec[specimen])
		}
		if hasUnit {
			t.Context.Unit = strings.TrimSpace(rec[unit])
		}
		out = append(out, t)
	}
	return out, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("mapping: %w", err)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// WriteCandidatesCSV writes one row per candidate, ranks from 1. A term
// with no candidate still gets a row (rank 0, empty concept columns,
// status manual) so no input line silently disappears.
func WriteCandidatesCSV(w io.Writer, ms []Mapping) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(OutputHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for _, m := range ms {
		status := string(m.Status)
		if len(m.Candidates) == 0 {
			if err := cw.Write([]string{m.Term.Code, m.Term.Description, "0", "", "", "", "", "", "", "", f(0), "manual"}); err != nil {
				return err
			}
			continue
		}
		for i, c := range m.Candidates {
			rec := []string{
				m.Term.Code, m.Term.Description, strconv.Itoa(i + 1),
				strconv.Itoa(int(c.Concept.ID)), c.Concept.Name, c.Concept.Vocabulary, c.Concept.Domain,
				c.Concept.Class, c.Concept.Standard, f(c.Score), f(m.Confidence), status,
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

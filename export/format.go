package export

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrUnknownFormat is returned by ParseFormat and New for a format name this
// package does not write.
var ErrUnknownFormat = errors.New("export: unknown format")

// ErrOptions is returned by a constructor whose format needs an option that
// is missing or malformed (SSSOM and FHIR need Options.SetID).
var ErrOptions = errors.New("export: invalid options")

// Format names an export format, as it appears in the export URL.
type Format string

// The export formats.
const (
	FormatSourceToConceptMap Format = "source_to_concept_map"
	FormatUsagi              Format = "usagi"
	FormatSSSOM              Format = "sssom"
	FormatFHIR               Format = "fhir"
)

// Formats lists every format, in the order they are documented.
func Formats() []Format {
	return []Format{FormatSourceToConceptMap, FormatUsagi, FormatSSSOM, FormatFHIR}
}

// ParseFormat returns the Format named s, or ErrUnknownFormat.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q (want source_to_concept_map, usagi, sssom or fhir)", ErrUnknownFormat, s)
}

// ContentType is the media type of f's documents.
func (f Format) ContentType() string {
	switch f {
	case FormatSSSOM:
		return "text/tab-separated-values; charset=utf-8"
	case FormatFHIR:
		return "application/fhir+json; charset=utf-8"
	default:
		return "text/csv; charset=utf-8"
	}
}

// Extension is the usual file name extension of f's documents, with the dot.
func (f Format) Extension() string {
	switch f {
	case FormatSSSOM:
		return ".sssom.tsv"
	case FormatFHIR:
		return ".json"
	default:
		return ".csv"
	}
}

// Options describe the mapping set being exported. Only SetID is required,
// and only by SSSOM and FHIR.
type Options struct {
	// SetID is an absolute URI identifying this mapping set: SSSOM's
	// mapping_set_id and the FHIR ConceptMap's url. A stable address of the
	// project's export works well.
	SetID string
	// Title is a human-readable name (SSSOM mapping_set_title, FHIR title
	// and, reduced to letters and digits, FHIR name).
	Title string
	// Version is the mapping set's version (SSSOM mapping_set_version, FHIR
	// version).
	Version string
	// License is the URI of the licence the mappings are published under
	// (SSSOM requires one). Empty means SSSOM's
	// https://w3id.org/sssom/license/all-rights-reserved.
	License string
	// Publisher names the organization publishing the mappings (SSSOM
	// creator_label, FHIR publisher).
	Publisher string
	// Date is when the set was produced (SSSOM mapping_date of the set,
	// FHIR date); zero leaves it out.
	Date time.Time
	// SourceNamespace is the URI prefix under which source codes are given
	// identifiers: SSSOM subject ids expand to SourceNamespace +
	// vocabulary + "/" + code, and a FHIR group's source system is
	// SourceNamespace + vocabulary. Empty means DefaultSourceNamespace.
	SourceNamespace string
	// ValidStart and ValidEnd fill source_to_concept_map's
	// valid_start_date and valid_end_date; zero means 1970-01-01 and
	// 2099-12-31, the values Usagi writes.
	ValidStart, ValidEnd time.Time
	// IncludeUndecided adds undecided decisions that have a target to the
	// SSSOM output, justified by their Method (semapv:LexicalMatching, ...),
	// for sharing candidates with reviewers outside Portiere. Other formats
	// ignore it.
	IncludeUndecided bool
}

// DefaultSourceNamespace is the URI prefix of source-code identifiers when
// Options.SourceNamespace is empty.
const DefaultSourceNamespace = "urn:portiere:source:"

func (o Options) sourceNamespace() string {
	if o.SourceNamespace != "" {
		return o.SourceNamespace
	}
	return DefaultSourceNamespace
}

// New returns the Writer for format f writing to w. It returns
// ErrUnknownFormat for an unknown format and ErrOptions when f needs an
// option that is missing.
func New(f Format, w io.Writer, opts Options) (Writer, error) {
	switch f {
	case FormatSourceToConceptMap:
		return NewSourceToConceptMap(w, opts), nil
	case FormatUsagi:
		return NewUsagi(w), nil
	case FormatSSSOM:
		return NewSSSOM(w, opts)
	case FormatFHIR:
		return NewFHIRConceptMap(w, opts)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, f)
}

package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// OMOPConceptSystem is the FHIR code system of OMOP concept ids, the one
// OHDSI's FHIR terminology service uses. A target whose vocabulary has no
// FHIR system of its own (see FHIRSystem), or no concept code, is written as
// its concept id in this system.
const OMOPConceptSystem = "https://fhir-terminology.ohdsi.org"

// fhirSystems maps OMOP vocabulary ids to the canonical FHIR code system
// URLs (HL7 terminology, the same table as the Portiere SDK's
// models/fhir_systems.py).
var fhirSystems = map[string]string{
	"SNOMED":  "http://snomed.info/sct",
	"LOINC":   "http://loinc.org",
	"RxNorm":  "http://www.nlm.nih.gov/research/umls/rxnorm",
	"ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
	"ICD10":   "http://hl7.org/fhir/sid/icd-10",
	"ICD9CM":  "http://hl7.org/fhir/sid/icd-9-cm",
	"CPT4":    "http://www.ama-assn.org/go/cpt",
	"HCPCS":   "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
	"NDC":     "http://hl7.org/fhir/sid/ndc",
	"ATC":     "http://www.whocc.no/atc",
	"CVX":     "http://hl7.org/fhir/sid/cvx",
	"UCUM":    "http://unitsofmeasure.org",
}

// FHIRSystem returns the FHIR code system URL of an OMOP vocabulary id and
// whether there is one.
func FHIRSystem(vocabularyID string) (string, bool) {
	s, ok := fhirSystems[vocabularyID]
	return s, ok
}

// FHIRConceptMapWriter writes a FHIR R4 ConceptMap resource as JSON. Create
// one with NewFHIRConceptMap.
type FHIRConceptMapWriter struct {
	w      *bufio.Writer
	opts   Options
	state  int // 0 nothing written, 1 inside group, 2 inside element
	group  [2]string
	elem   [2]string // code, display of the open element
	closed bool
}

type fhirTarget struct {
	Code        string `json:"code"`
	Display     string `json:"display,omitempty"`
	Equivalence string `json:"equivalence"`
	Comment     string `json:"comment,omitempty"`
}

// NewFHIRConceptMap returns a writer of one FHIR R4 ConceptMap (status
// "active", url opts.SetID, version, name derived from the title, title,
// date, publisher). It returns ErrOptions if opts.SetID is not an absolute
// URI.
//
// Only approved and overridden decisions are written. Each (source
// vocabulary, target code system) pair is a group: source system
// opts.SourceNamespace + vocabulary, target system from FHIRSystem (or
// OMOPConceptSystem). Consecutive decisions for one source code form one
// element with several targets. Match gives the equivalence: equivalent,
// wider, narrower or inexact; as FHIR's invariant cmd-1 requires, a
// narrower or inexact target always carries a comment. Input ordered by
// source vocabulary and target vocabulary gives one group per pair; other
// orders are still valid FHIR, with repeated groups.
func NewFHIRConceptMap(w io.Writer, opts Options) (*FHIRConceptMapWriter, error) {
	if !absoluteURI(opts.SetID) {
		return nil, fmt.Errorf("%w: FHIR ConceptMap needs SetID as an absolute URI, got %q", ErrOptions, opts.SetID)
	}
	return &FHIRConceptMapWriter{w: bufio.NewWriter(w), opts: opts}, nil
}

// Write adds d to the ConceptMap if it is approved or overridden.
func (f *FHIRConceptMapWriter) Write(d Decision) error {
	if f.closed {
		return ErrClosed
	}
	if err := d.validate(); err != nil {
		return err
	}
	if !d.Status.Accepted() {
		return nil
	}
	if f.state == 0 {
		if err := f.open(); err != nil {
			return err
		}
	}
	target := fhirTarget{Display: d.TargetConceptName, Equivalence: fhirEquivalence[d.Match], Comment: d.Comment}
	system, ok := FHIRSystem(d.TargetVocabularyID)
	if ok && d.TargetConceptCode != "" {
		target.Code = d.TargetConceptCode
	} else {
		system, target.Code = OMOPConceptSystem, strconv.FormatInt(d.TargetConceptID, 10)
	}
	if target.Comment == "" && (d.Match == MatchNarrower || d.Match == MatchInexact) {
		target.Comment = fmt.Sprintf("The target is %s than the source code", map[Match]string{MatchNarrower: "narrower", MatchInexact: "a less exact match"}[d.Match])
		if d.Reviewer != "" {
			target.Comment += "; reviewed by " + d.Reviewer
		}
		target.Comment += "."
	}
	group := [2]string{f.opts.sourceNamespace() + url.PathEscape(d.SourceVocabularyID), system}
	elem := [2]string{d.SourceCode, d.SourceDescription}

	switch {
	case f.state == 2 && group == f.group && elem == f.elem:
		f.w.WriteString(",")
		return f.writeJSON(target)
	case f.state == 2 && group == f.group:
		f.w.WriteString("]},")
	default:
		switch f.state {
		case 1:
			// FHIR forbids empty arrays: "group" appears with its first group.
			f.w.WriteString(`,"group":[`)
		case 2:
			f.w.WriteString("]}]},")
		}
		f.group = group
		f.w.WriteString(`{"source":`)
		f.writeJSON(group[0])
		f.w.WriteString(`,"target":`)
		f.writeJSON(group[1])
		f.w.WriteString(`,"element":[`)
	}
	f.state, f.elem = 2, elem
	f.w.WriteString(`{"code":`)
	f.writeJSON(d.SourceCode)
	if d.SourceDescription != "" {
		f.w.WriteString(`,"display":`)
		f.writeJSON(d.SourceDescription)
	}
	f.w.WriteString(`,"target":[`)
	return f.writeJSON(target)
}

// Close completes the ConceptMap (one without any group when no decision was
// written) and flushes.
func (f *FHIRConceptMapWriter) Close() error {
	if f.closed {
		return ErrClosed
	}
	f.closed = true
	if f.state == 0 {
		if err := f.open(); err != nil {
			return err
		}
	}
	if f.state == 2 {
		f.w.WriteString("]}]}]")
	}
	f.w.WriteString("}\n")
	return f.w.Flush()
}

var fhirEquivalence = map[Match]string{
	MatchExact: "equivalent", MatchBroader: "wider", MatchNarrower: "narrower", MatchInexact: "inexact",
}

// open writes the resource's header, leaving its object open.
func (f *FHIRConceptMapWriter) open() error {
	head := struct {
		ResourceType string `json:"resourceType"`
		URL          string `json:"url"`
		Version      string `json:"version,omitempty"`
		Name         string `json:"name,omitempty"`
		Title        string `json:"title,omitempty"`
		Status       string `json:"status"`
		Date         string `json:"date,omitempty"`
		Publisher    string `json:"publisher,omitempty"`
	}{ResourceType: "ConceptMap", URL: f.opts.SetID, Version: f.opts.Version, Name: fhirName(f.opts.Title),
		Title: f.opts.Title, Status: "active", Publisher: f.opts.Publisher}
	if !f.opts.Date.IsZero() {
		head.Date = f.opts.Date.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(head)
	if err != nil {
		return fmt.Errorf("export: fhir header: %w", err)
	}
	f.w.Write(b[:len(b)-1])
	f.state = 1
	return nil
}

func (f *FHIRConceptMapWriter) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("export: fhir: %w", err)
	}
	_, err = f.w.Write(b)
	return err
}

// fhirName turns a title into a FHIR computable name (invariant cmd-0:
// [A-Z]([A-Za-z0-9_]){0,254}): letters and digits of each word, capitalised
// and joined. It returns "" when nothing usable is left.
func fhirName(title string) string {
	var b strings.Builder
	for _, word := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)))
	}) {
		b.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	name := b.String()
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return ""
	}
	if len(name) > 255 {
		name = name[:255]
	}
	return name
}

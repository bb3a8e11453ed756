package export

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var decided = time.Date(2026, 11, 30, 14, 5, 0, 0, time.UTC)

// sample is a realistic review outcome with the awkward characters a
// hospital's term list contains.
func sample() []Decision {
	return []Decision{
		{SourceVocabularyID: "HOSP_DX", SourceCode: "E11.9", SourceDescription: "Type 2 diabetes, \"no complications\"",
			SourceCount: 120, TargetConceptID: 201826, TargetConceptName: "Type 2 diabetes mellitus",
			TargetVocabularyID: "SNOMED", TargetConceptCode: "44054006", TargetDomainID: "Condition",
			Status: StatusApproved, Method: "hybrid", Confidence: 0.97, Reviewer: "ana@example.org", DecidedAt: decided},
		// One source code mapped to two concepts (a lab test and its unit
		// context): two consecutive decisions.
		{SourceVocabularyID: "HOSP_LAB", SourceCode: "K+ (ER-IS)", SourceDescription: "Potassium,\tserum\nemergency lab",
			TargetConceptID: 3023103, TargetConceptName: "Potassium serum/plasma", TargetVocabularyID: "LOINC",
			TargetConceptCode: "2823-3", TargetDomainID: "Measurement", Status: StatusOverridden, Match: MatchBroader,
			Method: "lexical", Confidence: 0.64, Reviewer: "Zoë Müller", DecidedAt: decided, Comment: "local test, \\ generic LOINC"},
		{SourceVocabularyID: "HOSP_LAB", SourceCode: "K+ (ER-IS)", SourceDescription: "Potassium,\tserum\nemergency lab",
			TargetConceptID: 8753, TargetConceptName: "millimole per liter", TargetVocabularyID: "UCUM",
			TargetConceptCode: "mmol/L", TargetDomainID: "Unit", Status: StatusOverridden, Match: MatchNarrower,
			Method: "lexical", Confidence: 0.64, Reviewer: "Zoë Müller", DecidedAt: decided},
		{SourceVocabularyID: "HOSP_DX", SourceCode: "Z87.891", SourceDescription: "Hx of nicotine dependence",
			TargetConceptID: 4058137, TargetConceptName: "Tobacco user", TargetVocabularyID: "SNOMED",
			Status: StatusRejected, Method: "dense", Confidence: 0.55, Reviewer: "ana@example.org", DecidedAt: decided, Comment: "wrong: history"},
		{SourceVocabularyID: "HOSP_DX", SourceCode: "R51", SourceDescription: "頭痛 (headache)",
			TargetConceptID: 378253, TargetConceptName: "Headache", TargetVocabularyID: "SNOMED", TargetConceptCode: "25064002",
			Status: StatusUndecided, Method: "lexical", Confidence: 0.81},
		{SourceVocabularyID: "HOSP_DX", SourceCode: "X99", SourceDescription: "unmatched local code", Status: StatusUndecided},
		// A vocabulary with no FHIR system of its own, accepted as an
		// inexact match.
		{SourceVocabularyID: "HOSP_RX", SourceCode: "PARA500", SourceDescription: "Paracétamol 500 mg cp",
			TargetConceptID: 19020053, TargetConceptName: "acetaminophen 500 MG Oral Tablet", TargetVocabularyID: "RxNorm Extension",
			TargetConceptCode: "OMOP123", Status: StatusApproved, Match: MatchInexact, Method: "memory", Confidence: 0.9,
			Reviewer: "ana@example.org", DecidedAt: decided},
	}
}

func writeAll(t *testing.T, w Writer, ds []Decision) {
	t.Helper()
	for _, d := range ds {
		if err := w.Write(d); err != nil {
			t.Fatalf("Write(%s): %v", d.SourceCode, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	if err := w.Write(Decision{SourceCode: "A", Status: StatusUndecided}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

func TestInvalidDecisionsAreRefusedByEveryFormat(t *testing.T) {
	bad := []Decision{
		{SourceVocabularyID: "V", Status: StatusApproved, TargetConceptID: 1},                  // no code
		{SourceVocabularyID: "V", SourceCode: "A", Status: "maybe"},                            // unknown status
		{SourceVocabularyID: "V", SourceCode: "A", Status: StatusApproved},                     // accepted without target
		{SourceVocabularyID: "V", SourceCode: "A", Status: StatusUndecided, Match: "sideways"}, // unknown match
		{SourceVocabularyID: "V", SourceCode: "A", Status: StatusUndecided, Confidence: 1.5},   // confidence out of range
	}
	for _, f := range Formats() {
		w, err := New(f, &bytes.Buffer{}, Options{SetID: "https://example.org/map"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range bad {
			if err := w.Write(d); !errors.Is(err, ErrInvalidDecision) {
				t.Errorf("%s: Write(%+v) = %v, want ErrInvalidDecision", f, d, err)
			}
		}
	}
}

func TestFormats(t *testing.T) {
	for _, f := range Formats() {
		g, err := ParseFormat(string(f))
		if err != nil || g != f {
			t.Fatalf("ParseFormat(%q) = %q, %v", f, g, err)
		}
		if f.ContentType() == "" || f.Extension() == "" {
			t.Fatalf("%s: no content type or extension", f)
		}
	}
	if _, err := ParseFormat("xlsx"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("ParseFormat(xlsx) = %v", err)
	}
	if _, err := New(FormatSSSOM, &bytes.Buffer{}, Options{SetID: "not a uri"}); !errors.Is(err, ErrOptions) {
		t.Fatalf("SSSOM without SetID: %v", err)
	}
	if _, err := New(FormatFHIR, &bytes.Buffer{}, Options{}); !errors.Is(err, ErrOptions) {
		t.Fatalf("FHIR without SetID: %v", err)
	}
}

package mapping

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/portiere/portiere/search"
)

func TestReadSourceCSV(t *testing.T) {
	in := "\ufeffsource_description,SOURCE_CODE,vocabulary_id\n" +
		"\"Hemodialysis, chronic\",L1,\"SNOMED;ICD10CM\"\n" +
		"paracetamol 500mg,L2,\n"
	terms, err := ReadSourceCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 2 || terms[0].Code != "L1" || terms[0].Description != "Hemodialysis, chronic" ||
		strings.Join(terms[0].Vocabularies, "|") != "SNOMED|ICD10CM" || terms[1].Vocabularies != nil || terms[1].Line != 3 {
		t.Fatalf("%+v", terms)
	}
}

func TestReadSourceCSVNamesTheBadLine(t *testing.T) {
	cases := map[string]struct {
		in   string
		line int
	}{
		"missing column":    {"source_code\nA\n", 1},
		"wrong field count": {"source_code,source_description\nA,alpha\nB,beta,extra\n", 3},
		"empty row":         {"source_code,source_description\nA,alpha\n,\n", 3},
		"bad quoting":       {"source_code,source_description\nA,alpha\nB,\"unterminated\n", 3},
		"empty file":        {"", 1},
	}
	for name, tc := range cases {
		_, err := ReadSourceCSV(strings.NewReader(tc.in))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Line != tc.line {
			t.Errorf("%s: got %v, want an error at line %d", name, err, tc.line)
		}
	}
}

func TestMapAndWriteKeepEveryTerm(t *testing.T) {
	b := search.NewCorpusBuilder()
	b.AddConcept(search.Concept{ID: 4120120, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"})
	b.AddConcept(search.Concept{ID: 4324124, Name: "Peritoneal dialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "71192002"})
	e := search.NewEngine(b.Build(), search.Options{})
	terms := []SourceTerm{
		{Line: 2, Code: "A", Description: "haemodialysis"},
		{Line: 3, Code: "B", Description: "zzzz qqqq"}, // nothing matches
		{Line: 4, Code: "C", Description: "dialysis", Vocabularies: []string{"NOPE"}},
	}
	ms := Map(context.Background(), e, terms, Options{TopK: 5})
	if ms[0].Candidates[0].Concept.ID != 4120120 || ms[1].Candidates != nil || ms[2].Err == nil {
		t.Fatalf("%+v", ms)
	}
	var out bytes.Buffer
	if err := WriteCandidatesCSV(&out, ms); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "source_code,source_description,rank,concept_id,concept_name,vocabulary_id,domain_id,concept_class_id,standard_concept,score,confidence,status" {
		t.Fatalf("header %v", rows[0])
	}
	codes := map[string]int{}
	for _, r := range rows[1:] {
		codes[r[0]]++
	}
	if codes["A"] != 1 || codes["B"] != 1 || codes["C"] != 1 {
		t.Fatalf("rows per term: %v\n%v", codes, rows)
	}
	if rows[1][2] != "1" || rows[1][3] != "4120120" || rows[1][11] == "" {
		t.Errorf("first row %v", rows[1])
	}
}

// TestContextColumnsReachTheEngine reads the optional category, specimen
// and unit columns and checks that they change what the engine proposes
// (with a drug category "Potassium" is a potassium salt; with a lab
// category, a specimen or a result unit it is the test on that specimen)
// while the output keeps its columns exactly.
func TestContextColumnsReachTheEngine(t *testing.T) {
	in := "source_code,source_description,Category,specimen,unit,comment\n" +
		"K1,Potassium,,,,bare\n" +
		"K2,Potassium,Chemistry,,mmol/L,lab category\n" +
		"K3,Potassium,, urine ,,specimen column\n" +
		"K4,Potassium,Medication,,,drug category\n"
	terms, err := ReadSourceCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	wantCtx := []search.Context{{}, {Category: "Chemistry", Unit: "mmol/L"}, {Specimen: "urine"}, {Category: "Medication"}}
	for i, w := range wantCtx {
		if terms[i].Context != w {
			t.Fatalf("term %d context %+v, want %+v", i, terms[i].Context, w)
		}
	}

	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 19049105, Name: "potassium chloride", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "8591"},
		{ID: 976545, Name: "potassium citrate", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "8598"},
		{ID: 3023103, Name: "Potassium [Moles/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2823-3"},
		{ID: 3005456, Name: "Potassium [Moles/volume] in Urine", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2828-2"},
		{ID: 3024380, Name: "Potassium [Mass/volume] in Urine", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2829-0"},
		{ID: 4140312, Name: "Sodium", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "9853"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	e := search.NewEngine(b.Build(), search.Options{})
	ms := Map(context.Background(), e, terms, Options{TopK: 3})
	top := func(i int) int32 { return ms[i].Candidates[0].Concept.ID }
	if d := ms[3].Candidates[0].Concept.Domain; d != "Drug" {
		t.Errorf("Potassium in Medication: got %s, want a drug", ms[3].Candidates[0].Concept.Name)
	}
	if top(1) != 3023103 {
		t.Errorf("Potassium in Chemistry with mmol/L: got %s, want the serum test", ms[1].Candidates[0].Concept.Name)
	}
	if top(2) != 3005456 && top(2) != 3024380 {
		t.Errorf("Potassium with specimen urine: got %s, want a urine test", ms[2].Candidates[0].Concept.Name)
	}

	var out bytes.Buffer
	if err := WriteCandidatesCSV(&out, ms); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(OutputHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	for _, r := range rows {
		if len(r) != len(OutputHeader) {
			t.Fatalf("row %v has %d columns, want %d", r, len(r), len(OutputHeader))
		}
	}
}

package export

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/schemamap"
)

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 0
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180 CSV: %v\n%s", err, b)
	}
	return recs
}

// TestSourceToConceptMapAgainstCDM checks the output against the CDM v5.4
// field list shipped in schemamap: column names and order, required
// columns filled, integers, dates and varchar widths.
func TestSourceToConceptMapAgainstCDM(t *testing.T) {
	m, err := schemamap.LoadCDM54()
	if err != nil {
		t.Fatal(err)
	}
	table, ok := m.Table("source_to_concept_map")
	if !ok {
		t.Fatal("CDM has no source_to_concept_map")
	}
	var buf bytes.Buffer
	writeAll(t, NewSourceToConceptMap(&buf, Options{}), sample())
	recs := readCSV(t, buf.Bytes())

	var cdmCols []string
	for _, f := range table.Fields {
		cdmCols = append(cdmCols, f.Column)
	}
	if !reflect.DeepEqual(recs[0], cdmCols) {
		t.Fatalf("header %v, CDM v5.4 has %v", recs[0], cdmCols)
	}
	rows := recs[1:]
	// Approved E11.9, the two overridden K+ rows and approved PARA500;
	// never the rejected Z87.891 nor the undecided R51 / X99.
	var codes []string
	for _, r := range rows {
		codes = append(codes, r[0]+"→"+r[4])
	}
	want := []string{"E11.9→201826", "K+ (ER-IS)→3023103", "K+ (ER-IS)→8753", "PARA500→19020053"}
	if !reflect.DeepEqual(codes, want) {
		t.Fatalf("rows %v, want %v", codes, want)
	}
	for _, r := range rows {
		for i, f := range table.Fields {
			v := r[i]
			if f.Required && v == "" {
				t.Errorf("%s: required %s empty", r[0], f.Column)
			}
			switch {
			case f.Datatype == "integer":
				if _, err := strconv.ParseInt(v, 10, 32); err != nil {
					t.Errorf("%s: %s=%q is not an integer", r[0], f.Column, v)
				}
			case f.Datatype == "date":
				if _, err := time.Parse(time.DateOnly, v); err != nil {
					t.Errorf("%s: %s=%q is not a date", r[0], f.Column, v)
				}
			case strings.HasPrefix(f.Datatype, "varchar("):
				n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f.Datatype, "varchar("), ")"))
				if len([]rune(v)) > n {
					t.Errorf("%s: %s longer than %s", r[0], f.Column, f.Datatype)
				}
			}
		}
		if r[6] != "1970-01-01" || r[7] != "2099-12-31" || r[8] != "" || r[1] != "0" {
			t.Errorf("%s: validity columns %v", r[0], r[1:])
		}
	}
	// Quotes, commas, tabs and line breaks survive the round trip.
	if rows[1][3] != "Potassium,\tserum\nemergency lab" || rows[0][3] != `Type 2 diabetes, "no complications"` {
		t.Fatalf("descriptions changed: %q / %q", rows[0][3], rows[1][3])
	}
	if rows[3][5] != "RxNorm Extension" || rows[3][2] != "HOSP_RX" {
		t.Fatalf("vocabulary columns %v", rows[3])
	}
}

func TestSourceToConceptMapValidityAndLimits(t *testing.T) {
	var buf bytes.Buffer
	w := NewSourceToConceptMap(&buf, Options{ValidStart: decided, ValidEnd: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	long := sample()[0]
	long.SourceDescription = strings.Repeat("é", 300)
	if err := w.Write(long); err != nil {
		t.Fatal(err)
	}
	tooLong := sample()[0]
	tooLong.SourceCode = strings.Repeat("x", 51)
	if err := w.Write(tooLong); !errors.Is(err, ErrInvalidDecision) {
		t.Fatalf("51-character code: %v", err)
	}
	noVocab := sample()[0]
	noVocab.SourceVocabularyID = ""
	if err := w.Write(noVocab); !errors.Is(err, ErrInvalidDecision) {
		t.Fatalf("no source vocabulary: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, buf.Bytes())
	if len(recs) != 2 || len([]rune(recs[1][3])) != 255 || recs[1][6] != "2026-11-30" || recs[1][7] != "2030-01-01" {
		t.Fatalf("got %q", recs)
	}
}

func TestSourceToConceptMapEmpty(t *testing.T) {
	var buf bytes.Buffer
	writeAll(t, NewSourceToConceptMap(&buf, Options{}), nil)
	recs := readCSV(t, buf.Bytes())
	if len(recs) != 1 || !reflect.DeepEqual(recs[0], SourceToConceptMapColumns) {
		t.Fatalf("empty export: %q", recs)
	}
}

package athena_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/portiere/portiere/vocab/athena"
)

// conceptSeeds are CONCEPT.csv files in both flavours, copied from
// testdata/demo-vocab and the CDM-export shape, plus the malformed shapes the
// reader must refuse by line.
var conceptSeeds = []string{
	conceptHeader +
		"262\tEmergency Room and Inpatient Visit\tVisit\tVisit\tVisit\tS\tERIP\t19700101\t20991231\t\n" +
		"8479\tcentipoise\tUnit\tUCUM\tUnit\tS\tcP\t19700101\t20991231\t\n",
	"\ufeff" + conceptHeader + "45561951\tType 2 diabetes mellitus with \"mild\" nonproliferative retinopathy\tCondition\tICD10CM\t5-char billing code\t\tE11.32\t20161001\t20991231\t\n",
	"concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\r\n" +
		"3004410,\"Hemoglobin A1c/Hemoglobin.total in Blood\",Measurement,LOINC,Lab Test,S,4548-4,1970-01-01,2099-12-31,\r\n" +
		"1503297,\"metformin, \"\"oral\"\"\nline two\",Drug,RxNorm,Ingredient,S,6809,1970-01-01 00:00:00,2099-12-31T00:00:00,\r\n",
	"CONCEPT_ID\tCONCEPT_NAME\tDOMAIN_ID\tVOCABULARY_ID\tCONCEPT_CLASS_ID\tCONCEPT_CODE\tVALID_START_DATE\tVALID_END_DATE\n1\tx\tD\tV\tC\tc\t20000229\t20991231\n",
	conceptHeader + "2147483648\tToo big\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t\n",
	conceptHeader + "1\t\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t\n",
	conceptHeader + "1\tx\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700230\t20991231\t\n",
	conceptHeader + "1\tcaf\xe9\tCondition\tSNOMED\tClinical Finding\tS\t1\t19700101\t20991231\t\n",
	conceptHeader + "1\tshort row\n",
	"concept_id,concept_name\n1,\"open quote\n",
	"concept_id\tconcept_id\n",
	"",
	"\n\n",
}

// FuzzConceptRows reads arbitrary bytes as CONCEPT.csv. The reader either
// refuses the file with a *ParseError naming the file and a line within it,
// or returns rows whose invariants hold: a valid 32-bit id, a non-empty
// valid-UTF-8 name, real dates, no more rows than lines, increasing line
// numbers and an offset that never passes the file's size.
func FuzzConceptRows(f *testing.F) {
	for _, s := range conceptSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := athena.OpenFS(fstest.MapFS{"CONCEPT.csv": {Data: data}})
		if err != nil {
			t.Fatalf("OpenFS: %v", err)
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		rows, err := r.ConceptRows()
		if err != nil {
			checkParseError(t, err, lines)
			return
		}
		defer rows.Close()
		header, _, _ := bytes.Cut(bytes.TrimPrefix(data, []byte("\ufeff")), []byte{'\n'})
		wantCSV := bytes.IndexByte(header, '\t') < 0 && bytes.IndexByte(header, ',') >= 0 && len(bytes.TrimSpace(header)) > 0
		if (rows.Format() == athena.FormatCSV) != wantCSV {
			t.Fatalf("format %s for header %q", rows.Format(), header)
		}
		n, prevLine, prevOff := 0, 1, int64(0)
		for rows.Next() {
			n++
			c := rows.Row()
			if c.Name == "" || !utf8.ValidString(c.Name) || !utf8.ValidString(c.Code) {
				t.Fatalf("row %d: bad name or code %+v", n, c)
			}
			for _, d := range []time.Time{c.ValidStart, c.ValidEnd} {
				if d.IsZero() || d.Location() != time.UTC || d.Hour() != 0 {
					t.Fatalf("row %d: date %v", n, d)
				}
			}
			if rows.Line() <= prevLine || rows.Line() > lines {
				t.Fatalf("row %d at line %d after line %d (file has %d)", n, rows.Line(), prevLine, lines)
			}
			if off := rows.Offset(); off < prevOff || off > rows.Size() {
				t.Fatalf("offset %d after %d, size %d", off, prevOff, rows.Size())
			}
			prevLine, prevOff = rows.Line(), rows.Offset()
		}
		if n >= lines {
			t.Fatalf("%d rows from %d lines", n, lines)
		}
		if err := rows.Err(); err != nil {
			checkParseError(t, err, lines)
		}
	})
}

func checkParseError(t *testing.T, err error, lines int) {
	t.Helper()
	var pe *athena.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *ParseError: %v", err)
	}
	if pe.File != "CONCEPT.csv" || pe.Line < 1 || pe.Line > lines || pe.Msg == "" {
		t.Fatalf("parse error %+v (file has %d lines)", *pe, lines)
	}
	if !strings.HasPrefix(err.Error(), "athena: CONCEPT.csv line ") {
		t.Fatalf("error text %q", err)
	}
}

// FuzzConceptRoundTrip writes one concept in either flavour and reads it
// back: a concept whose fields the flavour can carry comes back equal, and
// one it cannot (an empty name, invalid UTF-8, a tab or line break in the
// tab flavour) is refused with a *ParseError, never altered silently.
func FuzzConceptRoundTrip(f *testing.F) {
	f.Add(int32(201826), "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "S", "44054006", uint16(0), uint16(47846), "", false)
	f.Add(int32(3004410), "Hemoglobin A1c/Hemoglobin.total in Blood", "Measurement", "LOINC", "Lab Test", "S", "4548-4", uint16(17000), uint16(47846), "", true)
	f.Add(int32(-1), `Pain, "chest"`, "Observation", "Local", "", "", " E11.9 ", uint16(59), uint16(60), "D", true)
	f.Add(int32(8479), "centipoise", "Unit", "UCUM", "Unit", "", "cP", uint16(0), uint16(18262), "U", false)
	f.Add(int32(1), "Sjögren's syndrome\nsecond line", "Condition", "SNOMED", "Disorder", "C", "83901003", uint16(1), uint16(2), "", true)
	f.Fuzz(func(t *testing.T, id int32, name, domain, vocab, class, std, code string, start, end uint16, invalid string, csvFlavour bool) {
		want := athena.Concept{ID: id, Name: name, DomainID: domain, VocabularyID: vocab, ClassID: class, StandardConcept: std, Code: code,
			ValidStart: time.Date(1970, 1, 1+int(start), 0, 0, 0, 0, time.UTC), ValidEnd: time.Date(1970, 1, 1+int(end), 0, 0, 0, 0, time.UTC), InvalidReason: invalid}
		fields := []string{strconv.Itoa(int(id)), name, domain, vocab, class, std, code, "", "", invalid}
		var buf bytes.Buffer
		refuse := name == ""
		for _, s := range fields {
			refuse = refuse || !utf8.ValidString(s)
		}
		if csvFlavour {
			fields[7], fields[8] = want.ValidStart.Format("2006-01-02"), want.ValidEnd.Format("2006-01-02")
			w := csv.NewWriter(&buf)
			_ = w.Write(strings.Split(strings.TrimSuffix(conceptHeader, "\n"), "\t"))
			_ = w.Write(fields)
			w.Flush()
			// encoding/csv reads a quoted "\r\n" as "\n".
			for _, p := range []*string{&want.Name, &want.DomainID, &want.VocabularyID, &want.ClassID, &want.StandardConcept, &want.Code, &want.InvalidReason} {
				*p = strings.ReplaceAll(*p, "\r\n", "\n")
			}
		} else {
			fields[7], fields[8] = want.ValidStart.Format("20060102"), want.ValidEnd.Format("20060102")
			for _, s := range fields {
				if strings.ContainsAny(s, "\t\r\n") {
					t.Skip("the tab flavour has no quoting")
				}
			}
			buf.WriteString(conceptHeader + strings.Join(fields, "\t") + "\n")
		}
		r, err := athena.OpenFS(fstest.MapFS{"CONCEPT.csv": {Data: buf.Bytes()}})
		if err != nil {
			t.Fatal(err)
		}
		var got []athena.Concept
		err = r.Concepts(func(c athena.Concept) error { got = append(got, c); return nil })
		if refuse {
			var pe *athena.ParseError
			if !errors.As(err, &pe) || pe.Line != 2 {
				t.Fatalf("concept %+v: want a *ParseError at line 2, got %v (rows %+v)", want, err, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("concept %+v in\n%s\nrefused: %v", want, buf.Bytes(), err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("wrote %+v\nread  %+v", want, got)
		}
	})
}

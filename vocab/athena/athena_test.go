package athena_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/portiere/portiere/vocab/athena"
)

// athenaDev is the development vocabulary shipped beside the repository.
const athenaDev = "../../../shared/data/athena-dev"

func release(t *testing.T, files map[string]string) *athena.Release {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	r, err := athena.OpenFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func concepts(t *testing.T, r *athena.Release) []athena.Concept {
	t.Helper()
	var out []athena.Concept
	if err := r.Concepts(func(c athena.Concept) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

const conceptHeader = "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason\n"

func TestAthenaFlavour(t *testing.T) {
	r := release(t, map[string]string{"CONCEPT.csv": conceptHeader +
		"201826\tType 2 diabetes mellitus\tCondition\tSNOMED\tClinical Finding\tS\t44054006\t19700101\t20991231\t\n" +
		"45561951\tType 2 diabetes mellitus with \"mild\" nonproliferative retinopathy\tCondition\tICD10CM\t5-char billing code\t\tE11.32\t20161001\t20991231\t\n" +
		"8479\tcentipoise\tUnit\tUCUM\tUnit\t\tcP\t19700101\t20200101\tD\n"})
	got := concepts(t, r)
	want := []athena.Concept{
		{ID: 201826, Name: "Type 2 diabetes mellitus", DomainID: "Condition", VocabularyID: "SNOMED", ClassID: "Clinical Finding",
			StandardConcept: "S", Code: "44054006", ValidStart: day(1970, 1, 1), ValidEnd: day(2099, 12, 31)},
		{ID: 45561951, Name: `Type 2 diabetes mellitus with "mild" nonproliferative retinopathy`, DomainID: "Condition", VocabularyID: "ICD10CM",
			ClassID: "5-char billing code", Code: "E11.32", ValidStart: day(2016, 10, 1), ValidEnd: day(2099, 12, 31)},
		{ID: 8479, Name: "centipoise", DomainID: "Unit", VocabularyID: "UCUM", ClassID: "Unit", Code: "cP",
			ValidStart: day(1970, 1, 1), ValidEnd: day(2020, 1, 1), InvalidReason: "D"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

// The CDM-export flavour of the same rows reads the same, quotes, embedded
// commas and ISO dates included.
func TestCSVFlavour(t *testing.T) {
	tab := release(t, map[string]string{"CONCEPT.csv": conceptHeader +
		"1\tFracture of femur, closed\tCondition\tSNOMED\tClinical Finding\tS\t1234\t19700101\t20991231\t\n" +
		"2\tThe \"big\" one\tObservation\tLOINC\tLab Test\t\t99-9\t20000229\t20991231\tU\n"})
	csv := release(t, map[string]string{"concept.csv": "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\r\n" +
		"1,\"Fracture of femur, closed\",Condition,SNOMED,Clinical Finding,S,1234,1970-01-01,2099-12-31,\r\n" +
		"\"2\",\"The \"\"big\"\" one\",Observation,LOINC,Lab Test,,99-9,2000-02-29,2099-12-31,U\r\n"})
	if a, b := concepts(t, tab), concepts(t, csv); !reflect.DeepEqual(a, b) {
		t.Fatalf("tab %+v\ncsv %+v", a, b)
	}
	rows, err := csv.ConceptRows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Format() != athena.FormatCSV || rows.File() != "concept.csv" {
		t.Fatalf("format %v file %s", rows.Format(), rows.File())
	}
}

// A BOM, CRLF line ends, literal quotes, no final newline, columns in
// another order, upper-case headers and unknown columns are all fine.
func TestTolerance(t *testing.T) {
	body := "\uFEFFCONCEPT_NAME\tExtra\tconcept_id\tDomain_ID\tvocabulary_id\tconcept_class_id\tconcept_code\tvalid_start_date\tvalid_end_date\r\n" +
		"5\" wound\tx\t7\tCondition\tSNOMED\tClinical Finding\tC7\t19700101\t20991231\r\n" +
		"\r\n" +
		"\"quoted\"\t\t8\tCondition\tSNOMED\tClinical Finding\tC8\t19700101\t20991231"
	got := concepts(t, release(t, map[string]string{"Concept.CSV": body}))
	if len(got) != 2 || got[0].Name != `5" wound` || got[0].ID != 7 || got[1].Name != `"quoted"` || got[1].ID != 8 ||
		got[1].Code != "C8" || got[1].ValidEnd != day(2099, 12, 31) || got[0].StandardConcept != "" || got[0].InvalidReason != "" {
		t.Fatalf("%+v", got)
	}
}

func TestAbsentAndHeaderOnlyFiles(t *testing.T) {
	r := release(t, map[string]string{
		"CONCEPT.csv":          conceptHeader,
		"CONCEPT_ANCESTOR.csv": "ancestor_concept_id\tdescendant_concept_id\tmin_levels_of_separation\tmax_levels_of_separation\n",
		"DOMAIN.csv":           "",
		"README.txt":           "not a table",
	})
	n := 0
	count := func(any) error { n++; return nil }
	for name, read := range map[string]func() error{
		"concepts":  func() error { return r.Concepts(func(c athena.Concept) error { return count(c) }) },
		"ancestors": func() error { return r.Ancestors(func(a athena.Ancestor) error { return count(a) }) },
		"domains":   func() error { return r.Domains(func(d athena.Domain) error { return count(d) }) },
		"synonyms":  func() error { return r.Synonyms(func(s athena.Synonym) error { return count(s) }) },
	} {
		if err := read(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n != 0 {
		t.Fatalf("%d rows from empty files", n)
	}
	if _, ok := r.File(athena.TableConceptSynonym); ok {
		t.Fatal("synonym file reported present")
	}
	if name, _ := r.File(athena.TableConceptAncestor); name != "CONCEPT_ANCESTOR.csv" {
		t.Fatalf("ancestor file %q", name)
	}
}

func TestConceptFileRequired(t *testing.T) {
	_, err := athena.OpenFS(fstest.MapFS{"DOMAIN.csv": {Data: []byte("domain_id\tdomain_name\tdomain_concept_id\n")}})
	if !errors.Is(err, athena.ErrNoConceptFile) {
		t.Fatalf("got %v", err)
	}
	if _, err := athena.Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("opened a missing folder")
	}
}

func TestParseErrors(t *testing.T) {
	row := func(fields ...string) string { return strings.Join(fields, "\t") + "\n" }
	good := row("1", "Name", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "19700101", "20991231", "")
	for _, tc := range []struct {
		name, file, body string
		line             int
		column, msg      string
	}{
		{"missing column", "CONCEPT.csv", "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tconcept_code\tvalid_start_date\tinvalid_reason\n",
			1, "", "missing required column valid_end_date"},
		{"non-numeric id", "CONCEPT.csv", conceptHeader + good + row("12a", "Name", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "19700101", "20991231", ""),
			3, "concept_id", `"12a" is not an integer`},
		{"id out of range", "CONCEPT.csv", conceptHeader + row("2147483648", "Name", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "19700101", "20991231", ""),
			2, "concept_id", "out of range"},
		{"bad date", "CONCEPT.csv", conceptHeader + good + good + row("3", "Name", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "20210230", "20991231", ""),
			4, "valid_start_date", `"20210230" is not a date`},
		{"wrong column count", "CONCEPT.csv", conceptHeader + good + "2\tName\tCondition\n",
			3, "", "wrong column count: 3 tab-separated fields, the header has 10"},
		{"empty name", "CONCEPT.csv", conceptHeader + row("2", "", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "19700101", "20991231", ""),
			2, "concept_name", "is empty"},
		{"invalid UTF-8", "CONCEPT.csv", conceptHeader + row("2", "Caf\xe9", "Condition", "SNOMED", "Clinical Finding", "S", "C1", "19700101", "20991231", ""),
			2, "", "not valid UTF-8"},
		{"csv wrong column count", "CONCEPT.csv", "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\n" +
			"1,A,Condition,SNOMED,Clinical Finding,S,C1,1970-01-01,2099-12-31,\n" +
			"2,B,C,with, an unquoted comma,Condition,SNOMED,Clinical Finding,S,C1,1970-01-01,2099-12-31,\n",
			3, "", "wrong column count: 13 comma-separated fields, the header has 10"},
		{"csv bad quote", "CONCEPT.csv", "concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code,valid_start_date,valid_end_date,invalid_reason\n" +
			"1,A \"x\",Condition,SNOMED,Clinical Finding,S,C1,1970-01-01,2099-12-31,\n",
			2, "", "bare \" in non-quoted-field"},
		{"synonym id", "CONCEPT_SYNONYM.csv", "concept_id\tconcept_synonym_name\tlanguage_concept_id\n1\tx\t4180186\n1\ty\t\n",
			3, "language_concept_id", "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"CONCEPT.csv": conceptHeader + good}
			files[tc.file] = tc.body
			r := release(t, files)
			var err error
			if tc.file == "CONCEPT.csv" {
				err = r.Concepts(func(athena.Concept) error { return nil })
			} else {
				err = r.Synonyms(func(athena.Synonym) error { return nil })
			}
			var pe *athena.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want *ParseError", err)
			}
			if pe.File != tc.file || pe.Line != tc.line || pe.Column != tc.column || !strings.Contains(pe.Msg, tc.msg) {
				t.Fatalf("got %+v (%v)\nwant file %s line %d column %q msg containing %q", pe, err, tc.file, tc.line, tc.column, tc.msg)
			}
			if !strings.Contains(err.Error(), tc.file+" line ") {
				t.Fatalf("message %q does not name file and line", err)
			}
		})
	}
}

func TestDuplicateHeaderColumn(t *testing.T) {
	r := release(t, map[string]string{"CONCEPT.csv": strings.Replace(conceptHeader, "domain_id", "concept_id", 1)})
	var pe *athena.ParseError
	if err := r.Concepts(func(athena.Concept) error { return nil }); !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("got %v", err)
	}
}

func TestDates(t *testing.T) {
	body := "concept_id_1\tconcept_id_2\trelationship_id\tvalid_start_date\tvalid_end_date\n" +
		"1\t2\tMaps to\t20000229\t2099-12-31 00:00:00\n" +
		"1\t3\tMaps to\t1970-01-01\t2099-12-31T00:00:00Z\n"
	r := release(t, map[string]string{"CONCEPT.csv": conceptHeader, "CONCEPT_RELATIONSHIP.csv": body})
	var got []athena.Relationship
	if err := r.Relationships(func(x athena.Relationship) error { got = append(got, x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ValidStart != day(2000, 2, 29) || got[0].ValidEnd != day(2099, 12, 31) ||
		got[1].ValidStart != day(1970, 1, 1) || got[1].InvalidReason != "" {
		t.Fatalf("%+v", got)
	}
	for _, bad := range []string{"19000229", "2021-1-01", "20211301", "2021-12-32", "202112", "abcdefgh", ""} {
		r := release(t, map[string]string{"CONCEPT.csv": conceptHeader, "CONCEPT_RELATIONSHIP.csv": "concept_id_1\tconcept_id_2\trelationship_id\tvalid_start_date\tvalid_end_date\n1\t2\tIs a\t" + bad + "\t20991231\n"})
		var pe *athena.ParseError
		if err := r.Relationships(func(athena.Relationship) error { return nil }); !errors.As(err, &pe) || pe.Column != "valid_start_date" {
			t.Errorf("date %q: %v", bad, err)
		}
	}
}

// A line longer than the read buffer is read whole.
func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 600<<10)
	r := release(t, map[string]string{"CONCEPT.csv": conceptHeader, "CONCEPT_SYNONYM.csv": "concept_id\tconcept_synonym_name\tlanguage_concept_id\n1\t" + long + "\t4180186\n2\tshort\t4180186\n"})
	var got []athena.Synonym
	if err := r.Synonyms(func(s athena.Synonym) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != long || got[1].Name != "short" || got[1].ConceptID != 2 {
		t.Fatalf("%d rows", len(got))
	}
}

func TestCallbackErrorStops(t *testing.T) {
	r := release(t, map[string]string{"CONCEPT.csv": conceptHeader +
		"1\tA\tC\tV\tK\tS\tc\t19700101\t20991231\t\n2\tB\tC\tV\tK\tS\tc\t19700101\t20991231\t\n"})
	stop := errors.New("stop")
	n := 0
	err := r.Concepts(func(athena.Concept) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d rows", err, n)
	}
}

func TestCursor(t *testing.T) {
	r := release(t, map[string]string{"CONCEPT.csv": conceptHeader +
		"1\tA\tC\tV\tK\tS\tc\t19700101\t20991231\t\n2\tB\tC\tV\tK\tS\tc\t19700101\t20991231\t\n"})
	rows, err := r.ConceptRows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []int
	for rows.Next() {
		lines = append(lines, rows.Line())
	}
	if rows.Err() != nil || !reflect.DeepEqual(lines, []int{2, 3}) || rows.Offset() != rows.Size() || rows.Size() == 0 {
		t.Fatalf("lines %v err %v offset %d size %d", lines, rows.Err(), rows.Offset(), rows.Size())
	}
}

func TestFingerprint(t *testing.T) {
	a := release(t, map[string]string{"CONCEPT.csv": conceptHeader, "DOMAIN.csv": "domain_id\tdomain_name\tdomain_concept_id\n"})
	b := release(t, map[string]string{"concept.csv": conceptHeader, "domain.CSV": "domain_id\tdomain_name\tdomain_concept_id\n"})
	c := release(t, map[string]string{"CONCEPT.csv": conceptHeader, "DOMAIN.csv": "domain_id\tdomain_name\tdomain_concept_id\r\n"})
	d := release(t, map[string]string{"CONCEPT.csv": conceptHeader})
	fa, err := a.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := b.Fingerprint()
	fc, _ := c.Fingerprint()
	fd, _ := d.Fingerprint()
	if fa != fb || fa == fc || fa == fd || fc == fd || len(fa) != 64 {
		t.Fatalf("a %s\nb %s\nc %s\nd %s", fa, fb, fc, fd)
	}
}

// lineCount is the number of data lines of a file (all lines but the
// header).
func lineCount(t testing.TB, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n - 1
}

// The development vocabulary reads without error and every line is a row.
func TestAthenaDev(t *testing.T) {
	if _, err := os.Stat(athenaDev); err != nil {
		t.Skipf("%s not present", athenaDev)
	}
	r, err := athena.Open(athenaDev)
	if err != nil {
		t.Fatal(err)
	}
	n := map[athena.Table]int{}
	inc := func(t athena.Table) { n[t]++ }
	checks := []error{
		r.Concepts(func(athena.Concept) error { inc(athena.TableConcept); return nil }),
		r.Synonyms(func(athena.Synonym) error { inc(athena.TableConceptSynonym); return nil }),
		r.Relationships(func(athena.Relationship) error { inc(athena.TableConceptRelationship); return nil }),
		r.Ancestors(func(athena.Ancestor) error { inc(athena.TableConceptAncestor); return nil }),
		r.Vocabularies(func(athena.Vocabulary) error { inc(athena.TableVocabulary); return nil }),
		r.Domains(func(athena.Domain) error { inc(athena.TableDomain); return nil }),
		r.ConceptClasses(func(athena.ConceptClass) error { inc(athena.TableConceptClass); return nil }),
		r.RelationshipTypes(func(athena.RelationshipType) error { inc(athena.TableRelationship); return nil }),
	}
	for _, err := range checks {
		if err != nil {
			t.Fatal(err)
		}
	}
	files, err := r.Files()
	if err != nil || len(files) != 8 {
		t.Fatalf("files %v %v", files, err)
	}
	for _, f := range files {
		if want := lineCount(t, filepath.Join(athenaDev, f.Name)); n[f.Table] != want {
			t.Errorf("%s: %d rows, file has %d data lines", f.Name, n[f.Table], want)
		}
	}
}

func BenchmarkConcepts(b *testing.B) {
	if _, err := os.Stat(athenaDev); err != nil {
		b.Skipf("%s not present", athenaDev)
	}
	r, err := athena.Open(athenaDev)
	if err != nil {
		b.Fatal(err)
	}
	rows := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Concepts(func(athena.Concept) error { rows++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

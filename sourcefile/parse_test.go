package sourcefile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/portiere/portiere/sourcefile"
)

func parse(t *testing.T, in string, opts sourcefile.Options) (*sourcefile.Result, error) {
	t.Helper()
	res, err := sourcefile.Parse(context.Background(), strings.NewReader(in), opts)
	if (res == nil) == (err == nil) {
		t.Fatalf("Parse returned result %v and error %v: want exactly one", res, err)
	}
	return res, err
}

func TestParseAccepts(t *testing.T) {
	type code = sourcefile.Code
	cases := []struct {
		name  string
		in    string
		opts  sourcefile.Options
		delim rune
		bom   bool
		cols  sourcefile.Columns
		codes []code
	}{
		{
			name:  "comma with counts, aggregated",
			in:    "code,description,count\nGLU,Glucose,10\nNA,Sodium,5\nGLU,Glucose serum,7\n",
			delim: ',',
			cols:  sourcefile.Columns{Code: "code", Description: "description", Count: "count"},
			codes: []code{
				{Code: "GLU", Description: "Glucose", Count: 17, Rows: 2, Line: 2},
				{Code: "NA", Description: "Sodium", Count: 5, Rows: 1, Line: 3},
			},
		},
		{
			name:  "UTF-8 BOM, semicolon, CRLF, header variants",
			in:    "\ufeffSource Code;Source-Description;Frequency\r\nK-1;Kalium;3\r\nNA;Natrium;2\r\n",
			delim: ';',
			bom:   true,
			cols:  sourcefile.Columns{Code: "Source Code", Description: "Source-Description", Count: "Frequency"},
			codes: []code{
				{Code: "K-1", Description: "Kalium", Count: 3, Rows: 1, Line: 2},
				{Code: "NA", Description: "Natrium", Count: 2, Rows: 1, Line: 3},
			},
		},
		{
			name:  "tab with context columns, no count",
			in:    "local_code\tname\tspecimen\tunit\tdomain\tcategory\nA1\tHemoglobin\tBlood\tg/dL\tMeasurement\tHematology\nA1\t\tSerum\t\t\t\nB2\tCreatinine\t\tmg/dL\t\tChemistry\n",
			delim: '\t',
			cols:  sourcefile.Columns{Code: "local_code", Description: "name", Specimen: "specimen", Unit: "unit", DomainHint: "domain", Category: "category"},
			codes: []code{
				{Code: "A1", Description: "Hemoglobin", Count: 2, Rows: 2, Line: 2, Specimen: "Blood", Unit: "g/dL", DomainHint: "Measurement", Category: "Hematology"},
				{Code: "B2", Description: "Creatinine", Count: 1, Rows: 1, Line: 4, Unit: "mg/dL", Category: "Chemistry"},
			},
		},
		{
			name:  "quoted delimiters and newlines, blank rows skipped",
			in:    "code,term,n\n\"X,1\",\"Pain, chest\nradiating\",4\n\n,,\n\"Y\",\"5\"\" needle\",12.0\n",
			delim: ',',
			cols:  sourcefile.Columns{Code: "code", Description: "term", Count: "n"},
			codes: []code{
				{Code: "X,1", Description: "Pain, chest\nradiating", Count: 4, Rows: 1, Line: 2},
				{Code: "Y", Description: "5\" needle", Count: 12, Rows: 1, Line: 6},
			},
		},
		{
			name:  "explicit columns and delimiter",
			in:    "LabID;Label Text;Hits;code\n7;Potassium;1;ignored\n",
			opts:  sourcefile.Options{Delimiter: ';', Columns: sourcefile.Columns{Code: "labid", Description: "LABEL TEXT", Count: "hits"}},
			delim: ';',
			cols:  sourcefile.Columns{Code: "LabID", Description: "Label Text", Count: "Hits"},
			codes: []code{{Code: "7", Description: "Potassium", Count: 1, Rows: 1, Line: 2}},
		},
		{
			name:  "semicolon file whose descriptions hold commas",
			in:    "code;description\n1;a, b, c\n2;d, e\n3;f\n",
			delim: ';',
			cols:  sourcefile.Columns{Code: "code", Description: "description"},
			codes: []code{
				{Code: "1", Description: "a, b, c", Count: 1, Rows: 1, Line: 2},
				{Code: "2", Description: "d, e", Count: 1, Rows: 1, Line: 3},
				{Code: "3", Description: "f", Count: 1, Rows: 1, Line: 4},
			},
		},
		{
			name:  "no final newline, zero count, unicode",
			in:    "code,description,count\nß1,Überweisung – 血糖,0",
			delim: ',',
			cols:  sourcefile.Columns{Code: "code", Description: "description", Count: "count"},
			codes: []code{{Code: "ß1", Description: "Überweisung – 血糖", Count: 0, Rows: 1, Line: 2}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := parse(t, c.in, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Delimiter != c.delim || res.BOM != c.bom || res.Columns != c.cols {
				t.Errorf("delimiter %q bom %v columns %+v; want %q %v %+v", res.Delimiter, res.BOM, res.Columns, c.delim, c.bom, c.cols)
			}
			if !reflect.DeepEqual(res.Codes, c.codes) {
				t.Errorf("codes:\n got %+v\nwant %+v", res.Codes, c.codes)
			}
			var total int64
			rows := 0
			for _, k := range c.codes {
				total += k.Count
				rows += k.Rows
			}
			if res.TotalCount != total || res.Rows != rows {
				t.Errorf("TotalCount %d Rows %d, want %d %d", res.TotalCount, res.Rows, total, rows)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		opts    sourcefile.Options
		want    error
		mention []string
	}{
		{"empty", "", sourcefile.Options{}, sourcefile.ErrEmpty, []string{"no header"}},
		{"only BOM and blanks", "\ufeff \n\n", sourcefile.Options{}, sourcefile.ErrEmpty, []string{"no header"}},
		{"header only", "code,description\n", sourcefile.Options{}, sourcefile.ErrEmpty, []string{"no data rows"}},
		{"header and blank rows", "code,description\n,\n", sourcefile.Options{}, sourcefile.ErrEmpty, []string{"no data rows"}},
		{"UTF-16LE BOM", "\xff\xfec\x00o\x00", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"UTF-16LE", "save it as UTF-8"}},
		{"UTF-16BE BOM", "\xfe\xff\x00c\x00o", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"UTF-16BE"}},
		{"UTF-16 without BOM", "c\x00o\x00d\x00e\x00", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"UTF-16LE", "NUL"}},
		{"Latin-1 on line 3", "code,description\n1,cafe\n2,caf\xe9\n", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"line 3", "0xE9", "Latin-1"}},
		{"Windows-1252 quotes", "code,description\n1,\x93quoted\x94\n", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"line 2", "Windows-1252"}},
		{"NUL past the first 64 KiB", "code,description\n" + strings.Repeat("1,a\n", 20000) + "2,b\x00\n", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"line 20002", "NUL"}},
		{"Latin-1 header", "c\xf3digo,description\n1,a\n", sourcefile.Options{}, sourcefile.ErrEncoding, []string{"line 1"}},
		{"no code column", "id,description\n1,a\n", sourcefile.Options{}, sourcefile.ErrMissingColumn, []string{"no code column", "id, description", "source_code"}},
		{"no description column", "code,value\n1,a\n", sourcefile.Options{}, sourcefile.ErrMissingColumn, []string{"no description column", "term"}},
		{"named column absent", "code,description\n1,a\n", sourcefile.Options{Columns: sourcefile.Columns{Count: "hits"}}, sourcefile.ErrMissingColumn, []string{`"hits"`, "count"}},
		{"two code columns", "code,Code,description\n1,2,a\n", sourcefile.Options{}, sourcefile.ErrMissingColumn, []string{"several columns", `"code"`}},
		{"one column for two roles", "code,description\n1,a\n", sourcefile.Options{Columns: sourcefile.Columns{Description: "code"}}, sourcefile.ErrMissingColumn, []string{"already the code column"}},
		{"single-column header", "code|description\n1|a\n", sourcefile.Options{}, sourcefile.ErrMissingColumn, []string{"single column", "comma, semicolon or tab"}},
		{"oversize", "code,description\n" + strings.Repeat("1,abc\n", 100), sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: 100}}, sourcefile.ErrTooLarge, []string{"file size", "100 bytes"}},
		{"too many rows", "code,description\n1,a\n2,b\n3,c\n", sourcefile.Options{Limits: sourcefile.Limits{MaxRows: 2}}, sourcefile.ErrTooLarge, []string{"rows", "limit of 2 rows"}},
		{"too many columns", "code,description,a,b\n1,a,,\n", sourcefile.Options{Limits: sourcefile.Limits{MaxColumns: 3}}, sourcefile.ErrTooLarge, []string{"columns", "limit of 3"}},
		{"unsupported delimiter", "code|description\n", sourcefile.Options{Delimiter: '|'}, nil, []string{"not supported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.in, c.opts)
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			for _, m := range c.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestParseExactlyAtSizeLimit(t *testing.T) {
	in := "code,description\n1,a\n"
	if _, err := parse(t, in, sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: int64(len(in))}}); err != nil {
		t.Fatalf("file of exactly MaxBytes refused: %v", err)
	}
	_, err := parse(t, in, sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: int64(len(in) - 1)}})
	var le *sourcefile.LimitError
	if !errors.As(err, &le) || le.Limit != int64(len(in)-1) {
		t.Fatalf("one byte over: %v", err)
	}
}

func TestParseReportsEveryMalformedRow(t *testing.T) {
	in := strings.Join([]string{
		"code,description,count",
		"A,ok,1",
		"B,too,many,fields",           // 3
		",empty code,1",               // 4
		"C,bad count,12abc",           // 5
		"D,negative,-3",               // 6
		"E,ok,2",                      // 7
		`F,bare "quote,1`,             // 8
		"G,empty count,",              // 9
		"H,huge,99999999999999999999", // 10
		"I,short",                     // 11
		`"J","decimal comma","2,0"`,   // 12
	}, "\n") + "\n"
	_, err := parse(t, in, sourcefile.Options{})
	var re *sourcefile.RowErrors
	if !errors.As(err, &re) || !errors.Is(err, sourcefile.ErrMalformed) {
		t.Fatalf("err = %v, want *RowErrors", err)
	}
	var lines []int
	for _, r := range re.Rows {
		lines = append(lines, r.Line)
	}
	if want := []int{3, 4, 5, 6, 8, 9, 10, 11, 12}; !reflect.DeepEqual(lines, want) || re.Total != len(want) {
		t.Fatalf("lines %v total %d, want %v: %v", lines, re.Total, want, err)
	}
	for _, m := range []string{"9 malformed rows", "line 3: 4 fields, the header has 3", "line 4: empty code", `line 5: column "count": count "12abc" is not a whole number`,
		"line 6", "negative", "line 8", "bare", "line 9", "empty count", "line 10", "too large", "line 11: 2 fields", `line 12: column "count": count "2,0" is not a whole number`} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error does not mention %q:\n%v", m, err)
		}
	}

	// The cap limits the list, not the count.
	_, err = parse(t, in, sourcefile.Options{Limits: sourcefile.Limits{MaxErrors: 2}})
	if !errors.As(err, &re) || len(re.Rows) != 2 || re.Total != 9 || !strings.Contains(err.Error(), "and 7 more") {
		t.Fatalf("capped: %v", err)
	}
}

func TestParseUnclosedQuoteNamesItsLine(t *testing.T) {
	_, err := parse(t, "code,description\n1,a\n2,\"open\n3,c\n4,d\n", sourcefile.Options{})
	var re *sourcefile.RowErrors
	if !errors.As(err, &re) || re.Rows[0].Line != 3 || !strings.Contains(err.Error(), "opened here") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseFieldTooLong(t *testing.T) {
	in := "code,description\n1," + strings.Repeat("x", 50) + "\n"
	_, err := parse(t, in, sourcefile.Options{Limits: sourcefile.Limits{MaxFieldBytes: 49}})
	if !errors.Is(err, sourcefile.ErrMalformed) || !strings.Contains(err.Error(), `line 2: column "description" is 50 bytes long`) {
		t.Fatalf("err = %v", err)
	}
}

// endlessCSV serves a valid CSV that never ends and counts the bytes read.
type endlessCSV struct{ read int64 }

func (e *endlessCSV) Read(p []byte) (int, error) {
	const head = "code,description\n"
	for i := range p {
		if e.read < int64(len(head)) {
			p[i] = head[e.read]
		} else {
			p[i] = "1,abcdefgh\n"[(e.read-int64(len(head)))%11]
		}
		e.read++
	}
	return len(p), nil
}

func TestParseStopsReadingAtSizeLimit(t *testing.T) {
	src := &endlessCSV{}
	const limit = 1 << 20
	_, err := sourcefile.Parse(context.Background(), src, sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: limit}})
	if !errors.Is(err, sourcefile.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if src.read > limit+1 {
		t.Fatalf("read %d bytes of an endless upload with a %d-byte limit", src.read, limit)
	}
}

func TestParseReadFailureAndCancellation(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("code,description\n1,a\n"), iotest.ErrReader(boom))
	_, err := sourcefile.Parse(context.Background(), r, sourcefile.Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
	for _, s := range []error{sourcefile.ErrEmpty, sourcefile.ErrMalformed, sourcefile.ErrTooLarge, sourcefile.ErrEncoding, sourcefile.ErrMissingColumn} {
		if errors.Is(err, s) {
			t.Errorf("a read failure is reported as %v", s)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := "code,description\n" + strings.Repeat("1,a\n", 5000)
	if _, err := sourcefile.Parse(ctx, strings.NewReader(big), sourcefile.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestAcceptedHeadersIsACopy(t *testing.T) {
	h := sourcefile.AcceptedHeaders()
	if h["code"][0] != "code" || len(h) != 7 {
		t.Fatalf("AcceptedHeaders = %v", h)
	}
	h["code"][0] = "zzz"
	if sourcefile.AcceptedHeaders()["code"][0] != "code" {
		t.Fatal("AcceptedHeaders exposes the package's table")
	}
}

func TestParseDescriptionAsCode(t *testing.T) {
	// The shape of a free-text drug list: no codes at all.
	in := "source_code,source_description\n,aminobenzoic acid; 500mg; Oral\n,aminocaproic acid; 5%; Intravenous\nX1,coded row\n,aminobenzoic acid; 500mg; Oral\n"
	if _, err := parse(t, in, sourcefile.Options{}); !errors.Is(err, sourcefile.ErrMalformed) || !strings.Contains(err.Error(), "descriptions as codes") {
		t.Fatalf("without the option: %v", err)
	}
	res, err := parse(t, in, sourcefile.Options{DescriptionAsCode: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Codes {
		got = append(got, fmt.Sprintf("%s=%s×%d", c.Code, c.Description, c.Count))
	}
	want := []string{"aminobenzoic acid; 500mg; Oral=aminobenzoic acid; 500mg; Oral×2", "aminocaproic acid; 5%; Intravenous=aminocaproic acid; 5%; Intravenous×1", "X1=coded row×1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("codes %q, want %q", got, want)
	}
	if _, err := parse(t, "code,description,unit\n,,mg\n1,a,\n", sourcefile.Options{DescriptionAsCode: true}); err == nil {
		t.Fatal("a row with neither code nor description accepted")
	}
}

func TestErrorsQuoteOnlyExcerpts(t *testing.T) {
	long := strings.Repeat("Z", 5000)
	for name, in := range map[string]string{
		"long header, no code column": "id," + long + "\n1,a\n",
		"long field":                  "code,description\n1," + long + "\n",
		"long bad count":              "code,description,count\n1,a," + long + "\n",
	} {
		_, err := parse(t, in, sourcefile.Options{})
		if err == nil || len(err.Error()) > 400 || strings.Contains(err.Error(), strings.Repeat("Z", 41)) {
			t.Errorf("%s: error of %d bytes quotes too much: %.200v", name, len(err.Error()), err)
		}
	}
}

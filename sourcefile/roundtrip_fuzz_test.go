package sourcefile_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portiere/portiere/sourcefile"
)

// FuzzParseRoundTrip writes rows of codes, descriptions and counts as a
// well-formed CSV (encoding/csv quoting, any of the three delimiters, CRLF
// or LF) and parses it back. Parse must return exactly what the rows say:
// the distinct trimmed codes in order of first appearance, each with its
// first description, summed count, row count and first line; or, when a
// row has an empty code or a field is not UTF-8, the matching error.
// FuzzParse (fuzz_test.go) covers arbitrary bytes; this target covers the
// aggregation a user relies on.
func FuzzParseRoundTrip(f *testing.F) {
	// Codes are separated by '|'; counts are read from the bytes, 2 a row.
	f.Add("LAB001|LAB002|LAB001|LAB003", "Haemoglobin A1c|Glucose fasting plasma|HbA1c|Serum creatinine", []byte{0, 10, 0, 5, 1, 0, 0, 0}, byte(0), false)
	f.Add("DX-E11.9| E11.9 |DX-E11.9", "Type 2 diabetes, without complications|\"quoted\" term|", []byte{0, 1}, byte(1), true)
	f.Add("RX1;RX2|RX\t3|RX1;RX2", "metformin 500 mg tab|insulin glargine 100 unit/mL\nsecond line|", []byte{}, byte(2), false)
	f.Add("K|NA|CL", "Kalium|Natrium|Chlorid", []byte{255, 255, 255, 255, 255, 255}, byte(3), true)
	f.Add("X| |Y", "caf\xe9|blank code|ok", []byte{0, 1, 0, 2, 0, 3}, byte(0), false)
	f.Fuzz(func(t *testing.T, codeList, descList string, countBytes []byte, delimChoice byte, crlf bool) {
		if len(codeList)+len(descList) > sourcefile.DefaultMaxFieldBytes {
			t.Skip("a field over the limit is FuzzParse's case")
		}
		codes := strings.Split(codeList, "|")
		descs := strings.Split(descList, "|")
		if len(codes) > 50 {
			codes = codes[:50]
		}
		delim := []rune{',', ';', '\t'}[delimChoice%3]
		withCount := delimChoice&4 == 0
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma, w.UseCRLF = delim, crlf
		header := []string{"source_code", "source_description"}
		if withCount {
			header = append(header, "frequency")
		}
		_ = w.Write(header)

		type expect struct {
			codes    []sourcefile.Code
			byCode   map[string]int
			rows     int
			total    int64
			empty    int // rows with an empty code
			badUTF8  bool
			nonBlank bool
		}
		want := expect{byCode: map[string]int{}}
		line := 2
		for i, code := range codes {
			desc := "term " + strconv.Itoa(i)
			if i < len(descs) {
				desc = descs[i]
			}
			count := int64(1)
			rec := []string{code, desc}
			if withCount {
				count = 0
				if 2*i+1 < len(countBytes) {
					count = int64(binary.BigEndian.Uint16(countBytes[2*i:]))
				}
				rec = append(rec, strconv.FormatInt(count, 10))
			}
			_ = w.Write(rec)
			startLine := line
			line += 1 + strings.Count(strings.Join(rec, ""), "\n")
			if !utf8.ValidString(code) || !utf8.ValidString(desc) || strings.ContainsRune(code+desc, 0) {
				want.badUTF8 = true
				continue
			}
			// encoding/csv reads a quoted "\r\n" as "\n".
			code = strings.TrimSpace(strings.ReplaceAll(code, "\r\n", "\n"))
			desc = strings.TrimSpace(strings.ReplaceAll(desc, "\r\n", "\n"))
			if code == "" && desc == "" && !withCount {
				continue // a blank row is skipped
			}
			want.rows++
			if code == "" {
				want.empty++
				continue
			}
			at, seen := want.byCode[code]
			if !seen {
				at = len(want.codes)
				want.byCode[code] = at
				want.codes = append(want.codes, sourcefile.Code{Code: code, Line: startLine})
			}
			c := &want.codes[at]
			c.Count += count
			c.Rows++
			want.total += count
			if c.Description == "" {
				c.Description = desc
			}
		}
		w.Flush()

		res, err := sourcefile.Parse(context.Background(), &buf, sourcefile.Options{Delimiter: delim})
		switch {
		case want.badUTF8:
			if !errors.Is(err, sourcefile.ErrEncoding) {
				t.Fatalf("invalid UTF-8 or NUL in a field: want ErrEncoding, got %v", err)
			}
		case want.rows == 0:
			if !errors.Is(err, sourcefile.ErrEmpty) {
				t.Fatalf("no data rows: want ErrEmpty, got %v", err)
			}
		case want.empty > 0:
			var re *sourcefile.RowErrors
			if !errors.As(err, &re) || re.Total != want.empty || !strings.Contains(re.Rows[0].Detail, "empty code") {
				t.Fatalf("%d rows with an empty code: got %v", want.empty, err)
			}
		case err != nil:
			t.Fatalf("well-formed file refused: %v\n%q", err, buf.String())
		default:
			if res.Rows != want.rows || res.TotalCount != want.total || res.Delimiter != delim {
				t.Fatalf("rows %d total %d delimiter %q, want %d %d %q", res.Rows, res.TotalCount, res.Delimiter, want.rows, want.total, delim)
			}
			if !reflect.DeepEqual(res.Codes, want.codes) {
				t.Fatalf("codes\n got %+v\nwant %+v", res.Codes, want.codes)
			}
			if len(res.Codes) > res.Rows {
				t.Fatalf("%d distinct codes from %d rows", len(res.Codes), res.Rows)
			}
		}
	})
}

package sourcefile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portiere/portiere/sourcefile"
)

// FuzzParse checks Parse's contract on arbitrary bytes: it never panics,
// returns exactly one of a result and an error, and a result is internally
// consistent — distinct non-empty valid-UTF-8 codes whose counts and rows add
// up to the totals.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"code,description,count\nGLU,Glucose,10\nNA,Sodium,5\nGLU,Glucose serum,7\n",
		"\ufeffsource_code;source_description;frequency\r\nK;Kalium;3\r\n",
		"local_code\tname\tspecimen\tunit\tdomain\tcategory\nA1\tHb\tBlood\tg/dL\tMeasurement\tHem\n",
		"code,term,n\n\"X,1\",\"Pain, chest\nradiating\",4\n\n,,\n",
		"code,description\n1,caf\xe9\n",
		"\xff\xfec\x00o\x00",
		"code,description\n2,\"open\n3,c\n",
		"code,description,count\n,empty,1\nB,x,-1\nC,y,1.0\n",
		"",
		"code|description\n1|a\n",
	} {
		f.Add([]byte(seed), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, delimChoice byte) {
		opts := sourcefile.Options{Limits: sourcefile.Limits{MaxBytes: 1 << 16, MaxRows: 500, MaxColumns: 20, MaxFieldBytes: 200, MaxErrors: 5}}
		opts.DescriptionAsCode = delimChoice&4 != 0
		switch delimChoice % 4 {
		case 1:
			opts.Delimiter = ','
		case 2:
			opts.Delimiter = ';'
		case 3:
			opts.Delimiter = '\t'
		}
		res, err := sourcefile.Parse(context.Background(), strings.NewReader(string(data)), opts)
		if (res == nil) == (err == nil) {
			t.Fatalf("result %v and error %v", res, err)
		}
		if err != nil {
			known := false
			for _, s := range []error{sourcefile.ErrEmpty, sourcefile.ErrTooLarge, sourcefile.ErrEncoding, sourcefile.ErrMissingColumn, sourcefile.ErrMalformed} {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			var re *sourcefile.RowErrors
			if errors.As(err, &re) && (re.Total < len(re.Rows) || len(re.Rows) > 5 || len(re.Rows) == 0) {
				t.Fatalf("row errors: %d listed, total %d", len(re.Rows), re.Total)
			}
			return
		}
		if len(res.Codes) == 0 || res.Rows == 0 {
			t.Fatalf("a result without codes: %+v", res)
		}
		seen := map[string]bool{}
		var total int64
		rows := 0
		for _, c := range res.Codes {
			if c.Code == "" || strings.TrimSpace(c.Code) != c.Code || !utf8.ValidString(c.Code) || !utf8.ValidString(c.Description) {
				t.Fatalf("bad code %+v", c)
			}
			if seen[c.Code] {
				t.Fatalf("code %q twice", c.Code)
			}
			seen[c.Code] = true
			if c.Count < 0 || c.Rows < 1 || c.Line < 2 {
				t.Fatalf("bad counts %+v", c)
			}
			total += c.Count
			rows += c.Rows
		}
		if total != res.TotalCount || rows != res.Rows || rows > 500 {
			t.Fatalf("totals: counts %d vs %d, rows %d vs %d", total, res.TotalCount, rows, res.Rows)
		}
		if res.Columns.Code == "" || res.Columns.Description == "" {
			t.Fatalf("columns %+v", res.Columns)
		}
	})
}

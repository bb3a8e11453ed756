package sourcefile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/portiere/portiere/sourcefile"
)

func Example() {
	upload := strings.NewReader("\ufeffLocal Code;Term;Frequency\nGLU;Glucose;10\nNA;Sodium;5\nGLU;Glucose;7\n")
	res, err := sourcefile.Parse(context.Background(), upload, sourcefile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q %v %+v\n", res.Delimiter, res.BOM, res.Columns)
	for _, c := range res.Codes {
		fmt.Println(c.Code, c.Description, c.Count)
	}

	_, err = sourcefile.Parse(context.Background(), strings.NewReader("code,description\nA,ok\n,no code\nB\n"), sourcefile.Options{})
	var rows *sourcefile.RowErrors
	if errors.As(err, &rows) {
		fmt.Println(err)
	}
	// Output:
	// ';' true {Code:Local Code Description:Term Count:Frequency Specimen: Unit: DomainHint: Category:}
	// GLU Glucose 17
	// NA Sodium 5
	// sourcefile: malformed rows: 2 malformed rows: line 3: empty code in column "code" (a source without codes can use its descriptions as codes: DescriptionAsCode); line 4: 1 fields, the header has 2
}

// The repository's demo upload (README quick start) must parse.
func TestParseDemoSourceCodes(t *testing.T) {
	f, err := os.Open("../testdata/demo-source-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := sourcefile.Parse(context.Background(), f, sourcefile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Codes) != 40 || res.Codes[0].Code != "LAB001" || res.Codes[0].Description != "Haemoglobin A1c" ||
		res.Columns.Code != "source_code" || res.Columns.Description != "source_description" {
		t.Fatalf("demo file: %d codes, first %+v, columns %+v", len(res.Codes), res.Codes[0], res.Columns)
	}
}

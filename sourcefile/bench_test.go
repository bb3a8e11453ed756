package sourcefile_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/portiere/portiere/sourcefile"
)

// BenchmarkParse parses a 200,000-row upload (50,000 distinct codes, each
// on four rows, with counts and two context columns): throughput (MB/s)
// and allocations per upload.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("source_code,source_description,count,specimen,unit\n")
	for i := range 200_000 {
		fmt.Fprintf(&buf, "LAB%06d,\"Analyte %d, serum or plasma\",%d,Blood,mg/dL\n", i%50_000, i%50_000, i%97)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := sourcefile.Parse(context.Background(), bytes.NewReader(data), sourcefile.Options{})
		if err != nil || len(res.Codes) != 50_000 {
			b.Fatalf("%v, %d codes", err, len(res.Codes))
		}
	}
}

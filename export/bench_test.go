package export

import (
	"io"
	"strconv"
	"testing"
)

// BenchmarkWrite measures one decision written in each format; B/op stays
// flat however many decisions precede it, which is what streaming means.
func BenchmarkWrite(b *testing.B) {
	base := sample()[1]
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			w, err := New(f, io.Discard, Options{SetID: "https://example.org/bench"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d := base
				d.SourceCode = "LAB" + strconv.Itoa(i/2) // two targets per code
				if err := w.Write(d); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

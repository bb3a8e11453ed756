package faiss

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/search/embed"
)

// benchSearch measures single-query Search calls, the API's latency-bound
// use, cycling through 1,000 perturbed names, and reports the median and
// 99th-percentile latency besides the mean (ns/op).
func benchSearch(b *testing.B, x *Index, queries [][]float32) {
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		if _, _, err := x.Search(queries[i%len(queries):i%len(queries)+1], 10); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSearchFlat is exact search over the ~125k development names.
func BenchmarkSearchFlat(b *testing.B) {
	names, v, d := devVectors(b)
	x := mustBuild(b, v, d, Options{Kind: KindFlat})
	benchSearch(b, x, devQueries(b, names, 1000))
}

// BenchmarkSearchIVF is IVF search over the ~125k development names with the
// default options (calibrated nprobe).
func BenchmarkSearchIVF(b *testing.B) {
	names, v, d := devVectors(b)
	x := mustBuild(b, v, d, Options{Kind: KindIVFFlat})
	b.Logf("%+v", x.Meta())
	benchSearch(b, x, devQueries(b, names, 1000))
}

// BenchmarkSearchIVFSQ8 is BenchmarkSearchIVF with 8-bit codes.
func BenchmarkSearchIVFSQ8(b *testing.B) {
	names, v, d := devVectors(b)
	x := mustBuild(b, v, d, Options{Kind: KindIVFSQ8})
	b.Logf("%+v", x.Meta())
	benchSearch(b, x, devQueries(b, names, 1000))
}

// BenchmarkBuild125k builds each kind over the ~125k development names with
// default options, IVF calibration included.
func BenchmarkBuild125k(b *testing.B) {
	_, v, d := devVectors(b)
	for _, kind := range []Kind{KindFlat, KindIVFFlat, KindIVFSQ8} {
		b.Run(string(kind), func(b *testing.B) {
			for b.Loop() {
				x, err := Build(v, d, Options{Kind: kind})
				if err != nil {
					b.Fatal(err)
				}
				x.Close()
			}
		})
	}
}

// BenchmarkBuild1M builds IVF indexes over 1M synthetic names: each a
// development concept name joined with the last two words of another, embedded
// with the Hash embedder, so that the vectors cluster like real names do
// (random vectors would not). It takes minutes and several GB, so it runs only
// with PORTIERE_BENCH_LARGE=1.
func BenchmarkBuild1M(b *testing.B) {
	if os.Getenv("PORTIERE_BENCH_LARGE") == "" {
		b.Skip("set PORTIERE_BENCH_LARGE=1 to build a 1M-vector index")
	}
	names := devConceptNames(b)
	const n = 1_000_000
	texts := make([]string, n)
	for i := range texts {
		other := strings.Fields(names[(i*7919+13)%len(names)])
		texts[i] = names[i%len(names)] + " " + strings.Join(other[max(0, len(other)-2):], " ")
	}
	h, err := embed.NewHash(embed.HashOptions{})
	if err != nil {
		b.Fatal(err)
	}
	vs, err := h.Embed(context.Background(), texts)
	if err != nil {
		b.Fatal(err)
	}
	v := make([]float32, 0, n*h.Dim())
	for _, row := range vs {
		v = append(v, row...)
	}
	vs = nil
	for _, kind := range []Kind{KindIVFFlat, KindIVFSQ8} {
		b.Run(string(kind), func(b *testing.B) {
			for b.Loop() {
				x, err := Build(v, h.Dim(), Options{Kind: kind})
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%+v", x.Meta())
				x.Close()
			}
		})
	}
}

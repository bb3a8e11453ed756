package search_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/faiss"
	"github.com/portiere/portiere/searchindex"
)

// syntheticCorpus grows the development vocabulary to n concepts,
// deterministically: each extra concept recombines the words of two real
// concept names of the same vocabulary and domain, so the term statistics
// stay clinical.
func syntheticCorpus(dev *search.Corpus, n int) *search.Corpus {
	b := search.NewCorpusBuilder()
	for _, c := range dev.Concepts {
		c.Synonyms = append([]string(nil), c.Synonyms...)
		b.AddConcept(c)
		for _, s := range c.Synonyms {
			b.AddSynonym(c.ID, s)
		}
	}
	r := rand.New(rand.NewSource(42))
	m := len(dev.Concepts)
	id := int32(1_000_000_000)
	for i := m; i < n; i++ {
		a := &dev.Concepts[r.Intn(m)]
		o := &dev.Concepts[r.Intn(m)]
		wa, wo := strings.Fields(a.Name), strings.Fields(o.Name)
		cut := 1 + r.Intn(max(1, len(wa)))
		name := strings.Join(append(append([]string{}, wa[:min(cut, len(wa))]...), wo[len(wo)/2:]...), " ")
		id++
		b.AddConcept(search.Concept{ID: id, Name: name, Domain: a.Domain, Vocabulary: a.Vocabulary, Class: a.Class,
			Standard: a.Standard, Code: fmt.Sprintf("SYN%d", i), InvalidReason: ""})
		if i%3 == 0 && len(a.Synonyms) > 0 {
			b.AddSynonym(id, a.Synonyms[0]+" "+wo[0])
		}
	}
	return b.Build()
}

// goldQueries are every gold set's terms; PORTIERE_BENCH_SETS=n keeps the
// first n sets (3: the query mix of the figures before lab names and units
// were added).
func goldQueries(t testing.TB) []search.Query {
	var qs []search.Query
	sets := goldSets
	if n, err := strconv.Atoi(os.Getenv("PORTIERE_BENCH_SETS")); err == nil && n > 0 && n < len(sets) {
		sets = sets[:n]
	}
	for _, gs := range sets {
		for _, g := range readGold(t, gs.file) {
			qs = append(qs, search.Query{Text: g.text, Limit: 10, Filter: gs.filter})
		}
	}
	return qs
}

// latency runs every query once on one goroutine and returns p50 and p99,
// then runs them from GOMAXPROCS goroutines for d and returns queries/s.
func latency(b *testing.B, e *search.Engine, qs []search.Query, d time.Duration) (p50, p99 time.Duration, qps float64) {
	ctx := context.Background()
	lat := make([]time.Duration, len(qs))
	for i, q := range qs {
		t := time.Now()
		if _, err := e.Search(ctx, q); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 = lat[len(lat)/2], lat[len(lat)*99/100]

	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i += 7 {
				e.Search(ctx, qs[i%len(qs)])
				n.Add(1)
			}
		}(w)
	}
	wg.Wait()
	return p50, p99, float64(n.Load()) / d.Seconds()
}

func benchScale(b *testing.B, n int) {
	dev := loadDevCorpus(b)
	corpus := dev
	if n > len(dev.Concepts) {
		corpus = syntheticCorpus(dev, n)
	}
	runtime.GC()
	// The peak so far is the harness's: reading the vocabulary and
	// generating the synthetic concepts. What the build adds shows beside it.
	b.Logf("peak RSS before the build (harness: vocabulary read, synthetic concepts) %.0f MB", peakRSSMB())
	start := time.Now()
	opts := search.Options{}
	if os.Getenv("PORTIERE_LEXICAL_ONLY") == "" {
		// Hybrid: the hash embedder and a FAISS index, as deployed.
		emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
		if err != nil {
			b.Fatal(err)
		}
		// The deployment's pipeline (`portiere index build`): embedded
		// batches on disk, the FAISS index built from them and saved.
		path := filepath.Join(b.TempDir(), "faiss.index")
		if _, err := searchindex.BuildAndSave(context.Background(), corpus, emb, path); err != nil {
			b.Fatal(err)
		}
		ix, err := faiss.Load(path, search.DenseIndexMeta(corpus, emb))
		if err != nil {
			b.Fatal(err)
		}
		defer ix.Close()
		m := ix.Meta()
		m.ConceptIDs = nil
		b.Logf("dense index: %+v; peak RSS after the dense build %.0f MB", m, peakRSSMB())
		opts.Dense = &search.DenseTier{Embedder: emb, Index: ix}
	}
	e := search.NewEngine(corpus, opts)
	build := time.Since(start)
	qs := goldQueries(b)
	b.ResetTimer()
	var p50, p99 time.Duration
	var qps float64
	for i := 0; i < b.N; i++ {
		p50, p99, qps = latency(b, e, qs, 3*time.Second)
	}
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(qps, "queries/s")
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(len(corpus.Concepts)), "concepts")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	// What a serving process holds once built: drop the build's garbage.
	runtime.GC()
	debug.FreeOSMemory()
	b.ReportMetric(rssMB("VmRSS:"), "serving-RSS-MB")
	runtime.KeepAlive(e)
}

// peakRSSMB is the process's peak resident set (VmHWM), in MiB.
func peakRSSMB() float64 { return rssMB("VmHWM:") }

// rssMB reads one memory line of /proc/self/status, in MiB.
func rssMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

func BenchmarkScale125k(b *testing.B) { benchScale(b, 0) }
func BenchmarkScale1M(b *testing.B)   { benchScale(b, 1_000_000) }

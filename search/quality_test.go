package search_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"github.com/portiere/portiere/searchindex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/embed"
)

// devData is ../shared/data beside the repository.
const devData = "../../shared/data"

var (
	devOnce   sync.Once
	devCorpus *search.Corpus
	devErr    error
)

// loadDevCorpus reads the 125k-concept development vocabulary once.
func loadDevCorpus(t testing.TB) *search.Corpus {
	t.Helper()
	if _, err := os.Stat(filepath.Join(devData, "athena-dev", "CONCEPT.csv")); err != nil {
		t.Skipf("development vocabulary not found at %s", devData)
	}
	devOnce.Do(func() { devCorpus, devErr = readAthenaTSV(filepath.Join(devData, "athena-dev")) })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return devCorpus
}

func readAthenaTSV(dir string) (*search.Corpus, error) {
	b := search.NewCorpusBuilder()
	each := func(name string, fn func([]string) error) error {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sc.Scan()
		for sc.Scan() {
			if err := fn(strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t")); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	id := func(s string) int32 { n, _ := strconv.Atoi(s); return int32(n) }
	if err := each("CONCEPT.csv", func(r []string) error {
		return b.AddConcept(search.Concept{ID: id(r[0]), Name: r[1], Domain: r[2], Vocabulary: r[3], Class: r[4], Standard: r[5], Code: r[6], InvalidReason: r[9]})
	}); err != nil {
		return nil, err
	}
	if err := each("CONCEPT_SYNONYM.csv", func(r []string) error { b.AddSynonym(id(r[0]), r[1]); return nil }); err != nil {
		return nil, err
	}
	if err := each("CONCEPT_RELATIONSHIP.csv", func(r []string) error {
		b.AddRelationship(id(r[0]), id(r[1]), r[2], r[5])
		return nil
	}); err != nil {
		return nil, err
	}
	return b.Build(), nil
}

type goldRow struct {
	code, text string
	targets    map[int32]bool
}

type goldSet struct {
	name   string
	file   string
	filter search.Filter
	kind   search.TermKind // what its terms are, for the classifier's accuracy
}

var goldSets = []goldSet{
	{"procedures", "procedures_ncsp_to_snomed.csv", search.Filter{StandardOnly: true}, search.TermProcedure},
	{"drug packages", "drug_packages_to_rxnorm.csv", search.Filter{StandardOnly: true}, search.TermDrug},
	{"disease names", "disease_names_to_icd10cm.csv", search.Filter{Vocabularies: []string{"ICD10CM"}}, search.TermDiagnosis},
	{"lab names", "labs_local_to_loinc.csv", search.Filter{StandardOnly: true}, search.TermLab},
	{"unit strings", "units_to_ucum.csv", search.Filter{StandardOnly: true}, search.TermUnit},
}

func readGold(t testing.TB, file string) []goldRow {
	t.Helper()
	f, err := os.Open(filepath.Join(devData, "gold-dev", file))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []goldRow
	for _, r := range rows[1:] {
		g := goldRow{code: r[0], text: r[1], targets: map[int32]bool{}}
		for _, s := range strings.Split(r[2], ";") {
			n, _ := strconv.Atoi(strings.TrimSpace(s))
			g.targets[int32(n)] = true
		}
		out = append(out, g)
	}
	return out
}

type quality struct {
	n                 int
	top1, top5, top10 float64
	mrr               float64
	auto, autoCorrect int
	kindRight         int // terms classified as the set's kind
	kindText          int // the same with the text alone (no filter context)
}

func measure(t testing.TB, e *search.Engine, gs goldSet, rows []goldRow, failures func(goldRow, search.Result)) quality {
	var q quality
	for _, g := range rows {
		res, err := e.Search(context.Background(), search.Query{Text: g.text, Limit: 10, Filter: gs.filter})
		if err != nil {
			t.Fatalf("%q: %v", g.text, err)
		}
		q.n++
		if res.Kind == gs.kind {
			q.kindRight++
		}
		if e.Classify(g.text) == gs.kind {
			q.kindText++
		}
		rank := 0
		for i, c := range res.Candidates {
			if g.targets[c.Concept.ID] {
				rank = i + 1
				break
			}
		}
		if rank == 1 {
			q.top1++
		} else if failures != nil {
			failures(g, res)
		}
		if rank >= 1 && rank <= 5 {
			q.top5++
		}
		if rank >= 1 {
			q.top10++
			q.mrr += 1 / float64(rank)
		}
		if res.Route == search.RouteAuto {
			q.auto++
			if rank == 1 {
				q.autoCorrect++
			}
		}
	}
	n := float64(q.n)
	q.top1, q.top5, q.top10, q.mrr = q.top1/n, q.top5/n, q.top10/n, q.mrr/n
	return q
}

// TestQualityReport prints quality per gold set. It runs with
// PORTIERE_QUALITY=1 (make bench runs it); PORTIERE_QUALITY_FAILURES=N also
// prints N misses per set.
func TestQualityReport(t *testing.T) {
	if os.Getenv("PORTIERE_QUALITY") == "" {
		t.Skip("set PORTIERE_QUALITY=1")
	}
	corpus := loadDevCorpus(t)
	opts := search.Options{}
	if w := os.Getenv("PORTIERE_WEIGHTS"); w != "" { // experiments: "qcov,dcov,bm25,dense,numbers,intent,kind,specimen"
		var ws [8]float64
		fmt.Sscanf(w, "%f,%f,%f,%f,%f,%f,%f,%f", &ws[0], &ws[1], &ws[2], &ws[3], &ws[4], &ws[5], &ws[6], &ws[7])
		opts.Weights = search.Weights{QueryCoverage: ws[0], TextCoverage: ws[1], BM25: ws[2], Dense: ws[3], Numbers: ws[4], Intent: ws[5], Kind: ws[6], Parts: ws[7]}
	}
	opts.Depth, _ = strconv.Atoi(os.Getenv("PORTIERE_DEPTH"))
	modes := []search.Fusion{search.FusionLexical}
	if os.Getenv("PORTIERE_DENSE") != "" {
		opts.Dense = devDenseTier(t, corpus)
		modes = []search.Fusion{search.FusionLexical, search.FusionDense, search.FusionRRF, search.FusionWeighted}
	}
	if m := os.Getenv("PORTIERE_FUSION"); m != "" {
		modes = []search.Fusion{search.Fusion(m)}
	}
	for _, mode := range modes {
		opts.Fusion = mode
		t.Logf("fusion %s", mode)
		qualityReport(t, corpus, search.NewEngine(corpus, opts))
	}
}

func qualityReport(t *testing.T, corpus *search.Corpus, e *search.Engine) {
	nFail, _ := strconv.Atoi(os.Getenv("PORTIERE_QUALITY_FAILURES"))
	for _, gs := range goldSets {
		rows := readGold(t, gs.file)
		shown := 0
		q := measure(t, e, gs, rows, func(g goldRow, res search.Result) {
			if shown >= nFail {
				return
			}
			shown++
			var top []string
			for i, c := range res.Candidates {
				if i == 3 {
					break
				}
				mark := ""
				if g.targets[c.Concept.ID] {
					mark = "*"
				}
				top = append(top, fmt.Sprintf("%s%s [%s %.3f]", mark, c.Concept.Name, c.Concept.Vocabulary, c.Score))
			}
			var want []string
			for id := range g.targets {
				if c, ok := corpus.Lookup(id); ok {
					want = append(want, c.Name)
				}
			}
			route := ""
			if res.Route == search.RouteAuto {
				route = " (AUTO)"
			}
			t.Logf("MISS%s %q kind %q want %v got %v", route, g.text, res.Kind, want, top)
		})
		t.Logf("%-14s n=%4d top1=%.3f top5=%.3f top10=%.3f mrr=%.3f auto=%d (%.1f%%, precision %.3f) kind=%.3f (text alone %.3f)",
			gs.name, q.n, q.top1, q.top5, q.top10, q.mrr, q.auto, 100*float64(q.auto)/float64(q.n), float64(q.autoCorrect)/max(1, float64(q.auto)),
			float64(q.kindRight)/float64(q.n), float64(q.kindText)/float64(q.n))
	}
}

var (
	denseOnce sync.Once
	denseDev  *search.DenseTier
)

// devDenseTier embeds the development vocabulary with the deployed hash
// embedder — or, with PORTIERE_EMBED_MODEL=DIR, the ONNX model in DIR
// (scripts/bootstrap.sh puts all-MiniLM-L6-v2 in lib/minilm) — and
// indexes it with FAISS as deployed, once per test binary.
// PORTIERE_DENSE_CODES=1 also fuses it for lab names and units.
func devDenseTier(t testing.TB, corpus *search.Corpus) *search.DenseTier {
	denseOnce.Do(func() {
		var e search.Embedder
		var err error
		if dir := os.Getenv("PORTIERE_EMBED_MODEL"); dir != "" {
			e, err = embed.NewONNX(dir, embed.ONNXOptions{LibraryPath: os.Getenv(embed.RuntimeLibraryEnv)})
		} else {
			e, err = searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
		}
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ix, err := search.BuildDenseIndex(context.Background(), corpus, e, searchindex.FAISSOptions(corpus.TextCount()), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("dense tier %s: %d texts embedded and indexed in %s (%.0f texts/s)", e.ID(), corpus.TextCount(),
			time.Since(start).Round(time.Millisecond), float64(corpus.TextCount())/time.Since(start).Seconds())
		denseDev = &search.DenseTier{Embedder: e, Index: ix, ForCodes: os.Getenv("PORTIERE_DENSE_CODES") != ""}
	})
	return denseDev
}

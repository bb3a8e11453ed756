package faiss

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/search/embed"
)

// devConceptNames reads concept_name (column 2) of the development
// vocabulary, ../shared/data/athena-dev/CONCEPT.csv from the repository root.
// The test is skipped where that data is absent.
func devConceptNames(t testing.TB) []string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "data", "athena-dev", "CONCEPT.csv")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("skipping: no development vocabulary at %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var names []string
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue // header
		}
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) < 2 {
			t.Fatalf("%s:%d: %d columns", path, line+1, len(cols))
		}
		names = append(names, cols[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// devVectors embeds the development vocabulary's names with the Hash
// embedder, one vector after the other.
func devVectors(t testing.TB) (names []string, flat []float32, dim int) {
	t.Helper()
	names = devConceptNames(t)
	h, err := embed.NewHash(embed.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	vs, err := h.Embed(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	flat = make([]float32, 0, len(vs)*h.Dim())
	for _, v := range vs {
		flat = append(flat, v...)
	}
	t.Logf("embedded %d names with %s in %v", len(names), h.ID(), time.Since(start))
	return names, flat, h.Dim()
}

// perturb changes a name the way a source term differs from a concept name:
// a dropped letter, swapped words, or case and punctuation.
func perturb(name string, i int) string {
	words := strings.Fields(name)
	switch {
	case i%3 == 0 && len(name) > 6:
		j := len(name) / 2
		return name[:j] + name[j+1:]
	case i%3 == 1 && len(words) > 1:
		words[0], words[1] = words[1], words[0]
		return strings.Join(words, " ")
	default:
		return strings.ToUpper(strings.ReplaceAll(name, ",", "")) + "."
	}
}

func devQueries(t testing.TB, names []string, n int) [][]float32 {
	t.Helper()
	h, err := embed.NewHash(embed.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	step := len(names) / n
	var texts []string
	for i := 0; i < n; i++ {
		texts = append(texts, perturb(names[i*step], i))
	}
	qs, err := h.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// TestIVFRecallDevVocabulary builds exact and IVF indexes over the ~125k
// names of the development vocabulary and checks that IVF with its
// calibrated nprobe finds at least 95% of the exact top 10 for 1,000
// perturbed names.
func TestIVFRecallDevVocabulary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: builds a 125k-vector IVF index")
	}
	names, v, d := devVectors(t)
	queries := devQueries(t, names, 1000)
	flat := mustBuild(t, v, d, Options{Kind: KindFlat})

	start := time.Now()
	ivf := mustBuild(t, v, d, Options{})
	m := ivf.Meta()
	t.Logf("built %s: %d vectors, nlist %d, train %d, calibrated nprobe %d, in %v",
		m.Kind, m.Count, m.NList, m.TrainSize, m.NProbe, time.Since(start))
	if m.Kind != KindIVFFlat {
		t.Fatalf("KindAuto chose %s for %d vectors", m.Kind, m.Count)
	}
	r := recallAt(t, flat, ivf, queries, 10)
	t.Logf("recall@10 of IVF against flat, 1000 perturbed names: %.4f", r)
	if r < 0.95 {
		t.Errorf("recall@10 = %.4f, want ≥ 0.95", r)
	}
}

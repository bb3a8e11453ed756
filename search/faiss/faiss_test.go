package faiss

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// randomUnit returns n random unit vectors of dimension d, one after the
// other. They have no cluster structure, the hard case for IVF.
func randomUnit(n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n*d)
	for i := range n {
		row := v[i*d : (i+1)*d]
		var s float64
		for j := range row {
			x := rng.NormFloat64()
			row[j] = float32(x)
			s += x * x
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / math.Sqrt(s))
		}
	}
	return v
}

func rows(flat []float32, d int, idx ...int) [][]float32 {
	out := make([][]float32, len(idx))
	for k, i := range idx {
		out[k] = flat[i*d : (i+1)*d]
	}
	return out
}

func mustBuild(t testing.TB, v []float32, d int, opts Options) *Index {
	t.Helper()
	x, err := Build(v, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func TestFlatSearch(t *testing.T) {
	const n, d = 1000, 32
	v := randomUnit(n, d, 1)
	x := mustBuild(t, v, d, Options{})
	if m := x.Meta(); m.Kind != KindFlat || m.Count != n || m.Dim != d || x.Len() != n || x.Dim() != d {
		t.Fatalf("Meta = %+v", m)
	}
	ids, scores, err := x.Search(rows(v, d, 0, 17, 999), 5)
	if err != nil {
		t.Fatal(err)
	}
	for k, self := range []int64{0, 17, 999} {
		if len(ids[k]) != 5 || ids[k][0] != self || math.Abs(float64(scores[k][0])-1) > 1e-5 {
			t.Errorf("query %d: ids %v scores %v", self, ids[k], scores[k])
		}
		if !slices.IsSortedFunc(scores[k], func(a, b float32) int { return -cmpF(a, b) }) {
			t.Errorf("query %d: scores not descending: %v", self, scores[k])
		}
	}
	// More results asked than vectors: the rows are cut, not padded with -1.
	small := mustBuild(t, v[:3*d], d, Options{})
	ids, _, err = small.Search(rows(v, d, 0), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids[0]) != 3 {
		t.Errorf("3-vector index, k=10: ids %v", ids[0])
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestBuildErrors(t *testing.T) {
	v := randomUnit(100, 8, 2)
	for name, c := range map[string]struct {
		v    []float32
		d    int
		opts Options
	}{
		"empty":          {nil, 8, Options{}},
		"ragged":         {v[:799], 8, Options{}},
		"zero dim":       {v, 0, Options{}},
		"unknown kind":   {v, 8, Options{Kind: "hnsw"}},
		"nlist > n":      {v, 8, Options{Kind: KindIVFFlat, NList: 101}},
		"recall > 1":     {v, 8, Options{Kind: KindIVFFlat, NList: 4, TargetRecall: 2}},
		"negative opts":  {v, 8, Options{Kind: KindIVFFlat, NList: 4, NProbe: -1}},
		"negative nlist": {v, 8, Options{Kind: KindIVFFlat, NList: -4}},
	} {
		if _, err := Build(c.v, c.d, c.opts); err == nil || !strings.HasPrefix(err.Error(), "faiss: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSearchErrorsAndClose(t *testing.T) {
	v := randomUnit(50, 8, 3)
	x := mustBuild(t, v, 8, Options{})
	if _, _, err := x.Search([][]float32{make([]float32, 7)}, 1); err == nil {
		t.Error("wrong query dimension: no error")
	}
	if _, _, err := x.Search(rows(v, 8, 0), 0); err == nil {
		t.Error("k = 0: no error")
	}
	if ids, _, err := x.Search(nil, 3); err != nil || ids != nil {
		t.Errorf("no queries: %v, %v", ids, err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := x.Search(rows(v, 8, 0), 1); err == nil || err.Error() != "faiss: index is closed" {
		t.Errorf("Search after Close: err = %v", err)
	}
	if err := x.Save(filepath.Join(t.TempDir(), "x"), Meta{ConceptIDs: make([]int64, 50)}); err == nil {
		t.Error("Save after Close: no error")
	}
}

func testMeta(n int) Meta {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = 4000000 + int64(i)*3
	}
	ids[n/2] = 2100000001 // out of order, and large
	ids[n/3] = -7
	return Meta{EmbedderID: "hash-v1-32", Dim: 32, VocabularyFingerprint: "athena-2025-08-27:abc", ConceptIDs: ids}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	const n, d = 4000, 32
	v := randomUnit(n, d, 4)
	q := randomUnit(40, d, 5)
	var queries [][]float32
	for i := range 40 {
		queries = append(queries, q[i*d:(i+1)*d])
	}
	for _, kind := range []Kind{KindFlat, KindIVFFlat, KindIVFSQ8} {
		t.Run(string(kind), func(t *testing.T) {
			x := mustBuild(t, v, d, Options{Kind: kind, NList: 32, Threads: 1})
			wantIDs, wantScores, err := x.Search(queries, 10)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "concepts.faiss")
			meta := testMeta(n)
			if err := x.Save(path, meta); err != nil {
				t.Fatal(err)
			}
			// Saving again over the same files works, and leaves no temporaries.
			if err := x.Save(path, meta); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
			if len(files) != 3 {
				t.Errorf("files after Save: %v", files)
			}
			y, err := Load(path, Meta{EmbedderID: meta.EmbedderID, Dim: d, VocabularyFingerprint: meta.VocabularyFingerprint})
			if err != nil {
				t.Fatal(err)
			}
			defer y.Close()
			gotIDs, gotScores, err := y.Search(queries, 10)
			if err != nil {
				t.Fatal(err)
			}
			for i := range queries {
				if !slices.Equal(gotIDs[i], wantIDs[i]) || !slices.Equal(gotScores[i], wantScores[i]) {
					t.Fatalf("query %d after Load: %v %v, want %v %v", i, gotIDs[i], gotScores[i], wantIDs[i], wantScores[i])
				}
			}
			got, want := y.Meta(), x.Meta()
			if !slices.Equal(got.ConceptIDs, meta.ConceptIDs) {
				t.Error("concept order changed")
			}
			want.EmbedderID, want.VocabularyFingerprint = meta.EmbedderID, meta.VocabularyFingerprint
			got.ConceptIDs, want.ConceptIDs = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Meta after Load = %+v, want %+v", got, want)
			}
			if kind != KindFlat && (got.NList != 32 || got.NProbe < 1 || got.TrainSize != min(n, 32*DefaultTrainPerList)) {
				t.Errorf("IVF parameters: %+v", got)
			}
		})
	}
}

func TestLoadMismatch(t *testing.T) {
	const n, d = 200, 32
	x := mustBuild(t, randomUnit(n, d, 6), d, Options{})
	path := filepath.Join(t.TempDir(), "idx")
	meta := testMeta(n)
	if err := x.Save(path, meta); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expect Meta
		msg    string
	}{
		{Meta{EmbedderID: "onnx-sapbert-0123456789ab-768"}, `faiss: index built with embedder "hash-v1-32", want "onnx-sapbert-0123456789ab-768"`},
		{Meta{EmbedderID: "hash-v1-32", Dim: 384}, `faiss: index has dimension 32, want 384`},
		{Meta{EmbedderID: "hash-v1-32", Dim: 32, VocabularyFingerprint: "other"}, `faiss: index built from vocabulary "athena-2025-08-27:abc", want "other"`},
	} {
		_, err := Load(path, c.expect)
		if err == nil || err.Error() != c.msg || !errors.Is(err, ErrMismatch) {
			t.Errorf("Load(%+v): err = %v, want %q matching ErrMismatch", c.expect, err, c.msg)
		}
	}
	// Empty expectations check nothing.
	y, err := Load(path, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	y.Close()
}

func TestLoadDamaged(t *testing.T) {
	const d = 32
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	x := mustBuild(t, randomUnit(100, d, 7), d, Options{})
	y := mustBuild(t, randomUnit(100, d, 8), d, Options{})
	if err := x.Save(a, testMeta(100)); err != nil {
		t.Fatal(err)
	}
	if err := y.Save(b, testMeta(100)); err != nil {
		t.Fatal(err)
	}
	if err := x.Save(filepath.Join(dir, "short"), testMeta(99)); err == nil {
		t.Error("Save with 99 concept ids for 100 vectors: no error")
	}
	// An index file from another save, as a crash between renames leaves.
	raw, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(a, Meta{}); err == nil || !strings.Contains(err.Error(), "interrupted save") {
		t.Errorf("mixed files: err = %v", err)
	}
	ids, err := os.ReadFile(b + idsSuffix)
	if err != nil {
		t.Fatal(err)
	}
	ids[len(ids)-1] ^= 1
	if err := os.WriteFile(b+idsSuffix, ids, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(b, Meta{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged ids: err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), Meta{}); err == nil {
		t.Error("missing index: no error")
	}
	// A corrupt FAISS file with matching checksums: FAISS's exception must
	// come back as an error, not abort the process.
	c := filepath.Join(dir, "c")
	if err := x.Save(c, testMeta(100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(c + metaSuffix)
	crc, _ := checksum(c)
	js = []byte(strings.Replace(string(js), `"index_crc32c": `, `"index_crc32c": `+strconv.FormatUint(uint64(crc), 10)+`, "old": `, 1))
	if err := os.WriteFile(c+metaSuffix, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(c, Meta{}); err == nil || !strings.HasPrefix(err.Error(), "faiss: reading ") {
		t.Errorf("corrupt FAISS file: err = %v", err)
	}
}

func TestConcurrentSearch(t *testing.T) {
	const n, d = 5000, 32
	v := randomUnit(n, d, 9)
	x := mustBuild(t, v, d, Options{Kind: KindIVFFlat, NList: 64, Threads: 1})
	queries := rows(randomUnit(16, d, 10), d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
	want, _, err := x.Search(queries, 10)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 50 {
				i := (g + r) % len(queries)
				got, _, err := x.Search(queries[i:i+1], 10)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got[0], want[i]) {
					t.Errorf("concurrent search %d: %v, want %v", i, got[0], want[i])
					return
				}
			}
		}()
	}
	// SetNProbe while searches run must not race; setting it back keeps the
	// expected results valid.
	p := x.Meta().NProbe
	x.SetNProbe(p)
	wg.Wait()
}

// TestCalibratedNProbe checks that the nprobe chosen at build time reaches
// the target recall on queries that are not in the index.
func TestCalibratedNProbe(t *testing.T) {
	const n, d = 20000, 32
	v := randomUnit(n, d, 11)
	start := time.Now()
	ivf := mustBuild(t, v, d, Options{Kind: KindIVFFlat, Seed: 1})
	flat := mustBuild(t, v, d, Options{Kind: KindFlat})
	m := ivf.Meta()
	t.Logf("built %+v in %v", m, time.Since(start))
	if m.NList != int(4*math.Sqrt(n)) || m.NProbe < 1 || m.NProbe > m.NList {
		t.Fatalf("Meta = %+v", m)
	}
	q := randomUnit(300, d, 12)
	var queries [][]float32
	for i := range 300 {
		queries = append(queries, q[i*d:(i+1)*d])
	}
	r := recallAt(t, flat, ivf, queries, 10)
	t.Logf("recall@10 on held-out random queries at nprobe %d: %.3f", m.NProbe, r)
	// Random vectors are the worst case and the sample is small: allow some
	// slack below the target.
	if r < DefaultTargetRecall-0.05 {
		t.Errorf("recall@10 = %.3f at calibrated nprobe %d", r, m.NProbe)
	}
}

// recallAt is the mean fraction of exact's top k that approx also returns.
func recallAt(t testing.TB, exact, approx *Index, queries [][]float32, k int) float64 {
	t.Helper()
	want, _, err := exact.Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := approx.Search(queries, k)
	if err != nil {
		t.Fatal(err)
	}
	hits, total := 0, 0
	for i := range queries {
		for _, id := range want[i] {
			if slices.Contains(got[i], id) {
				hits++
			}
		}
		total += len(want[i])
	}
	return float64(hits) / float64(total)
}

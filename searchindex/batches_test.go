package searchindex

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/portiere/portiere/search/faiss"
)

// The index built a batch file at a time, its training sample read where
// it lies, is the index FAISS builds from all the vectors in memory: an IVF
// index (above the flat threshold) with the same calibrated NProbe and a
// byte-identical file.
func TestBuildFromBatchesEqualsBuildInMemory(t *testing.T) {
	const n, dim, size = 60_000, 16, 4096
	rng := rand.New(rand.NewPCG(7, 7))
	flat := make([]float32, n*dim)
	for i := range n {
		var s float64
		for j := range dim {
			x := rng.NormFloat64()
			flat[i*dim+j] = float32(x)
			s += x * x
		}
		for j := range dim {
			flat[i*dim+j] = float32(float64(flat[i*dim+j]) / math.Sqrt(s))
		}
	}
	dir := t.TempDir()
	for start := 0; start < n; start += size {
		var buf []byte
		for _, f := range flat[start*dim : min(start+size, n)*dim] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
		}
		if err := os.WriteFile(batchFile(dir, start), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	streamed, err := buildFromBatches(Batches{Dir: dir, Texts: n}, dim)
	if err != nil {
		t.Fatal(err)
	}
	defer streamed.Close()
	whole, err := faiss.Build(flat, dim, FAISSOptions(n))
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	sm, wm := streamed.Meta(), whole.Meta()
	if sm.Kind == faiss.KindFlat || sm.NProbe != wm.NProbe || sm.NList != wm.NList {
		t.Fatalf("streamed %+v, in memory %+v", sm, wm)
	}
	out := t.TempDir()
	meta := faiss.Meta{EmbedderID: "test", Dim: dim, VocabularyFingerprint: "fp", ConceptIDs: make([]int64, n)}
	for name, ix := range map[string]*faiss.Index{"streamed": streamed, "whole": whole} {
		if err := ix.Save(filepath.Join(out, name), meta); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(out, "streamed"))
	b, _ := os.ReadFile(filepath.Join(out, "whole"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("index files differ (%d and %d bytes)", len(a), len(b))
	}

	// A batch missing from the middle is named, not indexed around.
	os.Remove(batchFile(dir, 2*size))
	if _, err := buildFromBatches(Batches{Dir: dir, Texts: n}, dim); err == nil {
		t.Error("a missing batch was not noticed")
	}
}

package faiss

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A Builder fed in chunks, with calibration vectors read back on demand,
// builds the index Build builds from the same vectors in memory: same
// parameters, same calibrated NProbe, byte-identical index file.
func TestBuilderInChunksEqualsBuild(t *testing.T) {
	const n, d = 12000, 32
	v := randomUnit(n, d, 21)
	// Duplicates make calibration ties, which the chunked exact search must
	// order as one search over every vector does.
	copy(v[5000*d:5001*d], v[17*d:18*d])
	copy(v[11999*d:12000*d], v[17*d:18*d])
	for _, kind := range []Kind{KindFlat, KindIVFFlat, KindIVFSQ8} {
		t.Run(string(kind), func(t *testing.T) {
			opts := Options{Kind: kind, NList: 64, Seed: 3, Threads: 1}
			if kind == KindFlat {
				opts.NList = 0
			}
			whole := mustBuild(t, v, d, opts)

			b, err := NewBuilder(n, d, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			reads := 0
			at := func(positions []int) ([]float32, error) {
				reads += len(positions)
				var out []float32
				for _, p := range positions {
					out = append(out, v[p*d:(p+1)*d]...)
				}
				return out, nil
			}
			sample, _ := at(b.Sample())
			reads = 0
			if err := b.Add(v[:d]); err == nil && kind != KindFlat {
				t.Error("Add before Train accepted")
			} else if kind == KindFlat {
				// A flat index needs no training: the vector is in; start over.
				b.Close()
				if b, err = NewBuilder(n, d, opts); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Train(sample); err != nil {
				t.Fatal(err)
			}
			for start := 0; start < n; start += 2500 {
				if err := b.Add(v[start*d : min(start+2500, n)*d]); err != nil {
					t.Fatal(err)
				}
			}
			chunked, err := b.Finish(at)
			if err != nil {
				t.Fatal(err)
			}
			defer chunked.Close()
			if kind != KindFlat && reads > n/2 {
				t.Errorf("calibration read back %d of %d vectors: it should need a sample, not all", reads, n)
			}
			wm, cm := whole.Meta(), chunked.Meta()
			if wm.NList != cm.NList || wm.NProbe != cm.NProbe || wm.TrainSize != cm.TrainSize || wm.Kind != cm.Kind || wm.Count != cm.Count {
				t.Fatalf("chunked meta %+v, whole %+v", cm, wm)
			}
			dir := t.TempDir()
			meta := testMeta(n)
			if err := whole.Save(filepath.Join(dir, "whole.faiss"), meta); err != nil {
				t.Fatal(err)
			}
			if err := chunked.Save(filepath.Join(dir, "chunked.faiss"), meta); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(filepath.Join(dir, "whole.faiss"))
			c, _ := os.ReadFile(filepath.Join(dir, "chunked.faiss"))
			if len(a) == 0 || !bytes.Equal(a, c) {
				t.Errorf("index files differ (%d and %d bytes)", len(a), len(c))
			}
		})
	}
}

func TestBuilderRefusesWrongCounts(t *testing.T) {
	const n, d = 3000, 8
	v := randomUnit(n, d, 5)
	b, err := NewBuilder(n, d, Options{Kind: KindIVFFlat, NList: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Train(v[:d]); err == nil {
		t.Error("Train with a short sample accepted")
	}
	var sample []float32
	for _, p := range b.Sample() {
		sample = append(sample, v[p*d:(p+1)*d]...)
	}
	if err := b.Train(sample); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(v[:d+1]); err == nil {
		t.Error("Add of a partial vector accepted")
	}
	if err := b.Add(v[:(n-1)*d]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(nil); err == nil {
		t.Error("Finish with a vector missing accepted")
	}
	if err := b.Add(v[:2*d]); err == nil {
		t.Error("Add past n accepted")
	}
}

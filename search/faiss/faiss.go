// Package faiss is the dense retrieval tier's vector index: exact or
// inverted-file (IVF) inner-product search over unit vectors with FAISS,
// called through a small C++ shim compiled by cgo, and index files that
// record which embedder, vocabulary and concept order they were built from.
//
// Building needs FAISS and OpenBLAS headers and libraries (Debian:
// libfaiss-dev, libopenblas-dev; scripts/bootstrap.sh installs them). The
// Debian build has no AVX2 kernels, which is why there is no HNSW kind: its
// graph search is slow without them, while IVF's list scans are BLAS-bound.
//
// The package imports nothing from the rest of Portiere.
package faiss

/*
#cgo CXXFLAGS: -std=c++17 -fopenmp -O2
#cgo LDFLAGS: -lfaiss -lopenblas -lgomp -lstdc++ -lm
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Kind is the index structure.
type Kind string

// The index kinds. All use inner product, which is cosine similarity for the
// unit vectors package embed returns.
const (
	// KindAuto picks KindFlat up to Options.FlatThreshold vectors and
	// KindIVFFlat above.
	KindAuto Kind = ""
	// KindFlat is exact search: every query is compared with every vector.
	KindFlat Kind = "flat"
	// KindIVFFlat clusters the vectors into NList lists by k-means and scans
	// only the NProbe lists nearest to a query; vectors are stored exactly.
	KindIVFFlat Kind = "ivf-flat"
	// KindIVFSQ8 is KindIVFFlat with each coordinate stored in one byte:
	// a quarter of the memory, slightly lower recall.
	KindIVFSQ8 Kind = "ivf-sq8"
)

// Defaults of Options.
const (
	DefaultFlatThreshold   = 50_000
	DefaultTargetRecall    = 0.97
	DefaultTrainIterations = 10
	// DefaultTrainPerList is the training sample per IVF list. FAISS warns
	// below 39; k-means time grows with it, its quality barely does above.
	DefaultTrainPerList = 40
	// calibrationQueries is the sample used to choose NProbe.
	calibrationQueries = 250
	calibrationK       = 10
)

// Options configures Build. The zero value is the default.
type Options struct {
	// Kind is the index structure; KindAuto by default.
	Kind Kind
	// FlatThreshold is the largest vector count KindAuto builds flat; 0
	// means DefaultFlatThreshold.
	FlatThreshold int
	// NList is the number of IVF lists; 0 means 4·√n.
	NList int
	// NProbe is the number of lists an IVF search scans. 0 means: the
	// smallest that gives TargetRecall recall@10 against exact search,
	// measured at build time on a sample of the vectors used as queries
	// (each excluding itself).
	NProbe int
	// TargetRecall is the recall@10 NProbe is chosen for; 0 means
	// DefaultTargetRecall.
	TargetRecall float64
	// TrainSize is the number of vectors k-means trains on, drawn at random;
	// 0 means DefaultTrainPerList per list, at most all of them.
	TrainSize int
	// TrainIterations is the number of k-means iterations; 0 means
	// DefaultTrainIterations.
	TrainIterations int
	// Threads is the OpenMP thread count for training and adding; 0 means
	// one per CPU.
	Threads int
	// SearchThreads is the OpenMP thread count of each Search call; 0 means
	// 1, which gives the lowest latency when many goroutines search at once.
	// Raise it for large query batches on an otherwise idle machine.
	SearchThreads int
	// Seed seeds the training sample and the calibration queries; builds
	// with the same vectors, options and seed give the same index.
	Seed uint64
}

// Index is a FAISS inner-product index. Search may be called from many
// goroutines at once; Close waits for running searches and frees the C
// memory, which the garbage collector does not see, so every Index must be
// closed.
type Index struct {
	mu            sync.RWMutex // Close takes it exclusively, searches share it
	c             *C.pf_index
	dim           int
	n             int
	nprobe        atomic.Int64
	searchThreads int
	meta          Meta
}

// withoutSelf returns the first k ids other than self and -1.
func withoutSelf(ids []int64, self int64, k int) []int64 {
	out := make([]int64, 0, k)
	for _, id := range ids {
		if id != self && id >= 0 && len(out) < k {
			out = append(out, id)
		}
	}
	return out
}

// Len is the number of indexed vectors.
func (x *Index) Len() int { return x.n }

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// Meta describes the index: its kind and parameters always, and after Load
// also the embedder, vocabulary and concept order it was saved with. The
// returned ConceptIDs slice is shared; do not modify it.
func (x *Index) Meta() Meta {
	m := x.meta
	if m.Kind != KindFlat {
		m.NProbe = int(x.nprobe.Load())
	}
	return m
}

// SetNProbe sets the number of lists later IVF searches scan (at most NList):
// more is slower and closer to exact. It has no effect on a flat index, and
// is safe to call while searches run.
func (x *Index) SetNProbe(nprobe int) {
	x.nprobe.Store(int64(min(max(nprobe, 1), max(x.meta.NList, 1))))
}

// Search returns, for each query, the positions of the k indexed vectors with
// the largest inner product with it, best first, and those inner products.
// A row is shorter than k only when the index holds fewer than k vectors (or,
// for IVF, fewer in the lists scanned). Search fails if a query's length is
// not Dim, if k < 1, after Close, or if FAISS fails; it is safe for
// concurrent use.
func (x *Index) Search(queries [][]float32, k int) (ids [][]int64, scores [][]float32, err error) {
	if k < 1 {
		return nil, nil, fmt.Errorf("faiss: k = %d, want at least 1", k)
	}
	if len(queries) == 0 {
		return nil, nil, nil
	}
	q := make([]float32, 0, len(queries)*x.dim)
	for i, v := range queries {
		if len(v) != x.dim {
			return nil, nil, fmt.Errorf("faiss: query %d has dimension %d, want %d", i, len(v), x.dim)
		}
		q = append(q, v...)
	}
	nq := len(queries)
	d := make([]float32, nq*k)
	labels := make([]int64, nq*k)

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return nil, nil, errors.New("faiss: index is closed")
	}
	if err := cerr(C.pf_search(x.c, C.int64_t(nq), (*C.float)(&q[0]), C.int64_t(k), C.int(x.nprobe.Load()),
		C.int(x.searchThreads), (*C.float)(&d[0]), (*C.int64_t)(&labels[0]))); err != nil {
		return nil, nil, fmt.Errorf("faiss: search: %w", err)
	}
	ids = make([][]int64, nq)
	scores = make([][]float32, nq)
	for i := range nq {
		row := labels[i*k : (i+1)*k : (i+1)*k]
		// FAISS pads missing results with -1, always at the end.
		n := slices.Index(row, -1)
		if n < 0 {
			n = k
		}
		ids[i] = row[:n:n]
		scores[i] = d[i*k : i*k+n : i*k+n]
	}
	return ids, scores, nil
}

// Close frees the index's C memory, after any running searches finish.
// Searches after Close fail; Close is idempotent.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c != nil {
		C.pf_free(x.c)
		x.c = nil
	}
	return nil
}

// cerr turns a message from the shim into an error and frees it.
func cerr(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

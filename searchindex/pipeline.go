package searchindex

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/faiss"
)

// This file is the one pipeline that writes a deployment's index at
// FAISS_INDEX_PATH: embed the vocabulary in batches (each finished batch
// saved, so an interrupted build resumes), build the FAISS index from the
// batches and save it atomically with its metadata. IndexBuildWorkflow runs
// it step by step as activities, `portiere index build` in one call
// (BuildAndSave). API and worker processes never write the index: they
// Open it.

// DefaultEmbedBatch is the number of texts per embedding batch (and per
// file of finished vectors).
const DefaultEmbedBatch = 4096

// ErrNoIndex means no index built from the live vocabulary with the
// configured embedder is saved at FAISS_INDEX_PATH: the index build has not
// run (or not finished) since the vocabulary or embedder changed.
var ErrNoIndex = errors.New("searchindex: no search index for this vocabulary and embedder: run the index build (portiere init, or POST /api/v1/workflows/index-build)")

// Batches says where a vocabulary's embedded vectors are.
type Batches struct {
	Dir         string
	Fingerprint string
	EmbedderID  string
	Texts       int
	Batches     int
	Skipped     int // batches found done by an earlier attempt
}

// BatchDir is where the finished batches of the vocabulary with
// fingerprint fp embedded by embedderID are kept, beside indexPath.
func BatchDir(indexPath, fp, embedderID string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, embedderID)
	return filepath.Join(filepath.Dir(indexPath), ".embed-"+fp[:16]+"-"+safe)
}

func batchFile(dir string, start int) string {
	return filepath.Join(dir, fmt.Sprintf("%09d.f32", start))
}

// EmbedBatches embeds every text of c with emb in batches of size (0:
// DefaultEmbedBatch) and writes each finished batch to a file in
// BatchDir(indexPath, ...). Batches whose file is complete are skipped, so a
// retried call resumes; resume (the start of the next batch an earlier
// attempt reported) only tells the log what to expect. done is called with
// the start of the next batch after each one is saved (heartbeats).
func EmbedBatches(ctx context.Context, c *search.Corpus, emb search.Embedder, indexPath string, size, resume int, done func(next int), log func(msg string, args ...any)) (Batches, error) {
	if size <= 0 {
		size = DefaultEmbedBatch
	}
	texts, _ := c.Texts()
	dim := emb.Dim()
	res := Batches{Dir: BatchDir(indexPath, c.Fingerprint, emb.ID()), Fingerprint: c.Fingerprint, EmbedderID: emb.ID(), Texts: len(texts)}
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return Batches{}, fmt.Errorf("searchindex: %w", err)
	}
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		res.Batches++
		path := batchFile(res.Dir, start)
		if st, err := os.Stat(path); err == nil && st.Size() == int64((end-start)*dim*4) {
			res.Skipped++
			continue
		} else if start < resume && log != nil {
			log("batch before the heartbeated cursor is missing; embedding it again", "start", start)
		}
		vecs, err := embedParallel(ctx, emb, texts[start:end])
		if err != nil {
			return Batches{}, err
		}
		buf := make([]byte, 0, (end-start)*dim*4)
		for _, v := range vecs {
			for _, f := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
		}
		if err := writeFileAtomic(path, buf); err != nil {
			return Batches{}, err
		}
		if done != nil {
			done(end)
		}
	}
	return res, nil
}

// embedParallel embeds texts on every CPU, keeping their order.
func embedParallel(ctx context.Context, emb search.Embedder, texts []string) ([][]float32, error) {
	workers := runtime.GOMAXPROCS(0)
	per := (len(texts) + workers - 1) / workers
	out := make([][]float32, len(texts))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(texts))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			vecs, err := emb.Embed(ctx, texts[lo:hi])
			if err != nil {
				errs[w] = err
				return
			}
			copy(out[lo:hi], vecs)
		}(w, lo, hi)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("searchindex: embed: %w", err)
	}
	return out, nil
}

// writeFileAtomic writes data to path through a temporary file renamed
// into place. On failure (a full disk) the temporary file is removed, so
// it holds no space and no partial batch can be taken for a saved one;
// the error names the file.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("searchindex: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("searchindex: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("searchindex: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("searchindex: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("searchindex: %w", err)
	}
	return nil
}

// ErrVocabularyChanged means the batches were embedded from another
// vocabulary or with another embedder than the ones given now.
var ErrVocabularyChanged = errors.New("searchindex: the vocabulary or embedder changed since it was embedded; start the build again")

// Saved describes an index saved at a path.
type Saved struct {
	Path        string
	Version     string // IndexVersion
	Fingerprint string
	EmbedderID  string
	Vectors     int
	Kind        string
	CreatedAt   time.Time
}

// SaveFromBatches reads the batches b, builds the FAISS index with
// FAISSOptions (a batch at a time: the vectors are never all in memory) and
// saves it at indexPath with its metadata (each file under
// a temporary name, renamed into place), then removes the batches unless
// keep. c and emb must still be the ones embedded (ErrVocabularyChanged).
// beat, when set, is called every few seconds while FAISS builds.
func SaveFromBatches(c *search.Corpus, emb search.Embedder, b Batches, indexPath string, keep bool) (Saved, error) {
	if c.Fingerprint != b.Fingerprint || emb.ID() != b.EmbedderID {
		return Saved{}, ErrVocabularyChanged
	}
	ix, err := buildFromBatches(b, emb.Dim())
	if err != nil {
		return Saved{}, err
	}
	defer ix.Close()
	meta := search.DenseIndexMeta(c, emb)
	meta.CreatedAt = time.Now().UTC()
	if err := os.MkdirAll(filepath.Dir(indexPath), 0o755); err != nil {
		return Saved{}, fmt.Errorf("searchindex: %w", err)
	}
	if err := ix.Save(indexPath, meta); err != nil {
		return Saved{}, err
	}
	if !keep {
		os.RemoveAll(b.Dir)
	}
	return Saved{
		Path: indexPath, Version: IndexVersion(c, emb),
		Fingerprint: c.Fingerprint, EmbedderID: emb.ID(), Vectors: ix.Len(), Kind: string(ix.Meta().Kind), CreatedAt: meta.CreatedAt,
	}, nil
}

// BuildAndSave runs the whole pipeline in one call: embed c, build and
// save the index at indexPath. `portiere index build` and tests use it;
// the workflow runs the same steps as separate activities.
func BuildAndSave(ctx context.Context, c *search.Corpus, emb search.Embedder, indexPath string) (Saved, error) {
	b, err := EmbedBatches(ctx, c, emb, indexPath, 0, 0, nil, nil)
	if err != nil {
		return Saved{}, err
	}
	return SaveFromBatches(c, emb, b, indexPath, false)
}

// Freshness compares the live vocabulary and embedder with the index saved
// at a path.
type Freshness struct {
	Stale                 bool
	Reason                string
	VocabularyFingerprint string
	IndexFingerprint      string
}

// CheckFreshness reports whether the index at indexPath is missing or was
// built from another vocabulary or embedder than c and emb.
func CheckFreshness(c *search.Corpus, emb search.Embedder, indexPath string) Freshness {
	res := Freshness{VocabularyFingerprint: c.Fingerprint}
	m, err := faiss.ReadMeta(indexPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		res.Stale, res.Reason = true, "no index saved"
	case err != nil:
		res.Stale, res.Reason = true, err.Error()
	case m.VocabularyFingerprint != c.Fingerprint:
		res.Stale, res.Reason = true, "vocabulary changed"
	case m.EmbedderID != emb.ID():
		res.Stale, res.Reason = true, "embedder changed"
	}
	if err == nil {
		res.IndexFingerprint = m.VocabularyFingerprint
	}
	return res
}

// batchFiles are the files of embedded vectors, in position order.
type batchFiles struct {
	dir   string
	dim   int
	start []int // start[i] is the position of file i's first vector
	n     []int // n[i] is file i's vector count
}

// listBatches finds b's files by their sizes, without reading them.
func listBatches(b Batches, dim int) (batchFiles, error) {
	fs := batchFiles{dir: b.Dir, dim: dim}
	for start := 0; start < b.Texts; {
		path := batchFile(b.Dir, start)
		st, err := os.Stat(path)
		if err != nil {
			// Lost batches (another machine's disk, a cleaned folder):
			// embedding again resumes from what is there.
			return batchFiles{}, fmt.Errorf("searchindex: embedded batch missing: %w", err)
		}
		if st.Size() == 0 || st.Size()%int64(4*dim) != 0 {
			return batchFiles{}, fmt.Errorf("searchindex: %s has %d bytes, not a multiple of the dimension", path, st.Size())
		}
		n := int(st.Size() / int64(4*dim))
		fs.start, fs.n = append(fs.start, start), append(fs.n, n)
		start += n
		if start > b.Texts {
			return batchFiles{}, fmt.Errorf("searchindex: %d vectors embedded, want %d", start, b.Texts)
		}
	}
	return fs, nil
}

// read returns the vectors of file i.
func (fs batchFiles) read(i int) ([]float32, error) {
	raw, err := os.ReadFile(batchFile(fs.dir, fs.start[i]))
	if err != nil {
		return nil, fmt.Errorf("searchindex: %w", err)
	}
	if len(raw) != fs.n[i]*fs.dim*4 {
		return nil, fmt.Errorf("searchindex: %s changed while the index was built", batchFile(fs.dir, fs.start[i]))
	}
	return float32s(raw), nil
}

// at returns the vectors at positions, one after the other, reading only
// those.
func (fs batchFiles) at(positions []int) ([]float32, error) {
	out := make([]float32, len(positions)*fs.dim)
	order := make([]int, len(positions))
	for i := range order {
		order[i] = i
	}
	// File by file, each opened once.
	slices.SortFunc(order, func(a, b int) int { return positions[a] - positions[b] })
	buf := make([]byte, 4*fs.dim)
	var f *os.File
	open := -1
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for _, i := range order {
		p := positions[i]
		file, _ := slices.BinarySearch(fs.start, p+1)
		file--
		if file < 0 || p >= fs.start[file]+fs.n[file] {
			return nil, fmt.Errorf("searchindex: no embedded vector at position %d", p)
		}
		if file != open {
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = os.Open(batchFile(fs.dir, fs.start[file])); err != nil {
				return nil, fmt.Errorf("searchindex: %w", err)
			}
			open = file
		}
		if _, err := f.ReadAt(buf, int64(p-fs.start[file])*int64(len(buf))); err != nil {
			return nil, fmt.Errorf("searchindex: reading %s: %w", f.Name(), err)
		}
		copy(out[i*fs.dim:], float32s(buf))
	}
	return out, nil
}

func float32s(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// buildFromBatches builds the FAISS index of b's vectors with FAISSOptions:
// the training sample read where it lies, then one file at a time added.
func buildFromBatches(b Batches, dim int) (*faiss.Index, error) {
	fs, err := listBatches(b, dim)
	if err != nil {
		return nil, err
	}
	builder, err := faiss.NewBuilder(b.Texts, dim, FAISSOptions(b.Texts))
	if err != nil {
		return nil, err
	}
	defer builder.Close()
	sample, err := fs.at(builder.Sample())
	if err != nil {
		return nil, err
	}
	if err := builder.Train(sample); err != nil {
		return nil, err
	}
	for i := range fs.start {
		vecs, err := fs.read(i)
		if err != nil {
			return nil, err
		}
		if err := builder.Add(vecs); err != nil {
			return nil, err
		}
	}
	return builder.Finish(fs.at)
}

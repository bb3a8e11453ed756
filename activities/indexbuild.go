package activities

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/faiss"
	"github.com/portiere/portiere/searchindex"
)

// DefaultEmbedBatch is the number of texts per embedding batch (and per
// file of finished vectors).
const DefaultEmbedBatch = 4096

// EmbedInput configures EmbedVocabulary.
type EmbedInput struct {
	BatchSize int // 0 means DefaultEmbedBatch
}

// EmbedResult says where the vectors are. Skipped counts the batches found
// done by an earlier attempt.
type EmbedResult struct {
	Dir         string
	Fingerprint string
	EmbedderID  string
	Texts       int
	Batches     int
	Skipped     int
}

// embedDir is where the finished batches of the vocabulary with
// fingerprint fp embedded by embedderID are kept, beside the index.
func (a *Activities) embedDir(fp, embedderID string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, embedderID)
	return filepath.Join(filepath.Dir(a.Index.IndexPath), ".embed-"+fp[:16]+"-"+safe)
}

func batchFile(dir string, start int) string {
	return filepath.Join(dir, fmt.Sprintf("%09d.f32", start))
}

// EmbedVocabulary embeds every text of the live vocabulary in batches and
// writes each finished batch to a file (temporary name, then rename) in a
// folder keyed by the vocabulary fingerprint and the embedder, beside
// FAISS_INDEX_PATH. It heartbeats the next batch's start; a retried attempt
// resumes there, and batches whose file is already complete are never
// embedded again, so an interrupted build loses at most one batch.
func (a *Activities) EmbedVocabulary(ctx context.Context, in EmbedInput) (EmbedResult, error) {
	if a.Index.IndexPath == "" {
		return EmbedResult{}, temporal.NewNonRetryableApplicationError("activities: FAISS_INDEX_PATH is empty", "InvalidConfig", nil)
	}
	size := in.BatchSize
	if size <= 0 {
		size = DefaultEmbedBatch
	}
	c, err := a.liveCorpus(ctx)
	if err != nil {
		return EmbedResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return EmbedResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	texts, _ := c.Texts()
	dim := emb.Dim()
	res := EmbedResult{Dir: a.embedDir(c.Fingerprint, emb.ID()), Fingerprint: c.Fingerprint, EmbedderID: emb.ID(), Texts: len(texts)}
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return EmbedResult{}, fmt.Errorf("activities: %w", err)
	}
	resume := 0
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &resume); err != nil {
			resume = 0
		}
		a.log().Info("resuming vocabulary embedding", "next_batch", resume, "texts", len(texts))
	}
	for start := 0; start < len(texts); start += size {
		end := min(start+size, len(texts))
		res.Batches++
		path := batchFile(res.Dir, start)
		if st, err := os.Stat(path); err == nil && st.Size() == int64((end-start)*dim*4) {
			res.Skipped++
			continue
		} else if start < resume {
			a.log().Warn("batch before the heartbeated cursor is missing; embedding it again", "start", start)
		}
		vecs, err := embedParallel(ctx, emb, texts[start:end])
		if err != nil {
			return EmbedResult{}, err
		}
		buf := make([]byte, 0, (end-start)*dim*4)
		for _, v := range vecs {
			for _, f := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(f))
			}
		}
		if err := writeFileAtomic(path, buf); err != nil {
			return EmbedResult{}, err
		}
		activity.RecordHeartbeat(ctx, end)
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
		return nil, fmt.Errorf("activities: embed: %w", err)
	}
	return out, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("activities: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("activities: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("activities: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("activities: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("activities: %w", err)
	}
	return nil
}

// BuildIndexInput names the embedded vectors to index.
type BuildIndexInput struct {
	Embedded EmbedResult
	// Keep keeps the embedded batches after the index is saved (tests).
	Keep bool
}

// BuildIndexResult describes the saved index.
type BuildIndexResult struct {
	Path        string
	Version     string // searchindex.IndexVersion
	Fingerprint string
	EmbedderID  string
	Vectors     int
	Kind        string
	CreatedAt   time.Time
}

// BuildIndex reads the embedded batches, builds the FAISS index with
// searchindex.FAISSOptions and saves it at FAISS_INDEX_PATH with its
// metadata (each file under a temporary name, renamed into place), then
// removes the batches. The vocabulary must still be the one embedded.
func (a *Activities) BuildIndex(ctx context.Context, in BuildIndexInput) (BuildIndexResult, error) {
	c, err := a.liveCorpus(ctx)
	if err != nil {
		return BuildIndexResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return BuildIndexResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	e := in.Embedded
	if c.Fingerprint != e.Fingerprint || emb.ID() != e.EmbedderID {
		return BuildIndexResult{}, temporal.NewNonRetryableApplicationError(
			"activities: the vocabulary or embedder changed since it was embedded; start the build again", "VocabularyChanged", nil)
	}
	dim := emb.Dim()
	flat := make([]float32, 0, e.Texts*dim)
	size := 0
	for start := 0; start < e.Texts; start += size {
		b, err := os.ReadFile(batchFile(e.Dir, start))
		if err != nil {
			// Lost batches (another machine's disk, a cleaned folder):
			// embedding again resumes from what is there.
			return BuildIndexResult{}, fmt.Errorf("activities: embedded batch missing: %w", err)
		}
		n := len(b) / 4
		if n == 0 || n%dim != 0 {
			return BuildIndexResult{}, fmt.Errorf("activities: %s has %d bytes, not a multiple of the dimension", batchFile(e.Dir, start), len(b))
		}
		for i := 0; i < n; i++ {
			flat = append(flat, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		size = n / dim
	}
	if len(flat) != e.Texts*dim {
		return BuildIndexResult{}, fmt.Errorf("activities: %d vectors embedded, want %d", len(flat)/dim, e.Texts)
	}
	stop := keepAlive(ctx)
	defer stop()
	ix, err := faiss.Build(flat, dim, searchindex.FAISSOptions(e.Texts))
	if err != nil {
		return BuildIndexResult{}, err
	}
	defer ix.Close()
	meta := search.DenseIndexMeta(c, emb)
	meta.CreatedAt = time.Now().UTC()
	if err := os.MkdirAll(filepath.Dir(a.Index.IndexPath), 0o755); err != nil {
		return BuildIndexResult{}, fmt.Errorf("activities: %w", err)
	}
	if err := ix.Save(a.Index.IndexPath, meta); err != nil {
		return BuildIndexResult{}, err
	}
	if !in.Keep {
		os.RemoveAll(e.Dir)
	}
	m := ix.Meta()
	return BuildIndexResult{
		Path: a.Index.IndexPath, Version: searchindex.IndexVersion(c, emb),
		Fingerprint: c.Fingerprint, EmbedderID: emb.ID(), Vectors: ix.Len(), Kind: string(m.Kind), CreatedAt: meta.CreatedAt,
	}, nil
}

// IndexFreshnessResult compares the live vocabulary with the saved index.
type IndexFreshnessResult struct {
	Stale                 bool
	Reason                string
	VocabularyFingerprint string
	IndexFingerprint      string
}

// IndexFreshness reports whether the index at FAISS_INDEX_PATH is missing
// or was built from another vocabulary or embedder than the live ones.
func (a *Activities) IndexFreshness(ctx context.Context) (IndexFreshnessResult, error) {
	c, err := a.liveCorpus(ctx)
	if err != nil {
		return IndexFreshnessResult{}, err
	}
	emb, err := a.embedder()
	if err != nil {
		return IndexFreshnessResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidConfig", err)
	}
	res := IndexFreshnessResult{VocabularyFingerprint: c.Fingerprint}
	m, err := faiss.ReadMeta(a.Index.IndexPath)
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
	return res, nil
}

// Package searchindex owns the search index: the one embedding pipeline,
// the build and atomic save of the dense FAISS index (pipeline.go), the
// freshness check, and the live engine API and worker serve (Live).
//
// Exactly one kind of writer saves the index at FAISS_INDEX_PATH:
// IndexBuildWorkflow, and `portiere index build` running the same pipeline
// (BuildAndSave). The API and the worker only Open what was saved and are
// not ready until it exists. `portiere map` keeps its own cache of indexes
// in a folder keyed by vocabulary and embedder (Build with IndexDir).
package searchindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/embed"
	"github.com/portiere/portiere/search/faiss"
)

// Deployment defaults for the model-free hash embedder: 256 dimensions and
// an IVF recall target of 0.9 keep hybrid search within its latency budget
// with the same top-1 quality as 384 dimensions at 0.97 recall (see
// docs/benchmarks.md).
const (
	HashDim      = 256
	TargetRecall = 0.8
)

// Config selects the embedder and where the dense index lives.
type Config struct {
	EmbeddingModel string // "hash" or "onnx"
	ModelPath      string // folder with model.onnx and vocab.txt, for "onnx"
	// RuntimeLibrary is the ONNX Runtime library (ONNXRUNTIME_LIB); empty
	// means embed's default places.
	RuntimeLibrary string
	IndexPath      string // FAISS_INDEX_PATH: read by Open, written only by the build pipeline
	// IndexDir keeps one index per vocabulary fingerprint and embedder: the
	// local cache of `portiere map` (Build).
	IndexDir string
	// Lexical, when set, replaces the embedded BM25 retrieval
	// (Elasticsearch).
	Lexical search.LexicalSearcher
	// Fusion overrides the default weighted fusion (ablations).
	Fusion search.Fusion
	Logger *slog.Logger
}

// NewEmbedder returns the embedder cfg names.
func NewEmbedder(cfg Config) (search.Embedder, error) {
	switch cfg.EmbeddingModel {
	case "", "hash":
		return embed.NewHash(embed.HashOptions{Dim: HashDim})
	case "onnx":
		if cfg.ModelPath == "" {
			return nil, fmt.Errorf("searchindex: EMBEDDING_MODEL=onnx needs EMBEDDING_MODEL_PATH (a folder with model.onnx and vocab.txt; see docs/sapbert-onnx.md)")
		}
		return embed.NewONNX(cfg.ModelPath, embed.ONNXOptions{LibraryPath: cfg.RuntimeLibrary})
	}
	return nil, fmt.Errorf("searchindex: unknown EMBEDDING_MODEL %q (want hash or onnx)", cfg.EmbeddingModel)
}

// Info describes a built engine, for logs and /health/ready.
type Info struct {
	Version     string    `json:"version"` // fingerprint and embedder: changes when either does
	Fingerprint string    `json:"vocabulary_fingerprint"`
	EmbedderID  string    `json:"embedder"`
	Concepts    int       `json:"concepts"`
	DenseBuilt  bool      `json:"dense_index_built"` // false: loaded from IndexPath
	BuiltAt     time.Time `json:"built_at"`
	// IndexCreatedAt is when the dense index served was built (its saved
	// metadata); Live.Watch reloads when the saved one's differs.
	IndexCreatedAt time.Time `json:"index_created_at"`
	Took           string    `json:"took"`
}

// Build makes the engine for corpus for `portiere map`: the embedded
// lexical index, and the dense tier loaded from the cache in cfg.IndexDir
// or built and cached there. It never writes FAISS_INDEX_PATH: a
// deployment's processes Open the index the build pipeline saved.
func Build(ctx context.Context, corpus *search.Corpus, cfg Config) (*search.Engine, Info, error) {
	emb, err := NewEmbedder(cfg)
	if err != nil {
		return nil, Info{}, err
	}
	return BuildWith(ctx, corpus, emb, cfg)
}

// BuildWith is Build with the embedder given instead of named by cfg.
func BuildWith(ctx context.Context, corpus *search.Corpus, emb search.Embedder, cfg Config) (*search.Engine, Info, error) {
	start := time.Now()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.IndexDir == "" {
		return nil, Info{}, errors.New("searchindex: Build needs an IndexDir (a deployment opens FAISS_INDEX_PATH with Open)")
	}
	path := CachePath(cfg.IndexDir, corpus, emb)
	meta := search.DenseIndexMeta(corpus, emb)
	ix, why := faiss.Load(path, meta)
	built := why != nil
	if built {
		if !errors.Is(why, os.ErrNotExist) {
			// Another vocabulary or embedder is routine; a damaged file is not.
			level := slog.LevelInfo
			if !errors.Is(why, faiss.ErrMismatch) {
				level = slog.LevelWarn
			}
			log.Log(ctx, level, "saved dense index not used; rebuilding it", "path", path, "reason", why)
		}
		// The deployment's pipeline, into the cache.
		total := corpus.TextCount()
		var lastLog time.Time
		progress := func(done int) {
			if time.Since(lastLog) > 2*time.Second || done == total {
				lastLog = time.Now()
				log.Info("embedding vocabulary", "done", done, "total", total)
			}
		}
		b, err := EmbedBatches(ctx, corpus, emb, path, 0, 0, progress, nil)
		if err != nil {
			return nil, Info{}, err
		}
		if _, err := SaveFromBatches(corpus, emb, b, path, false); err != nil {
			return nil, Info{}, err
		}
		if ix, err = faiss.Load(path, meta); err != nil {
			return nil, Info{}, fmt.Errorf("searchindex: the index just saved does not load: %w", err)
		}
	}
	e, info := engineOn(corpus, emb, ix, cfg, built, start)
	log.Info("search index ready", "version", info.Version, "concepts", info.Concepts, "dense_built", built, "took", info.Took)
	return e, info, nil
}

// Open makes the engine for corpus with the dense index saved at
// cfg.IndexPath, without ever writing it. It returns an error wrapping
// ErrNoIndex, with the reason, when no index built from corpus with the
// configured embedder is saved there.
func Open(ctx context.Context, corpus *search.Corpus, cfg Config) (*search.Engine, Info, error) {
	emb, err := NewEmbedder(cfg)
	if err != nil {
		return nil, Info{}, err
	}
	return OpenWith(ctx, corpus, emb, cfg)
}

// OpenWith is Open with the embedder given instead of named by cfg.
func OpenWith(ctx context.Context, corpus *search.Corpus, emb search.Embedder, cfg Config) (*search.Engine, Info, error) {
	start := time.Now()
	if cfg.IndexPath == "" {
		return nil, Info{}, errors.New("searchindex: FAISS_INDEX_PATH is empty")
	}
	ix, err := faiss.Load(cfg.IndexPath, search.DenseIndexMeta(corpus, emb))
	if err != nil {
		return nil, Info{}, fmt.Errorf("%w (%s: %v)", ErrNoIndex, cfg.IndexPath, err)
	}
	e, info := engineOn(corpus, emb, ix, cfg, false, start)
	if cfg.Logger != nil {
		cfg.Logger.Info("search index opened", "version", info.Version, "concepts", info.Concepts, "took", info.Took)
	}
	return e, info, nil
}

// engineOn is the engine serving corpus with the dense index ix, and its
// Info; built says whether ix was built now rather than loaded, start when
// the work began.
func engineOn(corpus *search.Corpus, emb search.Embedder, ix *faiss.Index, cfg Config, built bool, start time.Time) (*search.Engine, Info) {
	e := search.NewEngine(corpus, search.Options{
		Dense:   &search.DenseTier{Embedder: emb, Index: ix},
		Lexical: cfg.Lexical,
		Fusion:  cfg.Fusion,
	})
	return e, Info{
		Version:     IndexVersion(corpus, emb),
		Fingerprint: corpus.Fingerprint, EmbedderID: emb.ID(), Concepts: len(corpus.Concepts),
		DenseBuilt: built, BuiltAt: time.Now().UTC(), IndexCreatedAt: ix.Meta().CreatedAt, Took: time.Since(start).Round(time.Millisecond).String(),
	}
}

// SQ8Threshold is the vector count above which the dense index stores
// one byte per coordinate (IVF-SQ8): at a million concepts float vectors
// alone would take 1.3 GB.
const SQ8Threshold = 500_000

// FAISSOptions are the dense index parameters Portiere deploys for n
// vectors.
func FAISSOptions(n int) faiss.Options {
	o := faiss.Options{TargetRecall: TargetRecall, Seed: 1}
	if n > SQ8Threshold {
		o.Kind = faiss.KindIVFSQ8
	}
	return o
}

// IndexVersion names the index built from corpus with emb.
func IndexVersion(corpus *search.Corpus, emb search.Embedder) string {
	return corpus.Fingerprint[:12] + "-" + emb.ID()
}

// CachePath is where `portiere map` keeps the dense index of a corpus and
// embedder inside dir.
func CachePath(dir string, corpus *search.Corpus, emb search.Embedder) string {
	return filepath.Join(dir, IndexVersion(corpus, emb)+".faiss")
}

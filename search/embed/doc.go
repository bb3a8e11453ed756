// Package embed turns short clinical texts (concept names, synonyms, source
// terms) into dense vectors for the dense retrieval tier.
//
// Two embedders implement Embedder:
//
//   - Hash is model-free: signed feature hashing of words, word pairs and
//     character n-grams. It needs no files, is deterministic across machines
//     and releases of the same ID, and embeds tens of thousands of names per
//     second on one core. It is the default (EMBEDDING_MODEL=hash).
//   - ONNX runs a BERT-style encoder exported to ONNX, meant for SapBERT
//     (EMBEDDING_MODEL=onnx, model folder in EMBEDDING_MODEL_PATH), through the
//     ONNX Runtime shared library that scripts/bootstrap.sh puts in ./lib. Its
//     WordPiece tokenizer is pure Go and matches HuggingFace's BERT tokenizer.
//     docs/sapbert-onnx.md says how to export the model.
//
// The package imports nothing from the rest of Portiere.
package embed

import "context"

// Embedder maps texts to vectors of a fixed dimension.
//
// Embed returns one vector per text, in the order of texts, each of length
// Dim and L2-normalised (unit length), so that the inner product of two
// vectors is their cosine similarity. A text with nothing to embed (no letters
// or digits, for Hash) gives the zero vector. Embed stops early with ctx's
// error when ctx is done.
//
// ID names the model, its version and the dimension ("hash-v1-384"). Two
// embedders with the same ID give the same vectors, so an index records the ID
// of the embedder it was built with and refuses queries from another.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Embedder interface {
	ID() string
	Dim() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Package search finds the standard concepts a clinical source term means.
//
// It combines a lexical tier (BM25 over concept names, synonyms and codes,
// with a clinical analyzer and misspelling-tolerant term expansion) and a
// dense tier (text embeddings searched with FAISS), fuses their rankings,
// follows "Maps to" from non-standard to standard concepts, explains every
// candidate, and attaches a calibrated confidence to the best one.
//
// The package is a leaf: it knows nothing of PostgreSQL, HTTP or Temporal.
// Callers load a Corpus (from an Athena export or the database) and build an
// Engine from it.
package search

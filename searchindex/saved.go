package searchindex

import (
	"github.com/portiere/portiere/search/faiss"
)

// SavedIndex describes the dense index saved at indexPath from its
// metadata alone, without loading it: for status pages of processes that
// do not serve the engine (the web dashboard). DenseBuilt is false;
// Concepts, BuiltAt and Took are zero (the metadata counts vectors, one per
// text, not concepts). It returns the metadata's read error when no
// complete index is saved there.
func SavedIndex(indexPath string) (Info, error) {
	m, err := faiss.ReadMeta(indexPath)
	if err != nil {
		return Info{}, err
	}
	fp := m.VocabularyFingerprint
	if len(fp) > 12 {
		fp = fp[:12]
	}
	return Info{Version: fp + "-" + m.EmbedderID, Fingerprint: m.VocabularyFingerprint, EmbedderID: m.EmbedderID,
		IndexCreatedAt: m.CreatedAt}, nil
}

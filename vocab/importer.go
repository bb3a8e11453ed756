package vocab

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/portiere/portiere/vocab/athena"
)

// Importer imports vocabulary releases into a Store. It is safe for
// concurrent use; the Store serialises the imports themselves.
type Importer struct {
	store Store
}

// NewImporter returns an Importer writing to store.
func NewImporter(store Store) *Importer { return &Importer{store: store} }

// Import reads the release in folder dir and replaces the live vocabulary
// with it; see Store.Replace for the errors. p may be nil.
func (im *Importer) Import(ctx context.Context, dir string, p Progress) (Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Report{}, fmt.Errorf("vocab: %w", err)
	}
	rel, err := athena.Open(abs)
	if err != nil {
		return Report{}, err
	}
	return im.ImportRelease(ctx, rel, abs, p)
}

// ImportRelease imports an opened release (from a folder or any fs.FS);
// label names it in the import record. p may be nil.
func (im *Importer) ImportRelease(ctx context.Context, rel *athena.Release, label string, p Progress) (Report, error) {
	if p == nil {
		p = ProgressFunc(func(Update) {})
	}
	start := time.Now()
	p.Update(Update{Stage: StageFingerprint})
	fp, err := rel.Fingerprint()
	if err != nil {
		return Report{}, err
	}
	p.Update(Update{Stage: StageFingerprint, Done: true, Elapsed: time.Since(start)})
	return im.store.Replace(ctx, rel, Source{Path: label, Fingerprint: fp}, p)
}

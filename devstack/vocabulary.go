package devstack

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// demoLabel names the embedded demo vocabulary in the import record.
const demoLabel = "embedded demo vocabulary"

// seedVocabulary imports the demo vocabulary embedded in the binary when
// the concept table is empty, so a fresh `portiere dev` has concepts to map
// to. A vocabulary already there (the demo from an earlier start, or a full
// release from `portiere vocab import`) is left alone.
func seedVocabulary(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	store := vocabstore.New(pool)
	has, err := store.HasConcepts(ctx)
	if err != nil {
		return err
	}
	if has {
		return nil
	}
	log.Info("vocabulary is empty: importing the embedded demo vocabulary (for a full release run: portiere vocab import DIR)")
	rel, err := athena.OpenFS(portiere.DemoVocabulary())
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := vocab.NewImporter(store).ImportRelease(ctx, rel, demoLabel, nil)
	if errors.Is(err, vocab.ErrImportRunning) {
		// Someone is importing a release right now; theirs will do.
		log.Info("a vocabulary import is already running; not importing the demo vocabulary")
		return nil
	}
	if err != nil {
		return err
	}
	attrs := []any{"concepts", rep.Diff.Added, "elapsed", time.Since(start).Round(time.Millisecond).String(), "import_id", rep.ImportID}
	for _, t := range rep.Tables {
		attrs = append(attrs, string(t.Table), t.Rows)
	}
	log.Info("demo vocabulary imported", attrs...)
	return nil
}

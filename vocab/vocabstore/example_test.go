package vocabstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func ExampleStore() {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	im := vocab.NewImporter(vocabstore.New(pool))
	rep, err := im.Import(ctx, "vocabulary_download_v5", vocab.NewProgress(os.Stderr, slog.Default()))
	if err != nil {
		fmt.Println(err) // *athena.ParseError for bad input: file, line, problem
		return
	}
	fmt.Printf("%d concepts added, %d removed, %d changed; %d mapping targets invalidated\n",
		rep.Diff.Added, rep.Diff.Removed, rep.Diff.Changed, rep.Diff.TargetsInvalidated)
}

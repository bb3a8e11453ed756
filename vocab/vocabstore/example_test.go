package vocabstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/search"
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

func ExampleStore_Concept() {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	d, err := vocabstore.New(pool).Concept(ctx, 45576876)
	if errors.Is(err, vocab.ErrNotFound) {
		fmt.Println("no such concept")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range d.Relationships {
		if r.Direction == vocab.Outgoing && r.RelationshipID == "Maps to" && r.InvalidReason == "" {
			fmt.Printf("%s %s maps to %s %s\n", d.VocabularyID, d.Code, r.Other.VocabularyID, r.Other.Name)
		}
	}
}

func ExampleStore_LoadCorpus() {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	e := search.NewEngine(corpus, search.Options{})
	res, err := e.Search(ctx, search.Query{Text: "type 2 diabetes", Limit: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range res.Candidates {
		fmt.Println(c.Concept.ID, c.Concept.Name)
	}
}

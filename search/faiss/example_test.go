package faiss_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/portiere/portiere/search/embed"
	"github.com/portiere/portiere/search/faiss"
)

func Example() {
	names := []string{"Acute myocardial infarction", "Fracture of femur", "Type 2 diabetes mellitus", "Asthma"}
	conceptIDs := []int64{312327, 4230399, 201826, 317009}

	h, err := embed.NewHash(embed.HashOptions{})
	if err != nil {
		log.Fatal(err)
	}
	vs, err := h.Embed(context.Background(), names)
	if err != nil {
		log.Fatal(err)
	}
	var flat []float32
	for _, v := range vs {
		flat = append(flat, v...)
	}
	x, err := faiss.Build(flat, h.Dim(), faiss.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer x.Close()

	// Save with what the vectors came from; Load refuses another embedder.
	dir, err := os.MkdirTemp("", "faiss-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "concepts.faiss")
	meta := faiss.Meta{EmbedderID: h.ID(), VocabularyFingerprint: "example-v1", ConceptIDs: conceptIDs}
	if err := x.Save(path, meta); err != nil {
		log.Fatal(err)
	}
	if _, err := faiss.Load(path, faiss.Meta{EmbedderID: "hash-v1-768"}); err != nil {
		fmt.Println(err)
	}
	y, err := faiss.Load(path, faiss.Meta{EmbedderID: h.ID(), Dim: h.Dim(), VocabularyFingerprint: "example-v1"})
	if err != nil {
		log.Fatal(err)
	}
	defer y.Close()

	q, err := h.Embed(context.Background(), []string{"diabetes mellitus type II"})
	if err != nil {
		log.Fatal(err)
	}
	ids, scores, err := y.Search(q, 2)
	if err != nil {
		log.Fatal(err)
	}
	for k, pos := range ids[0] {
		fmt.Printf("%d %s %.2f\n", y.Meta().ConceptIDs[pos], names[pos], scores[0][k])
	}
	// Output:
	// faiss: index built with embedder "hash-v1-384", want "hash-v1-768"
	// 201826 Type 2 diabetes mellitus 0.86
	// 317009 Asthma 0.11
}

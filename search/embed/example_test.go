package embed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/portiere/portiere/search/embed"
)

func ExampleHash() {
	h, err := embed.NewHash(embed.HashOptions{})
	if err != nil {
		log.Fatal(err)
	}
	vs, err := h.Embed(context.Background(), []string{
		"Acute myocardial infarction",
		"MYOCARDIAL INFARCTION, ACUTE",
		"Fracture of femur",
	})
	if err != nil {
		log.Fatal(err)
	}
	cos := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(h.ID(), len(vs[0]))
	fmt.Printf("reordered %.2f, unrelated %.2f\n", cos(vs[0], vs[1]), cos(vs[0], vs[2]))
	// Output:
	// hash-v1-384 384
	// reordered 0.97, unrelated 0.01
}

// A SapBERT model exported as docs/sapbert-onnx.md describes.
func ExampleNewONNX() {
	e, err := embed.NewONNX("/var/lib/portiere/models/sapbert", embed.ONNXOptions{BatchSize: 64})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	vs, err := e.Embed(context.Background(), []string{"covid-19", "Hydroxychloroquine"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.ID(), len(vs), e.Dim())
}

package embed

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

func newTestHash(t testing.TB) *Hash {
	t.Helper()
	h, err := NewHash(HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestHashIDAndDim(t *testing.T) {
	h := newTestHash(t)
	if h.ID() != "hash-v1-384" || h.Dim() != 384 {
		t.Fatalf("ID, Dim = %q, %d", h.ID(), h.Dim())
	}
	h2, err := NewHash(HashOptions{Dim: 128})
	if err != nil {
		t.Fatal(err)
	}
	if h2.ID() != "hash-v1-128" || h2.Dim() != 128 {
		t.Fatalf("ID, Dim = %q, %d", h2.ID(), h2.Dim())
	}
	if _, err := NewHash(HashOptions{Dim: 8}); err == nil || !strings.HasPrefix(err.Error(), "embed: ") {
		t.Fatalf("Dim 8: err = %v", err)
	}
}

func TestHashNormalise(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Acute Myocardial Infarction", "acute myocardial infarction"},
		{"Café au lait", "cafe au lait"},
		{"Ménière's disease", "meniere s disease"},
		{"Sjögren", "sjogren"},
		{"Straße", "strasse"},
		{"Paracetamol 500mg", "paracetamol 500 mg"},
		{"hydrocortisone 0,1% cream", "hydrocortisone 0.1 cream"},
		{"E11.9", "e 11.9"},
		{"end.", "end"},
		{"1.", "1"},
		{"x--y//z", "x y z"},
		{"50 µg", "50 ug"},
		{"ÀÉÎÕÜ", "aeiou"},
		{"e\u0301te\u0301", "ete"},
		{"Пневмония", "пневмония"},
		{"  ", ""},
		{"", ""},
	} {
		var s hashScratch
		s.normalise(c.in)
		if got := string(s.buf); got != c.want {
			t.Errorf("normalise(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHashVectors(t *testing.T) {
	h := newTestHash(t)
	texts := []string{
		"Acute myocardial infarction",
		"ACUTE MYOCARDIAL INFARCTION!",
		"acute myocardial infarctoin", // misspelt
		"Myocardial infarction, acute",
		"Fracture of left femur",
		"",
		"!!!",
	}
	vs, err := h.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vs), len(texts))
	}
	for i, v := range vs[:5] {
		if n := dot(v, v); math.Abs(n-1) > 1e-5 {
			t.Errorf("|v[%d]|² = %v", i, n)
		}
	}
	for i, v := range vs[5:] {
		if n := dot(v, v); n != 0 {
			t.Errorf("text %q: |v|² = %v, want the zero vector", texts[5+i], n)
		}
	}
	if s := dot(vs[0], vs[1]); s < 0.9999 {
		t.Errorf("case and punctuation changed the vector: cos = %v", s)
	}
	misspelt, reordered, other := dot(vs[0], vs[2]), dot(vs[0], vs[3]), dot(vs[0], vs[4])
	if !(misspelt > other+0.3 && reordered > other+0.3) {
		t.Errorf("cos(misspelt) = %.3f, cos(reordered) = %.3f, cos(unrelated) = %.3f", misspelt, reordered, other)
	}
	again, err := h.Embed(context.Background(), texts[:1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range again[0] {
		if again[0][i] != vs[0][i] {
			t.Fatal("Embed is not deterministic")
		}
	}
}

// TestHashGolden pins a few coordinates: a change to the features or their
// hashing must bump hashVersion, because it invalidates every built index.
func TestHashGolden(t *testing.T) {
	h := newTestHash(t)
	vs, err := h.Embed(context.Background(), []string{"Type 2 diabetes mellitus"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	nonzero := 0
	for i, x := range vs[0] {
		if x != 0 {
			if nonzero < 6 {
				fmt.Fprintf(&b, "%d:%.4f ", i, x)
			}
			nonzero++
		}
	}
	fmt.Fprintf(&b, "nonzero=%d", nonzero)
	const want = "5:0.1157 19:-0.1157 22:0.1157 29:0.1157 47:0.2313 50:-0.1157 nonzero=51"
	if got := strings.TrimSpace(b.String()); got != want {
		t.Errorf("hash-v1 vector changed: got %q, want %q; if intended, bump hashVersion", got, want)
	}
}

func TestHashConcurrent(t *testing.T) {
	h := newTestHash(t)
	texts := []string{"chronic kidney disease stage 3", "amoxicillin 250 mg oral capsule", "asthma"}
	want, err := h.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, err := h.Embed(context.Background(), texts)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range got {
					for j := range got[i] {
						if got[i][j] != want[i][j] {
							t.Error("concurrent Embed gave another vector")
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestHashCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newTestHash(t).Embed(ctx, []string{"x"}); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// benchTexts are concept-name-like strings of typical length (20–60 bytes).
func benchTexts() []string {
	base := []string{
		"Acute myocardial infarction of anterolateral wall",
		"Type 2 diabetes mellitus without complications",
		"Amoxicillin 500 MG Oral Capsule",
		"Fracture of shaft of left femur, initial encounter",
		"Chronic kidney disease, stage 3 (moderate)",
		"Hydrocortisone 0.1% topical cream",
		"Laparoscopic cholecystectomy",
		"Essential (primary) hypertension",
	}
	out := make([]string, 0, 1024)
	for i := 0; len(out) < cap(out); i++ {
		out = append(out, fmt.Sprintf("%s %d", base[i%len(base)], i))
	}
	return out
}

// BenchmarkHashEmbed reports texts/s on one goroutine.
func BenchmarkHashEmbed(b *testing.B) {
	h := newTestHash(b)
	texts := benchTexts()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
}

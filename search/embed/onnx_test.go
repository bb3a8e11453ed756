package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// runtimeLibrary returns the ONNX Runtime library for the tests: the one
// ONNXRUNTIME_LIB names, or the repository's lib/ that scripts/bootstrap.sh
// fills. Without it the test is skipped, unless PORTIERE_REQUIRE_TOOLS is set
// (make test sets it), where a missing library is a failure.
func runtimeLibrary(t *testing.T) string {
	t.Helper()
	explicit := os.Getenv(RuntimeLibraryEnv)
	if explicit == "" {
		if root, err := repoRoot(); err == nil {
			explicit = filepath.Join(root, "lib", runtimeLibraryName)
		}
	}
	lib, err := FindRuntimeLibrary(explicit)
	if err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatalf("%v (PORTIERE_REQUIRE_TOOLS is set)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return lib
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

type tinyGolden struct {
	MaxLength int                    `json:"max_length"`
	Texts     []string               `json:"texts"`
	IDs       [][]int64              `json:"ids"`
	Models    map[string][][]float32 `json:"models"`
}

func readTinyGolden(t *testing.T) tinyGolden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tinybert_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g tinyGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func newTestONNX(t *testing.T, model string, opts ONNXOptions) *ONNX {
	t.Helper()
	opts.LibraryPath = runtimeLibrary(t)
	e, err := NewONNX(filepath.Join("testdata", model), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestONNXGolden runs the tiny BERT-shaped models of testdata through ONNX
// Runtime and compares the [CLS] vectors with those gen_tinybert.py computed,
// for batch sizes that put every text alone, in mixed-length padded batches
// and all in one batch.
func TestONNXGolden(t *testing.T) {
	g := readTinyGolden(t)
	for _, model := range []string{"tinybert", "tinybert-notype"} {
		for _, batch := range []int{1, 3, 64} {
			e := newTestONNX(t, model, ONNXOptions{BatchSize: batch, Threads: 1})
			if e.Dim() != 32 {
				t.Fatalf("%s: Dim = %d, want 32", model, e.Dim())
			}
			if ok, _ := regexp.MatchString(`^onnx-`+model+`-[0-9a-f]{12}-32$`, e.ID()); !ok {
				t.Errorf("%s: ID = %q", model, e.ID())
			}
			for i, text := range g.Texts {
				if got := e.wp.Encode(text, e.maxLen); !slices.Equal(got, g.IDs[i]) {
					t.Fatalf("%s: tokens of %q = %v, want %v", model, text, got, g.IDs[i])
				}
			}
			vs, err := e.Embed(context.Background(), g.Texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range g.Models[model] {
				for j := range want {
					if math.Abs(float64(vs[i][j]-want[j])) > 1e-5 {
						t.Fatalf("%s batch %d: vector of %q differs at %d: %v, want %v", model, batch, g.Texts[i], j, vs[i][j], want[j])
					}
				}
			}
		}
	}
}

func TestONNXIDDependsOnMaxLength(t *testing.T) {
	a := newTestONNX(t, "tinybert", ONNXOptions{})
	b := newTestONNX(t, "tinybert", ONNXOptions{MaxLength: 64})
	if a.ID() == b.ID() {
		t.Fatalf("same ID %q for max lengths 25 and 64", a.ID())
	}
}

func TestONNXConcurrentAndClose(t *testing.T) {
	g := readTinyGolden(t)
	e := newTestONNX(t, "tinybert", ONNXOptions{BatchSize: 4, Threads: 1})
	want, err := e.Embed(context.Background(), g.Texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				got, err := e.Embed(context.Background(), g.Texts)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range got {
					if !slices.Equal(got[i], want[i]) {
						t.Error("concurrent Embed gave another vector")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.Embed(context.Background(), g.Texts); err == nil {
		t.Fatal("Embed after Close: no error")
	}
}

func TestNewONNXErrors(t *testing.T) {
	lib := runtimeLibrary(t)
	if _, err := NewONNX(t.TempDir(), ONNXOptions{LibraryPath: lib}); err == nil || !strings.Contains(err.Error(), "model.onnx") {
		t.Errorf("empty folder: err = %v", err)
	}
	dir := t.TempDir()
	model, err := os.ReadFile(filepath.Join("testdata", "tinybert", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewONNX(dir, ONNXOptions{LibraryPath: lib}); err == nil || !strings.Contains(err.Error(), "vocab.txt") {
		t.Errorf("no vocab.txt: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewONNX(dir, ONNXOptions{LibraryPath: lib}); err == nil || !strings.HasPrefix(err.Error(), "embed: ") {
		t.Errorf("corrupt model: err = %v", err)
	}
}

func TestFindRuntimeLibraryMissing(t *testing.T) {
	_, err := FindRuntimeLibrary(filepath.Join(t.TempDir(), "nope.so"))
	if !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("err = %v, want ErrNoRuntime", err)
	}
}

// TestONNXMeanPooling checks that mean pooling ignores padding — a text
// gets the same vector alone and padded in a batch with longer texts —
// that it differs from [CLS] pooling, and that the ID says which it is.
func TestONNXMeanPooling(t *testing.T) {
	g := readTinyGolden(t)
	alone := newTestONNX(t, "tinybert", ONNXOptions{BatchSize: 1, Pooling: PoolMean, Threads: 1})
	batched := newTestONNX(t, "tinybert", ONNXOptions{BatchSize: 64, Pooling: PoolMean, Threads: 1})
	cls := newTestONNX(t, "tinybert", ONNXOptions{BatchSize: 64, Threads: 1})
	if !strings.HasSuffix(alone.ID(), "-mean") || strings.HasSuffix(cls.ID(), "-mean") {
		t.Errorf("IDs %q (mean) and %q (cls) do not say their pooling", alone.ID(), cls.ID())
	}
	a, err := alone.Embed(context.Background(), g.Texts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batched.Embed(context.Background(), g.Texts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cls.Embed(context.Background(), g.Texts)
	if err != nil {
		t.Fatal(err)
	}
	differs := false
	for i := range a {
		for j := range a[i] {
			if math.Abs(float64(a[i][j]-b[i][j])) > 1e-5 {
				t.Fatalf("mean vector of %q depends on padding: %v alone, %v batched (at %d)", g.Texts[i], a[i][j], b[i][j], j)
			}
			if math.Abs(float64(a[i][j]-c[i][j])) > 1e-4 {
				differs = true
			}
		}
	}
	if !differs {
		t.Error("mean pooling gave the [CLS] vectors")
	}
}

func TestPoolingFromModelFolder(t *testing.T) {
	dir := t.TempDir()
	if p, err := poolingOf(dir, ""); err != nil || p != PoolCLS {
		t.Errorf("no config: %q, %v; want cls", p, err)
	}
	os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755)
	os.WriteFile(filepath.Join(dir, ONNXPoolingFile), []byte(`{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}`), 0o644)
	if p, err := poolingOf(dir, ""); err != nil || p != PoolMean {
		t.Errorf("sentence-transformers mean config: %q, %v; want mean", p, err)
	}
	if p, _ := poolingOf(dir, PoolCLS); p != PoolCLS {
		t.Errorf("explicit cls overridden by the folder: %q", p)
	}
	if _, err := poolingOf(dir, "max"); err == nil {
		t.Error("unknown pooling accepted")
	}
}

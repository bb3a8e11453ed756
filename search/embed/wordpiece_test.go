package embed

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWordPieceGolden compares with HuggingFace's BertWordPieceTokenizer on
// the same vocabulary; testdata/gen_wordpiece_golden.py wrote the ids.
func TestWordPieceGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "wordpiece_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		MaxLength int `json:"max_length"`
		Cases     []struct {
			Text     string   `json:"text"`
			Tokens   []string `json:"tokens"`
			IDs      []int64  `json:"ids"`
			IDsMax25 []int64  `json:"ids_max25"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) < 50 {
		t.Fatalf("only %d golden cases", len(golden.Cases))
	}
	wp, err := LoadWordPiece(filepath.Join("testdata", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range golden.Cases {
		if got := wp.Encode(c.Text, 0); !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q) = %v, want %v %q", c.Text, got, c.IDs, c.Tokens)
		}
		if got := wp.Encode(c.Text, golden.MaxLength); !slices.Equal(got, c.IDsMax25) {
			t.Errorf("Encode(%q, %d) = %v, want %v", c.Text, golden.MaxLength, got, c.IDsMax25)
		}
	}
}

func TestWordPieceTokens(t *testing.T) {
	wp, err := LoadWordPiece(filepath.Join("testdata", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := wp.Tokens("Gastroenteritis, 500mg")
	want := []string{"gastro", "##enter", "##itis", ",", "5", "##0", "##0", "##mg"}
	if !slices.Equal(got, want) {
		t.Fatalf("Tokens = %q, want %q", got, want)
	}
}

func TestLoadWordPieceErrors(t *testing.T) {
	if _, err := LoadWordPiece(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("missing file: no error")
	}
	p := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(p, []byte("[PAD]\n[CLS]\n[SEP]\nword\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWordPiece(p); err == nil || err.Error() != "embed: vocabulary "+p+" has no [UNK] token" {
		t.Errorf("no [UNK]: err = %v", err)
	}
}

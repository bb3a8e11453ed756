package main

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const devData = "../../../shared/data"

// TestMapEndToEndOnGold runs `portiere map` on a development gold file and
// scores its output the way the external benchmark does: top-1 hit rate.
func TestMapEndToEndOnGold(t *testing.T) {
	athenaDir := filepath.Join(devData, "athena-dev")
	gold := filepath.Join(devData, "gold-dev", "disease_names_to_icd10cm.csv")
	if _, err := os.Stat(gold); err != nil {
		t.Skipf("development data not found: %v", err)
	}
	bin := buildBinary(t)
	out := filepath.Join(t.TempDir(), "out.csv")
	indexDir := t.TempDir()
	run := func() string {
		cmd := exec.Command(bin, "map", "--athena", athenaDir, "--input", gold, "--output", out, "--vocabulary", "ICD10CM", "--top-k", "5", "--index-dir", indexDir)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		return string(b)
	}
	if log := run(); !strings.Contains(log, "built and cached") {
		t.Fatalf("first run should build the index:\n%s", log)
	}
	// The second run reuses the cached dense index.
	if log := run(); !strings.Contains(log, "loaded from cache") {
		t.Fatalf("second run should reuse the index:\n%s", log)
	}
	want := readCSV(t, gold)
	got := readCSV(t, out)
	if strings.Join(got[0], ",") != "source_code,source_description,rank,concept_id,concept_name,vocabulary_id,domain_id,concept_class_id,standard_concept,score,confidence,status" {
		t.Fatalf("header %v", got[0])
	}
	top1 := map[string]string{}
	terms := map[string]bool{}
	for _, r := range got[1:] {
		terms[r[0]] = true
		if r[2] == "1" {
			top1[r[0]] = r[3]
		}
		if r[5] != "ICD10CM" && r[2] != "0" {
			t.Fatalf("vocabulary filter not applied: %v", r)
		}
		if s := r[11]; s != "auto" && s != "review" && s != "manual" {
			t.Fatalf("status %q", s)
		}
	}
	hits := 0
	for _, r := range want[1:] {
		if !terms[r[0]] {
			t.Fatalf("term %s missing from the output", r[0])
		}
		for _, id := range strings.Split(r[2], ";") {
			if top1[r[0]] == id {
				hits++
				break
			}
		}
	}
	rate := float64(hits) / float64(len(want)-1)
	t.Logf("top-1 on %s: %.3f", filepath.Base(gold), rate)
	if rate < 0.6 { // the character-trigram baseline scores 0.618 here
		t.Fatalf("top-1 %.3f is below the 0.6 floor", rate)
	}
}

func TestMapStopsAtABadRow(t *testing.T) {
	athenaDir := filepath.Join(devData, "athena-dev")
	if _, err := os.Stat(athenaDir); err != nil {
		t.Skipf("development data not found: %v", err)
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("source_code,source_description\nA,hemodialysis\nB,too,many\n"), 0o644)
	out := filepath.Join(dir, "out.csv")
	b, err := exec.Command(bin, "map", "--athena", athenaDir, "--input", in, "--output", out, "--index-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "line 3") {
		t.Fatalf("want a failure naming line 3, got %v: %s", err, b)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("output written despite the bad input")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

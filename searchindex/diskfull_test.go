package searchindex_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
)

// smallDisk mounts a tmpfs of the given size (mount(8) syntax) and
// unmounts it when the test ends. It needs mount privileges (root); without
// them the test is skipped.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir that leaves at most free bytes of the
// filesystem available, and returns its path.
func fillDisk(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * int64(st.Bsize)
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, max(avail-free, 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readIndexFiles(t *testing.T, path string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range []string{path, path + ".ids", path + ".meta.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestDiskFullWhileSavingIndex: the disk holding FAISS_INDEX_PATH (a
// 16 MiB tmpfs) fills up after the vocabulary is embedded, while the new
// index is written. The save fails with an error naming the path; the
// previous index's files are untouched, no temporary file is left, and a
// replica keeps serving the previous index (Refresh keeps it, searches
// answer). Once space is freed the same batches save and the replica
// switches to the new index.
func TestDiskFullWhileSavingIndex(t *testing.T) {
	dir := smallDisk(t, "16m")
	path := filepath.Join(dir, "faiss.index")
	cfg := searchindex.Config{IndexPath: path}
	corpus := smallCorpus(t, 2000)
	load := func(context.Context) (*search.Corpus, error) { return corpus, nil }
	ctx := context.Background()
	emb, err := searchindex.NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := searchindex.BuildAndSave(ctx, corpus, emb, path); err != nil {
		t.Fatal(err)
	}
	var l searchindex.Live
	if err := l.Load(ctx, load, cfg); err != nil {
		t.Fatal(err)
	}
	served, _ := l.Info()
	before := readIndexFiles(t, path)

	b, err := searchindex.EmbedBatches(ctx, corpus, emb, path, 0, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, dir, 64<<10)
	_, err = searchindex.SaveFromBatches(corpus, emb, b, path, false)
	t.Logf("save on a full disk: %v", err)
	if err == nil {
		t.Fatal("the save succeeded on a full disk")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("the error does not name %s: %v", path, err)
	}
	for i, after := range readIndexFiles(t, path) {
		if !bytes.Equal(before[i], after) {
			t.Errorf("file %d of the previous index changed", i)
		}
	}
	if m, _ := filepath.Glob(path + "*tmp*"); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	if err := l.Refresh(ctx, load, cfg); err != nil {
		t.Fatalf("refresh after the failed save: %v", err)
	}
	if info, _ := l.Info(); info.IndexCreatedAt != served.IndexCreatedAt || info.Version != served.Version {
		t.Errorf("serving %+v after the failed save, want %+v", info, served)
	}
	e, err := l.Engine()
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Search(ctx, search.Query{Text: "concept number 17 of 2000", Limit: 3})
	if err != nil || len(res.Candidates) == 0 {
		t.Fatalf("search on the previous index: %+v, %v", res, err)
	}

	// Space freed: the batches kept by the failed save are saved now.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := searchindex.SaveFromBatches(corpus, emb, b, path, false); err != nil {
		t.Fatalf("save after freeing space: %v", err)
	}
	if err := l.Refresh(ctx, load, cfg); err != nil {
		t.Fatal(err)
	}
	if info, _ := l.Info(); info.IndexCreatedAt.Equal(served.IndexCreatedAt) {
		t.Errorf("still serving the index of %v after the new save", served.IndexCreatedAt)
	}
}

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

// TestDiskFullWhileEmbeddingBatches: the disk holding FAISS_INDEX_PATH (a
// 16 MiB tmpfs) fills up after the first embedded batch is saved, while
// the next is written. EmbedBatches fails with the write error naming the
// batch file; the saved batch is intact, no temporary file is left (it
// would hold the space), and no index is saved. Once space is freed the
// embedding resumes, skipping the saved batch, and the index saved from
// the batches is byte-identical to one embedded on a disk with room.
func TestDiskFullWhileEmbeddingBatches(t *testing.T) {
	dir := smallDisk(t, "16m")
	path := filepath.Join(dir, "faiss.index")
	corpus := smallCorpus(t, 2000)
	ctx := context.Background()
	emb, err := searchindex.NewEmbedder(searchindex.Config{IndexPath: path})
	if err != nil {
		t.Fatal(err)
	}
	const size = 500

	// On a disk with room.
	roomy := filepath.Join(t.TempDir(), "faiss.index")
	rb, err := searchindex.EmbedBatches(ctx, corpus, emb, roomy, size, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Batches < 3 {
		t.Fatalf("%d batches: too few to fill the disk between two", rb.Batches)
	}
	if _, err := searchindex.SaveFromBatches(corpus, emb, rb, roomy, false); err != nil {
		t.Fatal(err)
	}

	var filler string
	saved := 0
	_, err = searchindex.EmbedBatches(ctx, corpus, emb, path, size, 0, func(int) {
		saved++
		if saved == 1 {
			filler = fillDisk(t, dir, 4<<10)
		}
	}, nil)
	t.Logf("embedding on a full disk: %v", err)
	if err == nil {
		t.Fatal("the embedding succeeded on a full disk")
	}
	batchDir := searchindex.BatchDir(path, corpus.Fingerprint, emb.ID())
	if !strings.Contains(err.Error(), batchDir) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("the error does not name the batch file in %s and the full disk: %v", batchDir, err)
	}
	if saved != 1 {
		t.Errorf("%d batches reported saved, want 1", saved)
	}
	if m, _ := filepath.Glob(filepath.Join(batchDir, "*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("an index was saved")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	b, err := searchindex.EmbedBatches(ctx, corpus, emb, path, size, 0, nil, nil)
	if err != nil {
		t.Fatalf("embedding after freeing space: %v", err)
	}
	if b.Skipped != 1 {
		t.Errorf("the resumed embedding skipped %d batches, want the 1 saved before the disk filled", b.Skipped)
	}
	if _, err := searchindex.SaveFromBatches(corpus, emb, b, path, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"", ".ids"} {
		want, err := os.ReadFile(roomy + f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path + f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("faiss.index%s differs from the one embedded on a disk with room", f)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/search/faiss"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

// TestInitBuildsTheIndexThroughTheWorker runs `portiere init` against a
// Temporal dev server, a worker built as `portiere worker` builds it and a
// database holding the demo vocabulary: init waits for IndexBuildWorkflow,
// and the index at FAISS_INDEX_PATH describes that vocabulary.
func TestInitBuildsTheIndexThroughTheWorker(t *testing.T) {
	dev := startTemporal(t)

	setDBEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", dev.FrontendHostPort())
	var out, errOut bytes.Buffer
	if err := run([]string{"vocab", "import", "../../testdata/demo-vocab"}, &out, &errOut); err != nil {
		t.Fatalf("vocab import: %v\n%s", err, errOut.String())
	}
	// The import starts the index build itself; init below joins it.
	if !strings.Contains(out.String(), "Search index: build started (workflow "+workflows.IndexBuildWorkflowID) {
		t.Errorf("vocab import did not start the index build:\n%s", out.String())
	}
	indexPath := filepath.Join(t.TempDir(), "faiss.index")
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("FAISS_INDEX_PATH", indexPath)
	t.Setenv("EMBEDDING_MODEL", "hash")
	t.Setenv("ELASTICSEARCH_URL", "")

	b := startWorkerStack(t, dev, config.ModeWorker, slog.LevelWarn)

	out.Reset()
	errOut.Reset()
	if err := run([]string{"init"}, &out, &errOut); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	t.Log(strings.TrimSpace(out.String()))

	corpus, err := vocabstore.New(b.pool).LoadCorpus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	emb, err := searchindex.NewEmbedder(searchindex.Config{EmbeddingModel: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := faiss.ReadMeta(indexPath)
	if err != nil {
		t.Fatalf("no index at FAISS_INDEX_PATH after init: %v", err)
	}
	if m.VocabularyFingerprint != corpus.Fingerprint || m.EmbedderID != emb.ID() || m.Count != corpus.TextCount() {
		t.Errorf("index metadata %+v; want vocabulary %s, embedder %s, %d vectors", m, corpus.Fingerprint, emb.ID(), corpus.TextCount())
	}
	want := fmt.Sprintf("search index %s saved at %s (%d vectors)", searchindex.IndexVersion(corpus, emb), indexPath, corpus.TextCount())
	if !strings.Contains(out.String(), want) {
		t.Errorf("init printed %q, want %q", out.String(), want)
	}
	d, err := dev.Client().DescribeWorkflowExecution(context.Background(), workflows.IndexBuildWorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus().String(); st != "Completed" {
		t.Errorf("IndexBuildWorkflow %s", st)
	}
}

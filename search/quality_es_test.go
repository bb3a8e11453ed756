package search_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"golang.org/x/sync/errgroup"

	"github.com/portiere/portiere/platform/esnode/estest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
)

var (
	esDevOnce  sync.Once
	esDevIndex string
	esDevRate  float64 // documents per second of the population
	esDevDocs  int
	esDevErr   error
	esDevCl    *elastic.Client
)

// devElasticsearch fills an index of the run's Elasticsearch node with the
// development vocabulary the way ESPopulateWorkflow does (chunks of 2,000
// documents, 4 bulk requests in flight, refresh, count), once per test
// binary, and returns a client and the index.
func devElasticsearch(t testing.TB, corpus *search.Corpus) (*elastic.Client, string) {
	t.Helper()
	url := estest.URL(t)
	esDevOnce.Do(func() {
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
		if err != nil {
			esDevErr = err
			return
		}
		esDevCl = elastic.New(es)
		esDevIndex = "portiere-quality-" + corpus.Fingerprint[:16] + "-" + elastic.MappingVersion()[:8]
		ctx := context.Background()
		if esDevErr = esDevCl.CreateIndex(ctx, esDevIndex); esDevErr != nil {
			return
		}
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, docs := range elastic.DocumentsFor(corpus, 2000) {
			esDevDocs += len(docs)
			g.Go(func() error { return esDevCl.BulkIndex(gctx, esDevIndex, docs) })
		}
		if esDevErr = g.Wait(); esDevErr != nil {
			return
		}
		if esDevErr = esDevCl.Refresh(ctx, esDevIndex); esDevErr != nil {
			return
		}
		n, err := esDevCl.Count(ctx, esDevIndex)
		if err == nil && n != int64(esDevDocs) {
			err = fmt.Errorf("index holds %d documents, want %d", n, esDevDocs)
		}
		esDevErr = err
		esDevRate = float64(esDevDocs) / time.Since(start).Seconds()
	})
	if esDevErr != nil {
		t.Fatal(esDevErr)
	}
	return esDevCl, esDevIndex
}

// TestQualityElasticsearch measures the development gold sets with the
// Elasticsearch lexical tier in the weighted hybrid, beside the embedded
// BM25 tier, and fails when Elasticsearch's top-1 falls more than 2 points
// below the embedded one's on any set: the clinical analysis must live in
// the index mapping and query, not only in the embedded analyzer. It runs
// with PORTIERE_QUALITY=1 (make bench runs it) against the node of make
// test, or one of its own.
func TestQualityElasticsearch(t *testing.T) {
	if os.Getenv("PORTIERE_QUALITY") == "" {
		t.Skip("set PORTIERE_QUALITY=1")
	}
	corpus := loadDevCorpus(t)
	cl, index := devElasticsearch(t, corpus)
	t.Logf("population: %d documents at %.0f documents/s", esDevDocs, esDevRate)
	dense := devDenseTier(t, corpus)
	embedded := search.NewEngine(corpus, search.Options{Dense: dense})
	viaES := search.NewEngine(corpus, search.Options{Dense: dense, Lexical: cl.Searcher(index)})
	for _, gs := range goldSets {
		rows := readGold(t, gs.file)
		e := measure(t, embedded, gs, rows, nil)
		x := measure(t, viaES, gs, rows, nil)
		t.Logf("%-14s n=%4d embedded top1=%.3f top5=%.3f top10=%.3f mrr=%.3f | elasticsearch top1=%.3f top5=%.3f top10=%.3f mrr=%.3f",
			gs.name, e.n, e.top1, e.top5, e.top10, e.mrr, x.top1, x.top5, x.top10, x.mrr)
		if x.top1 < e.top1-0.02 {
			t.Errorf("%s: Elasticsearch top-1 %.3f is more than 2 points below the embedded tier's %.3f", gs.name, x.top1, e.top1)
		}
	}
}

// BenchmarkElasticsearchHybrid125k: hybrid search (weighted fusion, hash
// embedder, FAISS) over the development vocabulary with the Elasticsearch
// lexical tier; latency of every gold query once, one at a time, and the
// rate from GOMAXPROCS goroutines for 3 s. It also reports the population
// rate (documents/s).
func BenchmarkElasticsearchHybrid125k(b *testing.B) {
	corpus := loadDevCorpus(b)
	cl, index := devElasticsearch(b, corpus)
	e := search.NewEngine(corpus, search.Options{Dense: devDenseTier(b, corpus), Lexical: cl.Searcher(index)})
	qs := goldQueries(b)
	for b.Loop() {
		p50, p99, qps := latency(b, e, qs, 3*time.Second)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(qps, "queries/s")
		b.ReportMetric(esDevRate, "populate-docs/s")
	}
}

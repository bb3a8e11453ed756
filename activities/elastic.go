package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/search/elastic"
)

// ESPopulate holds the activities of ESPopulateWorkflow: the live
// vocabulary and the Elasticsearch client (nil without ELASTICSEARCH_URL).
type ESPopulate struct {
	corpus        *corpusCache
	elasticsearch *elastic.Client
	logger        *slog.Logger
}

// ESPlanInput configures CreateESIndex.
type ESPlanInput struct {
	Alias     string // the index name is derived from it
	ChunkSize int    // documents per bulk request; 0 means 2000
}

// ESChunk is a range of corpus concepts, [From, To), indexed in one bulk
// request.
type ESChunk struct {
	From, To  int
	Documents int
}

// ESPlan is the versioned index to populate and its chunks.
type ESPlan struct {
	Index       string
	Fingerprint string
	Documents   int
	Chunks      []ESChunk
}

func (a *ESPopulate) es() (*elastic.Client, error) {
	if a.elasticsearch == nil {
		return nil, temporal.NewNonRetryableApplicationError("activities: ELASTICSEARCH_URL is not set", "NotConfigured", nil)
	}
	return a.elasticsearch, nil
}

// ESIndexName is the versioned index of the vocabulary with fingerprint fp:
// the alias, the fingerprint and the mapping version.
func ESIndexName(alias, fp string) string {
	return strings.ToLower(alias + "-" + fp[:16] + "-" + elastic.MappingVersion()[:8])
}

// CreateESIndex creates the versioned index for the live vocabulary with
// the package's mapping (an existing one with the same mapping is kept) and
// plans its chunks: each concept's documents stay in one chunk.
func (a *ESPopulate) CreateESIndex(ctx context.Context, in ESPlanInput) (ESPlan, error) {
	es, err := a.es()
	if err != nil {
		return ESPlan{}, err
	}
	c, err := a.corpus.get(ctx)
	if err != nil {
		return ESPlan{}, err
	}
	size := in.ChunkSize
	if size <= 0 {
		size = 2000
	}
	plan := ESPlan{Index: ESIndexName(in.Alias, c.Fingerprint), Fingerprint: c.Fingerprint}
	cur := ESChunk{}
	for i := range c.Concepts {
		cur.Documents += 1 + len(c.Concepts[i].Synonyms)
		if cur.Documents >= size {
			cur.To = i + 1
			plan.Chunks = append(plan.Chunks, cur)
			cur = ESChunk{From: i + 1}
		}
	}
	if cur.Documents > 0 {
		cur.To = len(c.Concepts)
		plan.Chunks = append(plan.Chunks, cur)
	}
	for _, ch := range plan.Chunks {
		plan.Documents += ch.Documents
	}
	if err := es.CreateIndex(ctx, plan.Index); err != nil {
		return ESPlan{}, err
	}
	return plan, nil
}

// ESChunkInput is one chunk of a population.
type ESChunkInput struct {
	Index       string
	Fingerprint string
	Chunk       ESChunk
}

// IndexESChunk bulk-indexes one chunk, heartbeating while the bulk request
// runs. Document ids derive from concept ids, so a retried chunk overwrites
// its own documents.
func (a *ESPopulate) IndexESChunk(ctx context.Context, in ESChunkInput) (int, error) {
	es, err := a.es()
	if err != nil {
		return 0, err
	}
	c, err := a.corpus.get(ctx)
	if err != nil {
		return 0, err
	}
	if c.Fingerprint != in.Fingerprint || in.Chunk.To > len(c.Concepts) {
		return 0, temporal.NewNonRetryableApplicationError("activities: the vocabulary changed during the population; start it again", "VocabularyChanged", nil)
	}
	var docs []elastic.Document
	for i := in.Chunk.From; i < in.Chunk.To; i++ {
		docs = append(docs, elastic.ConceptDocuments(c, &c.Concepts[i])...)
	}
	stop := keepAlive(ctx)
	defer stop()
	if err := es.BulkIndex(ctx, in.Index, docs); err != nil {
		return 0, err
	}
	return len(docs), nil
}

// ESVerifyInput is the index and the document count it must hold.
type ESVerifyInput struct {
	Index string
	Want  int
}

// VerifyESCount refreshes the index and checks its document count. A
// mismatch is retried (documents may still be arriving) until the
// activity's retry policy gives up.
func (a *ESPopulate) VerifyESCount(ctx context.Context, in ESVerifyInput) (int64, error) {
	es, err := a.es()
	if err != nil {
		return 0, err
	}
	if err := es.Refresh(ctx, in.Index); err != nil {
		return 0, err
	}
	n, err := es.Count(ctx, in.Index)
	if err != nil {
		return 0, err
	}
	if n != int64(in.Want) {
		return n, fmt.Errorf("activities: index %s holds %d documents, want %d", in.Index, n, in.Want)
	}
	return n, nil
}

// ESSwapInput names the alias and the complete index it moves to.
type ESSwapInput struct {
	Alias string
	Index string
}

// SwapESAlias points the alias at the index, atomically.
func (a *ESPopulate) SwapESAlias(ctx context.Context, in ESSwapInput) error {
	es, err := a.es()
	if err != nil {
		return err
	}
	return es.SwapAlias(ctx, in.Alias, in.Index)
}

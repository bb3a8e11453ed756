package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/mapping"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
)

// BulkMapping holds the activities of BulkMappingWorkflow: the project
// store and the live engine (only opened, never built here).
type BulkMapping struct {
	vocabulary    Vocabulary
	jobs          mappingjob.Store
	index         searchindex.Config
	search        *searchindex.Live
	engineVersion string
	logger        *slog.Logger
	metering      Metering
}

// Metering counts mapped items against an organization's plan
// (billing.Service): idempotent per request id, a *billing.QuotaError past
// the plan.
type Metering interface {
	Add(ctx context.Context, org string, m billing.Meter, n int64, requestID string) error
}

// liveEngine returns the engine bulk mapping searches with, refreshed when
// the index build saved a new index. Until an index for the live
// vocabulary exists it returns a retryable error, so the mapping waits for
// the build instead of building an index itself.
func (a *BulkMapping) liveEngine(ctx context.Context) (*search.Engine, searchindex.Info, error) {
	cfg := a.index
	cfg.Logger = a.logger
	if err := a.search.Refresh(ctx, a.vocabulary.LoadCorpus, cfg); err != nil {
		if errors.Is(err, searchindex.ErrNoIndex) {
			return nil, searchindex.Info{}, temporal.NewApplicationError(err.Error(), "IndexNotReady")
		}
		return nil, searchindex.Info{}, fmt.Errorf("activities: search engine: %w", err)
	}
	e, err := a.search.Engine()
	if err != nil {
		return nil, searchindex.Info{}, temporal.NewApplicationError(err.Error(), "IndexNotReady")
	}
	info, _ := a.search.Info()
	return e, info, nil
}

// CountSourceCodesInput names the project whose codes are counted, and
// the source (an id) when only its codes are.
type CountSourceCodesInput struct {
	ProjectID string
	SourceID  string `json:",omitempty"` // added with per-source runs; "" in older histories
}

// CountSourceCodes counts a project's source codes (one source's when
// SourceID is set). An unknown project is a non-retryable error.
func (a *BulkMapping) CountSourceCodes(ctx context.Context, in CountSourceCodesInput) (int64, error) {
	n, err := a.jobs.CountSourceCodes(ctx, in.ProjectID, in.SourceID)
	if errors.Is(err, mappingjob.ErrNotFound) {
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), "ProjectNotFound", err)
	}
	return n, err
}

// MapChunkInput is one chunk of a bulk mapping: the project's codes (one
// source's when SourceID is set) with ID > AfterID, at most Limit of them.
type MapChunkInput struct {
	ProjectID string
	SourceID  string `json:",omitempty"` // added with per-source runs; "" in older histories
	// OrganizationID is metered for the chunk's codes; "" meters nothing.
	OrganizationID string `json:",omitempty"`
	AfterID        int64
	Limit          int
	TopK           int
	WorkflowID     string
	// FirstRunID is the first run of the workflow's chain of runs
	// (continue-as-new keeps it): with WorkflowID it names one bulk mapping
	// for metering, since a project's next bulk mapping reuses the
	// workflow id. "" in older histories.
	FirstRunID string `json:",omitempty"`
}

// MapChunkResult tallies a chunk. LastID is the ID of its last code (the
// next chunk's AfterID); Mapped is 0 once no code is left.
type MapChunkResult struct {
	LastID        int64
	Mapped        int
	Auto          int
	Review        int
	Manual        int
	Failed        int
	SearchMillis  int64
	PersistMillis int64
	EngineVersion string
	IndexVersion  string
}

// MapChunk maps one chunk of a project's source codes (search and
// confidence routing, mapping.Map) and upserts their items. Running it
// twice with the same input writes the same items.
func (a *BulkMapping) MapChunk(ctx context.Context, in MapChunkInput) (MapChunkResult, error) {
	if in.Limit <= 0 {
		return MapChunkResult{}, temporal.NewNonRetryableApplicationError("activities: MapChunk needs a positive limit", "InvalidInput", nil)
	}
	codes, err := a.jobs.SourceCodes(ctx, in.ProjectID, in.SourceID, in.AfterID, in.Limit)
	if errors.Is(err, mappingjob.ErrNotFound) {
		return MapChunkResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "ProjectNotFound", err)
	}
	if err != nil {
		return MapChunkResult{}, err
	}
	res := MapChunkResult{LastID: in.AfterID}
	if len(codes) == 0 {
		return res, nil
	}
	if err := a.meter(ctx, in, len(codes)); err != nil {
		return MapChunkResult{}, err
	}
	stop := keepAlive(ctx)
	defer stop()
	e, info, err := a.liveEngine(ctx)
	if err != nil {
		return MapChunkResult{}, err
	}
	res.EngineVersion, res.IndexVersion = a.engineVersion, info.Version
	terms := make([]mapping.SourceTerm, len(codes))
	for i, c := range codes {
		terms[i] = c.Term(i + 1)
	}
	start := time.Now()
	ms := mapping.Map(ctx, e, terms, mapping.Options{TopK: in.TopK})
	if err := ctx.Err(); err != nil {
		return MapChunkResult{}, err
	}
	res.SearchMillis = time.Since(start).Milliseconds()

	// The organization's reviewed decisions come ahead of search.
	recalled, err := a.jobs.Recall(ctx, mappingjob.MemoryScope{ProjectID: in.ProjectID}, mappingjob.MemoryKeys(codes))
	if err != nil {
		return MapChunkResult{}, err
	}
	prov := mappingjob.Provenance{mappingjob.ProvenanceEngine: a.engineVersion, mappingjob.ProvenanceIndex: info.Version, mappingjob.ProvenanceWorkflow: in.WorkflowID}
	items := make([]mappingjob.Item, len(codes))
	for i, m := range ms {
		items[i] = itemOf(codes[i], m, prov)
		if r := recalled[i]; r.Fits(codes[i].Vocabularies, codes[i].Domains) {
			items[i] = r.Apply(items[i])
		}
		switch {
		case items[i].Error != "":
			res.Failed++
			res.Manual++
		case items[i].Method == mappingjob.MethodAuto:
			res.Auto++
		case items[i].Method == mappingjob.MethodReview:
			res.Review++
		default:
			res.Manual++
		}
	}
	start = time.Now()
	if err := a.jobs.UpsertItems(ctx, in.ProjectID, items); err != nil {
		return MapChunkResult{}, err
	}
	res.PersistMillis = time.Since(start).Milliseconds()
	res.LastID = codes[len(codes)-1].ID
	res.Mapped = len(codes)
	return res, nil
}

// meter counts the chunk's codes against the organization's plan before
// any is mapped. The request id names the bulk mapping (its workflow id
// and first run, which continue-as-new keeps) and the chunk's start, so a
// retried chunk counts once while the project's next bulk mapping, under
// the same workflow id, counts again. Past the quota the mapping ends
// (non-retryable QuotaExceeded) with the chunks already mapped kept.
func (a *BulkMapping) meter(ctx context.Context, in MapChunkInput, n int) error {
	if a.metering == nil || in.OrganizationID == "" {
		return nil
	}
	id := fmt.Sprintf("bulk-%s-%d", in.WorkflowID, in.AfterID)
	if in.FirstRunID != "" {
		id = fmt.Sprintf("bulk-%s-%s-%d", in.WorkflowID, in.FirstRunID, in.AfterID)
	}
	err := a.metering.Add(ctx, in.OrganizationID, billing.MappedItems, int64(n), id)
	var qe *billing.QuotaError
	if errors.As(err, &qe) {
		return temporal.NewNonRetryableApplicationError(qe.Error(), "QuotaExceeded", err)
	}
	return err
}

func itemOf(c mappingjob.SourceCode, m mapping.Mapping, prov mappingjob.Provenance) mappingjob.Item {
	it := mappingjob.Item{
		Source: c.Source, Code: c.Code, Description: c.Description,
		SourceColumn: c.Column, SourceCount: c.Count,
		Confidence: m.Confidence, Method: methodOf(m.Status), Provenance: prov,
	}
	if m.Err != nil {
		it.Error = m.Err.Error()
		it.Method = mappingjob.MethodManual
		return it
	}
	it.Candidates = make([]mappingjob.Candidate, len(m.Candidates))
	for i, cand := range m.Candidates {
		it.Candidates[i] = mappingjob.CandidateOf(cand)
	}
	if len(m.Candidates) > 0 {
		it.ConceptID = m.Candidates[0].Concept.ID
	}
	return it
}

func methodOf(r search.Route) mappingjob.Method {
	switch r {
	case search.RouteAuto:
		return mappingjob.MethodAuto
	case search.RouteReview:
		return mappingjob.MethodReview
	}
	return mappingjob.MethodManual
}

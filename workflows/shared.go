// Package workflows holds Portiere's Temporal workflows — building the
// dense search index, populating Elasticsearch, bulk-mapping a project's
// source codes, the nightly index freshness check — with their inputs,
// results, schedules and the client the API starts them with.
//
// Import direction: cmd → apiserver, worker → workflows → activities →
// domain packages. Workflow code is deterministic: no clock, goroutines,
// map iteration or I/O; activities do the work.
package workflows

import (
	"time"
)

// TaskQueue is the queue Portiere's workflows and activities run on.
const TaskQueue = "portiere"

// Workflow ids: one index build and one population at a time, one bulk
// mapping per project.
const (
	IndexBuildWorkflowID     = "index-build"
	ESPopulateWorkflowID     = "es-populate"
	IndexFreshnessScheduleID = "index-freshness"
	bulkMappingIDPrefix      = "bulk-mapping-"
)

// BulkMappingWorkflowID is the workflow id of project's bulk mapping.
func BulkMappingWorkflowID(project string) string { return bulkMappingIDPrefix + project }

// Query and signal names.
const (
	// QueryProgress returns a Progress (bulk mapping, index build).
	QueryProgress = "progress"
	// SignalCancel asks a bulk mapping to stop after its current chunk.
	SignalCancel = "cancel"
)

// Status values of Progress.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusCancelled = "cancelled"
	StatusFailed    = "failed"
)

// BulkMappingInput starts (or, through continue-as-new, continues) a bulk
// mapping of a project's source codes.
type BulkMappingInput struct {
	ProjectID string
	ChunkSize int // codes per MapChunk activity; 0 means 500
	TopK      int // candidates kept per item; 0 means 10
	// ChunksPerRun is how many chunks one run maps before continuing as
	// new, keeping the history small; 0 means 100.
	ChunksPerRun int
	// HeartbeatTimeout is how soon a chunk whose worker died is retried
	// elsewhere; 0 means 30s.
	HeartbeatTimeout time.Duration

	// Set by continue-as-new: the last mapped code's id and the progress
	// so far.
	AfterID  int64
	Progress Progress
}

// Progress is the state of a bulk mapping, from the progress query.
type Progress struct {
	Total  int64  `json:"total"`
	Done   int64  `json:"done"`
	Auto   int64  `json:"auto"`
	Review int64  `json:"review"`
	Manual int64  `json:"manual"`
	Failed int64  `json:"failed"`
	Status string `json:"status"` // running, completed, cancelled, failed
	// Runs counts the continue-as-new generations so far (1 for the
	// first).
	Runs          int   `json:"runs"`
	SearchMillis  int64 `json:"search_ms"`
	PersistMillis int64 `json:"persist_ms"`
}

// IndexBuildInput configures IndexBuildWorkflow.
type IndexBuildInput struct {
	BatchSize int // texts per embedding batch; 0 means activities.DefaultEmbedBatch
	// HeartbeatTimeout is how soon an embedding whose worker died resumes
	// elsewhere; 0 means 1m.
	HeartbeatTimeout time.Duration
}

// IndexBuildResult describes the index saved.
type IndexBuildResult struct {
	Version        string    `json:"version"`
	Path           string    `json:"path"`
	Vectors        int       `json:"vectors"`
	Kind           string    `json:"kind"`
	CreatedAt      time.Time `json:"created_at"`
	SkippedBatches int       `json:"skipped_batches"` // found done by an earlier attempt
}

// ElasticsearchAlias is the alias the lexical tier searches; the
// population workflow points it at a complete index.
const ElasticsearchAlias = "portiere-concepts"

// ESPopulateInput configures ESPopulateWorkflow.
type ESPopulateInput struct {
	Alias       string // the alias moved at the end; required
	ChunkSize   int    // documents per bulk request; 0 means 2000
	Parallelism int    // chunk activities in flight; 0 means 4
}

// ESPopulateResult describes the populated index.
type ESPopulateResult struct {
	Index     string `json:"index"`
	Documents int    `json:"documents"`
	Chunks    int    `json:"chunks"`
}

// IndexFreshnessResult says whether the nightly check rebuilt the index.
type IndexFreshnessResult struct {
	Stale   bool   `json:"stale"`
	Reason  string `json:"reason,omitempty"`
	Rebuilt bool   `json:"rebuilt"`
}

// Package workflows holds Portiere's Temporal workflows — building the
// dense search index, populating Elasticsearch, bulk-mapping a project's
// source codes, the nightly index freshness check — with their inputs,
// results, schedules and the client the API starts them with.
//
// Layout: one file per workflow with its input and result beside it
// (bulkmapping.go, indexbuild.go — with the freshness check that starts it —
// espopulate.go); the activities each calls are the struct of the same
// name in package activities; register.go is the worker's registration,
// client.go the starter, schedules.go the schedules.
//
// Import direction: cmd → apiserver, worker → workflows → activities →
// domain packages. Workflow code is deterministic: no clock, goroutines,
// map iteration or I/O; activities do the work.
package workflows

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

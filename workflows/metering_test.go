package workflows_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/workflows"
)

// meteredActivities is newActivities with a real billing.Service whose
// free plan allows mappedItems a month, and the id of the organization
// of projectWithCodes' projects ("test-org").
func meteredActivities(t *testing.T, pool *pgxpool.Pool, mappedItems int64) (*activities.Activities, *billing.Service, string) {
	t.Helper()
	plans := billing.Plans()
	plans[billing.PlanFree] = billing.Plan{Name: billing.PlanFree, Quotas: map[billing.Meter]int64{billing.MappedItems: mappedItems}}
	svc := billing.NewService(billingstore.New(pool), billing.Options{Plans: plans})
	acts := newActivities(pool, indexedPath(t, pool))
	acts.Metering = svc
	org, err := tenancystore.New(pool).OrganizationBySlug(context.Background(), "test-org")
	if err != nil {
		t.Fatal(err)
	}
	return acts, svc, org.ID
}

// mappedItemsUsed is the organization's mapped_items this month.
func mappedItemsUsed(t *testing.T, svc *billing.Service, org string) int64 {
	t.Helper()
	u, err := svc.UsageOf(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range u.Meters {
		if m.Meter == billing.MappedItems {
			return m.Used
		}
	}
	t.Fatal("no mapped_items meter")
	return 0
}

// quotaExceeded checks that err is the non-retryable application error of
// type QuotaExceeded.
func quotaExceeded(t *testing.T, err error) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != "QuotaExceeded" || !ae.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable QuotaExceeded application error", err)
	}
}

// TestMapChunkMetersMappedItems: MapChunk with OrganizationID counts its
// chunk's codes once however often it runs (a retry), again for the
// project's next bulk mapping (same workflow id, another first run); past
// the quota it fails non-retryably (QuotaExceeded) before writing any item
// of the chunk. Without OrganizationID nothing is counted.
func TestMapChunkMetersMappedItems(t *testing.T) {
	t.Parallel()
	pool := demoDB(t)
	project := projectWithCodes(t, pool, 5)
	acts, svc, org := meteredActivities(t, pool, 7)
	var a *activities.BulkMapping
	mapChunk := func(in activities.MapChunkInput) (activities.MapChunkResult, error) {
		t.Helper()
		env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
		env.RegisterActivity(acts.BulkMapping())
		v, err := env.ExecuteActivity(a.MapChunk, in)
		var r activities.MapChunkResult
		if err == nil {
			err = v.Get(&r)
		}
		return r, err
	}
	wid := workflows.BulkMappingWorkflowID(project)
	first := activities.MapChunkInput{ProjectID: project, OrganizationID: org, Limit: 3, TopK: 3, WorkflowID: wid, FirstRunID: "run-1"}
	var r activities.MapChunkResult
	for attempt := range 2 {
		var err error
		if r, err = mapChunk(first); err != nil || r.Mapped != 3 {
			t.Fatalf("attempt %d: %+v %v", attempt, r, err)
		}
		if got := mappedItemsUsed(t, svc, org); got != 3 {
			t.Fatalf("after attempt %d: mapped_items %d, want 3 (a retried chunk counts once)", attempt, got)
		}
	}
	checkItems(t, pool, project, 3)

	// The project's next bulk mapping maps the chunk again: it counts.
	again := first
	again.FirstRunID = "run-2"
	if r, err := mapChunk(again); err != nil || r.Mapped != 3 {
		t.Fatalf("next bulk mapping: %+v %v", r, err)
	}
	if got := mappedItemsUsed(t, svc, org); got != 6 {
		t.Fatalf("after the next bulk mapping's chunk: mapped_items %d, want 6", got)
	}

	// 6 of 7 used: the last 2 codes would cross the quota.
	rest := again
	rest.AfterID = r.LastID
	_, err := mapChunk(rest)
	quotaExceeded(t, err)
	if got := mappedItemsUsed(t, svc, org); got != 6 {
		t.Fatalf("after the refused chunk: mapped_items %d, want 6", got)
	}
	checkItems(t, pool, project, 3)

	// Without an organization the chunk is mapped and counts nothing.
	rest.OrganizationID = ""
	if r, err := mapChunk(rest); err != nil || r.Mapped != 2 {
		t.Fatalf("unmetered chunk: %+v %v", r, err)
	}
	if got := mappedItemsUsed(t, svc, org); got != 6 {
		t.Fatalf("after the unmetered chunk: mapped_items %d, want 6", got)
	}
	checkItems(t, pool, project, 5)
}

// TestBulkMappingMetersEachRunAndStopsAtQuota runs BulkMappingWorkflow on
// the Temporal dev server: a run counts each code once across
// continue-as-new; the project's next run under the same workflow id
// counts again and, past the quota, fails at once (one attempt) with
// QuotaExceeded, keeping the chunks mapped before.
func TestBulkMappingMetersEachRunAndStopsAtQuota(t *testing.T) {
	tc := devTemporal(t)
	pool := demoDB(t)
	project := projectWithCodes(t, pool, 10)
	acts, svc, org := meteredActivities(t, pool, 14)
	queue := inProcessWorker(t, tc, acts)
	ctx := context.Background()
	id := workflows.BulkMappingWorkflowID(project)
	in := workflows.BulkMappingInput{ProjectID: project, OrganizationID: org, ChunkSize: 4, ChunksPerRun: 2}

	var p workflows.Progress
	if err := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, in).Get(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != workflows.StatusCompleted || p.Done != 10 || p.Runs != 2 {
		t.Fatalf("first bulk mapping: %+v", p)
	}
	if got := mappedItemsUsed(t, svc, org); got != 10 {
		t.Fatalf("after the first bulk mapping: mapped_items %d, want 10", got)
	}

	// 10 of 14 used: the next run's first chunk (4) fits, its second does
	// not.
	run := startWorkflow(t, tc, queue, id, workflows.BulkMappingWorkflow, in)
	quotaExceeded(t, run.Get(ctx, nil))
	if got := mappedItemsUsed(t, svc, org); got != 14 {
		t.Fatalf("after the second bulk mapping: mapped_items %d, want 14", got)
	}
	checkItems(t, pool, project, 10)
	attempts := 0
	it := tc.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s := e.GetActivityTaskStartedEventAttributes(); s != nil && s.GetAttempt() > 1 {
			attempts++
		}
	}
	if attempts != 0 {
		t.Fatalf("%d activity retries after QuotaExceeded, want none", attempts)
	}
}

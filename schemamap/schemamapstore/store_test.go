package schemamapstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/schemamap"
	"github.com/portiere/portiere/schemamap/schemamapstore"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newProject(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	tenants := tenancystore.New(pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "o", Slug: "org"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	return pool, p.ID
}

type event struct {
	ItemID                        int64
	Actor, Action, Comment        string
	BeforeStatus, AfterStatus     *string
	BeforeRevision, AfterRevision *int
}

func events(t *testing.T, pool *pgxpool.Pool, project string) []event {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		select item_id, actor, action, comment, before ->> 'status', after ->> 'status',
		       (before ->> 'revision')::int, (after ->> 'revision')::int
		from review_events where project_id = $1 and item_kind = 'schema' order by id`, project)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.ItemID, &e.Actor, &e.Action, &e.Comment, &e.BeforeStatus, &e.AfterStatus, &e.BeforeRevision, &e.AfterRevision); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// A push creates items, pushing the same items again changes nothing (no
// duplicate, no new revision, no audit row), a changed item is updated with
// a new revision and one audit row, and a key pushed twice in one call
// keeps the last.
func TestPushIsIdempotentAndAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, project := newProject(t)
	s := schemamapstore.New(pool)
	cand := json.RawMessage(`{"target_table": "person", "target_column": "birth_datetime", "confidence": 0.96, "extra": {"nested": [1, "x", null]}}`)
	items := []schemamap.Item{
		{SourceTable: "patients", SourceColumn: "dob", TargetTable: "person", TargetColumn: "birth_datetime", Confidence: 0.96,
			Status: schemamap.StatusAutoAccepted, Candidates: []json.RawMessage{cand}},
		{SourceColumn: "zip", Confidence: 0.1, Status: schemamap.StatusUnmapped},
	}
	res, err := s.Push(ctx, project, "user-1", items)
	if err != nil || res.Created != 2 || res.Updated != 0 || res.Unchanged != 0 || len(res.Items) != 2 {
		t.Fatalf("first push: %+v %v", res, err)
	}
	dob := res.Items[0]
	if dob.ID == 0 || dob.Revision != 1 || dob.SourceTable != "patients" || dob.TargetColumn != "birth_datetime" ||
		dob.Status != schemamap.StatusAutoAccepted || len(dob.Candidates) != 1 || !jsonEqual(t, dob.Candidates[0], cand) {
		t.Fatalf("stored dob: %+v", dob)
	}
	if z := res.Items[1]; z.SourceTable != "" || z.TargetTable != "" || z.Candidates == nil || len(z.Candidates) != 0 {
		t.Fatalf("stored zip: %+v", z)
	}

	res, err = s.Push(ctx, project, "user-1", items)
	if err != nil || res.Created != 0 || res.Updated != 0 || res.Unchanged != 2 || res.Items[0].ID != dob.ID || res.Items[0].Revision != 1 {
		t.Fatalf("same push again: %+v %v", res, err)
	}
	all, err := s.Items(ctx, project)
	if err != nil || len(all) != 2 {
		t.Fatalf("items after two pushes: %d %v", len(all), err)
	}

	changed := items[1]
	changed.Status, changed.TargetTable, changed.TargetColumn = schemamap.StatusApproved, "location", "zip"
	first := items[0]
	first.Confidence = 0.5 // overwritten by the later copy of the same key
	res, err = s.Push(ctx, project, "key-9", []schemamap.Item{first, changed, items[0]})
	if err != nil || res.Created != 0 || res.Updated != 1 || res.Unchanged != 1 || len(res.Items) != 2 {
		t.Fatalf("push with a change: %+v %v", res, err)
	}
	z := res.Items[1]
	if z.Revision != 2 || z.Status != schemamap.StatusApproved || z.TargetTable != "location" || z.DecidedBy != "key-9" || z.DecidedAt == nil {
		t.Fatalf("changed zip: %+v", z)
	}
	if res.Items[0].Confidence != 0.96 || res.Items[0].Revision != 1 {
		t.Fatalf("the last copy of a key wins: %+v", res.Items[0])
	}

	ev := events(t, pool, project)
	if len(ev) != 3 {
		t.Fatalf("audit rows: %+v", ev)
	}
	if ev[0].Action != "sync" || ev[0].Actor != "user-1" || ev[0].BeforeStatus != nil || *ev[0].AfterStatus != "auto_accepted" {
		t.Errorf("created row: %+v", ev[0])
	}
	last := ev[2]
	if last.ItemID != z.ID || last.Actor != "key-9" || *last.BeforeStatus != "unmapped" || *last.AfterStatus != "approved" ||
		*last.BeforeRevision != 1 || *last.AfterRevision != 2 {
		t.Errorf("changed row: %+v", last)
	}
}

// An item with a stale revision fails the whole push: nothing of it is
// written, the error names the item.
func TestPushWithStaleRevisionWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, project := newProject(t)
	s := schemamapstore.New(pool)
	res, err := s.Push(ctx, project, "u", []schemamap.Item{{SourceTable: "t", SourceColumn: "a", Status: schemamap.StatusNeedsReview, Confidence: 0.8}})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Items[0]
	a.Confidence = 0.9
	if res, err = s.Push(ctx, project, "u", []schemamap.Item{a}); err != nil || res.Items[0].Revision != 2 {
		t.Fatalf("push at the current revision: %+v %v", res, err)
	}
	stale := a // still revision 1
	stale.Confidence = 0.1
	_, err = s.Push(ctx, project, "u", []schemamap.Item{
		{SourceColumn: "new", Status: schemamap.StatusNeedsReview}, stale,
	})
	if !errors.Is(err, schemamap.ErrConflict) || !strings.Contains(err.Error(), `"t.a" (revision 1, stored 2)`) {
		t.Fatalf("stale push: %v", err)
	}
	all, _ := s.Items(ctx, project)
	if len(all) != 1 || all[0].Confidence != 0.9 || all[0].Revision != 2 {
		t.Fatalf("after the refused push: %+v", all)
	}
	if n := len(events(t, pool, project)); n != 2 {
		t.Fatalf("audit rows after the refused push: %d", n)
	}
	_, err = s.Push(ctx, project, "u", []schemamap.Item{{SourceColumn: "ghost", Status: schemamap.StatusNeedsReview, Revision: 3}})
	if !errors.Is(err, schemamap.ErrConflict) {
		t.Fatalf("a revision for an item that does not exist: %v", err)
	}
	if _, err := s.Push(ctx, project, "u", []schemamap.Item{{SourceColumn: "", Status: schemamap.StatusNeedsReview}}); !errors.Is(err, schemamap.ErrInvalid) {
		t.Fatalf("empty source column: %v", err)
	}
	if _, err := s.Push(ctx, project, "u", []schemamap.Item{{SourceColumn: "x", Status: "maybe"}}); !errors.Is(err, schemamap.ErrInvalid) {
		t.Fatalf("unknown status: %v", err)
	}
	if _, err := s.Push(ctx, project, "u", []schemamap.Item{{SourceColumn: "x", Status: schemamap.StatusNeedsReview,
		Candidates: []json.RawMessage{json.RawMessage(`[1]`)}}}); !errors.Is(err, schemamap.ErrInvalid) {
		t.Fatalf("a candidate that is not an object: %v", err)
	}
	if _, err := s.Push(ctx, "00000000-0000-0000-0000-000000000000", "u", []schemamap.Item{{SourceColumn: "x", Status: schemamap.StatusNeedsReview}}); !errors.Is(err, schemamap.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
}

// Decisions: approve keeps the target, override sets the override target
// and keeps the suggestion, reject keeps the suggestion; each writes one
// audit row with before, after and comment; stale revisions, unknown items
// and target-less approvals are refused without a row.
func TestDecide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, project := newProject(t)
	s := schemamapstore.New(pool)
	res, err := s.Push(ctx, project, "u", []schemamap.Item{
		{SourceColumn: "dob", TargetTable: "person", TargetColumn: "birth_datetime", Confidence: 0.8, Status: schemamap.StatusNeedsReview},
		{SourceColumn: "blob", Confidence: 0.1, Status: schemamap.StatusUnmapped},
	})
	if err != nil {
		t.Fatal(err)
	}
	dob, blob := res.Items[0], res.Items[1]
	before := len(events(t, pool, project))

	it, err := s.Decide(ctx, project, schemamap.Decision{ID: dob.ID, Status: schemamap.StatusApproved, Actor: "rev", Comment: "looks right", Revision: 1})
	if err != nil || it.Status != schemamap.StatusApproved || it.Revision != 2 || it.DecidedBy != "rev" || it.DecidedAt == nil || it.TargetColumn != "birth_datetime" {
		t.Fatalf("approve: %+v %v", it, err)
	}
	if _, err := s.Decide(ctx, project, schemamap.Decision{ID: dob.ID, Status: schemamap.StatusRejected, Actor: "rev", Revision: 1}); !errors.Is(err, schemamap.ErrConflict) {
		t.Fatalf("stale decision: %v", err)
	}
	it, err = s.Decide(ctx, project, schemamap.Decision{ID: dob.ID, Status: schemamap.StatusOverridden, TargetTable: "person", TargetColumn: "year_of_birth", Actor: "rev2"})
	if err != nil || it.Status != schemamap.StatusOverridden || it.OverrideTargetColumn != "year_of_birth" || it.TargetColumn != "birth_datetime" || it.Revision != 3 {
		t.Fatalf("override: %+v %v", it, err)
	}
	if tbl, col := it.EffectiveTarget(); tbl != "person" || col != "year_of_birth" {
		t.Fatalf("effective target: %s.%s", tbl, col)
	}
	it, err = s.Decide(ctx, project, schemamap.Decision{ID: blob.ID, Status: schemamap.StatusRejected, Actor: "rev"})
	if err != nil || it.Status != schemamap.StatusRejected {
		t.Fatalf("reject: %+v %v", it, err)
	}
	if _, err := s.Decide(ctx, project, schemamap.Decision{ID: blob.ID, Status: schemamap.StatusApproved, Actor: "rev"}); !errors.Is(err, schemamap.ErrInvalid) {
		t.Fatalf("approving an item without target: %v", err)
	}
	_, err = s.Decide(ctx, project, schemamap.Decision{ID: 999999, Status: schemamap.StatusApproved, Actor: "rev"})
	if !errors.Is(err, schemamap.ErrNotFound) || err.Error() != "Schema mapping 999999 not found in project "+project {
		t.Fatalf("unknown item: %v", err)
	}
	if _, err := s.Item(ctx, project, dob.ID); err != nil {
		t.Fatal(err)
	}

	ev := events(t, pool, project)[before:]
	want := []struct{ action, actor, comment, from, to string }{
		{"approve", "rev", "looks right", "needs_review", "approved"},
		{"override", "rev2", "", "approved", "overridden"},
		{"reject", "rev", "", "unmapped", "rejected"},
	}
	if len(ev) != len(want) {
		t.Fatalf("decision audit rows: %+v", ev)
	}
	for i, w := range want {
		e := ev[i]
		if e.Action != w.action || e.Actor != w.actor || e.Comment != w.comment || *e.BeforeStatus != w.from || *e.AfterStatus != w.to {
			t.Errorf("audit row %d: %+v, want %+v", i, e, w)
		}
	}
}

// Concurrent pushes of the same new items create each once: one push
// creates them, the others find them unchanged, and one audit row each.
func TestConcurrentPushesCreateOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, project := newProject(t)
	s := schemamapstore.New(pool)
	items := []schemamap.Item{
		{SourceTable: "t", SourceColumn: "a", Status: schemamap.StatusNeedsReview, Confidence: 0.8},
		{SourceTable: "t", SourceColumn: "b", Status: schemamap.StatusUnmapped},
	}
	const pushes = 6
	results := make(chan schemamap.PushResult, pushes)
	errs := make(chan error, pushes)
	for range pushes {
		go func() {
			res, err := s.Push(ctx, project, "u", items)
			results <- res
			errs <- err
		}()
	}
	created, unchanged := 0, 0
	for range pushes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		res := <-results
		for _, it := range res.Items {
			if it.ID == 0 || it.Revision != 1 {
				t.Errorf("a push answered an item it did not read back: %+v", it)
			}
		}
		created += res.Created
		unchanged += res.Unchanged
	}
	all, err := s.Items(ctx, project)
	if err != nil || len(all) != 2 || created != 2 || unchanged != 2*(pushes-1) {
		t.Fatalf("items %d, created %d, unchanged %d, %v", len(all), created, unchanged, err)
	}
	if n := len(events(t, pool, project)); n != 2 {
		t.Fatalf("audit rows: %d", n)
	}
}

package apiserver_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

// TestCrowdRoutes: an organization sends items by id and by review band,
// reads their crowd status; three mappers' votes resolve an item, which
// comes back with method crowd, its audit event and a written-back status.
func TestCrowdRoutes(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, it := w.project(t, tenancy.SecondReviewerNone,
		item("A", 201826, 0.55, mappingjob.MethodReview, 201826, 320128),
		item("B", 320128, 0.6, mappingjob.MethodReview, 320128),
		item("C", 4329847, 0.97, mappingjob.MethodAuto, 4329847),
	)
	base := "/api/v1/projects/" + p.ID + "/crowd"

	for _, c := range []struct{ who, body string }{
		{"alice", `{}`},
		{"alice", `{"min_confidence": 0.9}`},
		{"alice", fmt.Sprintf(`{"item_ids": [%d], "min_confidence": 0.1, "max_confidence": 0.2}`, it["A"].ID)},
		{"alice", `{"min_confidence": 0.8, "max_confidence": 0.2}`},
		{"alice", `{"item_ids": "A"}`},
	} {
		if r := w.call(t, c.who, "POST", base+"/submissions", c.body); r.status != 422 || r.body["detail"] == nil {
			t.Errorf("%s: %d %s, want 422 {detail}", c.body, r.status, r.raw)
		}
	}
	if r := w.call(t, "viewer", "POST", base+"/submissions", fmt.Sprintf(`{"item_ids": [%d]}`, it["A"].ID)); r.status != 403 {
		t.Errorf("viewer submits: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "alice", "POST", base+"/submissions", `{"item_ids": [99999999]}`); r.status != 404 {
		t.Errorf("unknown item: %d %s", r.status, r.raw)
	}
	r := w.call(t, "alice", "POST", base+"/submissions", fmt.Sprintf(`{"item_ids": [%d]}`, it["A"].ID))
	if r.status != 200 {
		t.Fatalf("submit by id: %d %s", r.status, r.raw)
	}
	// The band [0.5, 0.7] holds A (sent already, same task) and B.
	r = w.call(t, "alice", "POST", base+"/submissions", `{"min_confidence": 0.5, "max_confidence": 0.7}`)
	items, _ := r.body["items"].([]any)
	if r.status != 200 || len(items) != 2 {
		t.Fatalf("submit the band: %d %s", r.status, r.raw)
	}
	r = w.call(t, "viewer", "GET", base+"/items", "")
	items, _ = r.body["items"].([]any)
	if r.status != 200 || len(items) != 2 || items[0].(map[string]any)["state"] != "open" {
		t.Fatalf("status: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "viewer", "GET", base+"/items?ids=x", ""); r.status != 422 {
		t.Errorf("bad ids: %d %s", r.status, r.raw)
	}

	// Three approved mappers approve A's proposal.
	st, err := w.crowd.Status(w.ctx, p.ID, []int64{it["A"].ID})
	if err != nil || len(st) != 1 {
		t.Fatal(st, err)
	}
	mappers := mapperstore.New(w.pool)
	for i := 0; i < 3; i++ {
		m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: fmt.Sprint("U", i), DisplayName: fmt.Sprint("m", i),
			Status: mapper.StatusApproved, RatePercent: 100, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := mappers.Create(w.ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := w.crowd.Vote(w.ctx, m.ID, st[0].TaskID, crowd.VoteInput{Action: crowd.ActionApprove}); err != nil {
			t.Fatal(err)
		}
	}
	r = w.call(t, "viewer", "GET", fmt.Sprintf("%s/items?ids=%d", base, it["A"].ID), "")
	items, _ = r.body["items"].([]any)
	if r.status != 200 || len(items) != 1 {
		t.Fatalf("status of A: %d %s", r.status, r.raw)
	}
	a := items[0].(map[string]any)
	res, _ := a["resolution"].(map[string]any)
	if a["state"] != "resolved" || a["written_back"] != true || res["concept_id"] != float64(201826) || a["votes"] != float64(3) {
		t.Fatalf("A after three votes: %s", r.raw)
	}
	r = w.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/history", p.ID, it["A"].ID), "")
	events, _ := r.body["events"].([]any)
	if r.status != 200 || len(events) != 1 || events[0].(map[string]any)["actor"] != "crowd" {
		t.Fatalf("A's history: %d %s", r.status, r.raw)
	}
	got, err := w.items.ItemByID(w.ctx, p.ID, it["A"].ID)
	if err != nil || got.Method != mappingjob.MethodCrowd || got.Review != mappingjob.ReviewApproved {
		t.Fatalf("A: %+v %v", got, err)
	}
	// A decided item cannot be sent again.
	if r := w.call(t, "alice", "POST", base+"/submissions", fmt.Sprintf(`{"item_ids": [%d]}`, it["A"].ID)); r.status != 422 {
		t.Errorf("resend a decided item: %d %s", r.status, r.raw)
	}
}

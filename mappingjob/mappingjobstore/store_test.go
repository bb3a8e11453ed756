package mappingjobstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The lifecycle of a mapping item: proposed (pending, revision 1),
// re-proposed (revision 2), decided (approved / overridden / rejected as
// unmapped, with who and when), and kept when the bulk mapping runs again.
func TestItemLifecycle(t *testing.T) {
	t.Parallel()
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
	reviewer, err := tenants.CreateUser(ctx, tenancy.User{Email: "rev@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	s := mappingjobstore.New(pool)
	cands := []mappingjob.Candidate{{ConceptID: 11, ConceptName: "first"}, {ConceptID: 22, ConceptName: "second"}}
	propose := func(conf float64) {
		t.Helper()
		items := []mappingjob.Item{
			{Source: "S", Code: "A", ConceptID: 11, Candidates: cands, Confidence: conf, Method: mappingjob.MethodReview},
			{Source: "S", Code: "B", ConceptID: 11, Candidates: cands, Confidence: conf, Method: mappingjob.MethodReview},
			{Source: "S", Code: "C", ConceptID: 11, Candidates: cands, Confidence: conf, Method: mappingjob.MethodAuto},
		}
		if err := s.UpsertItems(ctx, p.ID, items); err != nil {
			t.Fatal(err)
		}
	}
	propose(0.5)
	a, err := s.Item(ctx, p.ID, "S", "A")
	if err != nil || a.Review != mappingjob.ReviewPending || a.Revision != 1 || a.DecidedAt != nil || len(a.Candidates) != 2 {
		t.Fatalf("proposed: %+v %v", a, err)
	}
	propose(0.6)
	if a, _ = s.Item(ctx, p.ID, "S", "A"); a.Revision != 2 || a.Confidence != 0.6 {
		t.Fatalf("re-proposed: %+v", a)
	}

	// A reviewer who read revision 1 is refused.
	if _, err := s.Decide(ctx, p.ID, mappingjob.Decision{Source: "S", Code: "A", Review: mappingjob.ReviewApproved, Revision: 1}); !errors.Is(err, mappingjob.ErrConflict) {
		t.Fatalf("stale revision: %v, want ErrConflict", err)
	}
	got, err := s.Decide(ctx, p.ID, mappingjob.Decision{Source: "S", Code: "A", Review: mappingjob.ReviewApproved, DecidedBy: reviewer.ID, Actor: reviewer.ID, Revision: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got.Review != mappingjob.ReviewApproved || got.ConceptID != 11 || got.Method != mappingjob.MethodAuto || got.DecidedBy != reviewer.ID ||
		got.DecidedAt == nil || got.Revision != 3 || len(got.Candidates) != 2 {
		t.Errorf("approved: %+v", got)
	}
	got, err = s.Decide(ctx, p.ID, mappingjob.Decision{Source: "S", Code: "B", Review: mappingjob.ReviewOverridden, ConceptID: 4029098, Actor: "operator", Revision: 2})
	if err != nil || got.Method != mappingjob.MethodOverride || got.ConceptID != 4029098 || got.Review != mappingjob.ReviewOverridden || got.DecidedBy != "" {
		t.Errorf("overridden: %+v %v", got, err)
	}
	c0, _ := s.Item(ctx, p.ID, "S", "C")
	got, err = s.Decide(ctx, p.ID, mappingjob.Decision{ItemID: c0.ID, Review: mappingjob.ReviewRejected, Actor: "operator"})
	if err != nil || got.Code != "C" || got.Method != mappingjob.MethodUnmapped || got.ConceptID != 0 || got.Review != mappingjob.ReviewRejected {
		t.Errorf("rejected as unmapped: %+v %v", got, err)
	}
	// Every decision wrote its audit row, before and after.
	for code, action := range map[string]string{"A": "approve", "B": "override", "C": "reject"} {
		it, _ := s.Item(ctx, p.ID, "S", code)
		h, err := s.History(ctx, p.ID, mappingjob.KindConcept, it.ID)
		if err != nil || len(h) != 1 || h[0].Action != action {
			t.Fatalf("%s history: %+v %v", code, h, err)
		}
		var before, after mappingjob.Snapshot
		if json.Unmarshal(h[0].Before, &before) != nil || json.Unmarshal(h[0].After, &after) != nil ||
			before.ReviewDecision != mappingjob.ReviewPending || after.ReviewDecision != it.Review || after.Revision != 3 {
			t.Errorf("%s audit row: %s → %s", code, h[0].Before, h[0].After)
		}
	}
	for _, d := range []mappingjob.Decision{
		{Source: "S", Code: "A", Review: mappingjob.ReviewOverridden, Actor: "operator", Revision: 3}, // no concept
		{Source: "S", Code: "A", Review: "maybe", Actor: "operator", Revision: 3},                     // unknown decision
		{Source: "S", Code: "A", Review: mappingjob.ReviewApproved, Revision: 3},                      // nobody decided
	} {
		if _, err := s.Decide(ctx, p.ID, d); !errors.Is(err, mappingjob.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", d, err)
		}
	}
	if _, err := s.Decide(ctx, p.ID, mappingjob.Decision{Source: "S", Code: "Z", Review: mappingjob.ReviewApproved, Revision: 1}); !errors.Is(err, mappingjob.ErrNotFound) {
		t.Errorf("unknown item: %v, want ErrNotFound", err)
	}

	// Mapping the project again leaves decided items alone.
	propose(0.9)
	items, err := s.Items(ctx, p.ID)
	if err != nil || len(items) != 3 {
		t.Fatalf("items: %+v %v", items, err)
	}
	for _, it := range items {
		if it.Review == mappingjob.ReviewPending || it.Confidence == 0.9 || it.Revision != 3 {
			t.Errorf("decided item changed by a new proposal: %+v", it)
		}
	}
	c, err := s.CountItems(ctx, p.ID)
	if err != nil || c.Total != 3 || c.Review != 0 || c.Auto != 1 {
		t.Errorf("counts %+v %v", c, err)
	}
}

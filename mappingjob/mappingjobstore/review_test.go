package mappingjobstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// The second-reviewer rule as stored: votes survive a re-proposal by the
// bulk mapping, the queues list the items, the accepted walk sees only
// final acceptances, and the decision events rate both reviewers.
func TestSecondReviewStored(t *testing.T) {
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
	if _, err := pool.Exec(ctx, `insert into concept values (11, 'eleven', 'Condition', 'SNOMED', 'Clinical Finding', 'S', 'C11', '1970-01-01', '2099-12-31', null)`); err != nil {
		t.Fatal(err)
	}
	s := mappingjobstore.New(pool)
	cands := []mappingjob.Candidate{{ConceptID: 11, ConceptName: "eleven", VocabularyID: "SNOMED", DomainID: "Condition"}}
	propose := func(conf float64) {
		t.Helper()
		var items []mappingjob.Item
		for _, code := range []string{"A", "B", "C"} {
			items = append(items, mappingjob.Item{Source: "S", Code: code, ConceptID: 11, Candidates: cands, Confidence: conf, Method: mappingjob.MethodReview})
		}
		if err := s.UpsertItems(ctx, p.ID, items); err != nil {
			t.Fatal(err)
		}
	}
	propose(0.5)
	get := func(code string) mappingjob.Item {
		it, err := s.Item(ctx, p.ID, "S", code)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	decide := func(code, actor string, review mappingjob.ReviewStatus, concept int32) (mappingjob.Item, error) {
		return s.Decide(ctx, p.ID, mappingjob.Decision{ItemID: get(code).ID, Review: review, ConceptID: concept, Actor: actor, SecondReview: review != mappingjob.ReviewRejected})
	}
	if it, err := decide("A", "ann", mappingjob.ReviewApproved, 0); err != nil || it.State() != mappingjob.StateAwaitingSecond || it.FirstDecision.Reviewer != "ann" {
		t.Fatalf("A first: %+v %v", it, err)
	}
	if it, err := decide("B", "ann", mappingjob.ReviewOverridden, 42); err != nil || it.State() != mappingjob.StateAwaitingSecond {
		t.Fatalf("B first: %+v %v", it, err)
	}
	if it, err := decide("B", "bo", mappingjob.ReviewRejected, 0); err != nil || !it.Flagged || it.SecondDecision.Reviewer != "bo" {
		t.Fatalf("B second: %+v %v", it, err)
	}
	if _, err := decide("A", "ann", mappingjob.ReviewApproved, 0); !errors.Is(err, mappingjob.ErrSameReviewer) {
		t.Fatalf("A by ann again: %v", err)
	}
	// A new proposal leaves A (awaiting) and B (flagged) alone.
	propose(0.9)
	if a, b, c := get("A"), get("B"), get("C"); a.Confidence != 0.5 || a.FirstDecision == nil || b.Confidence != 0.5 || !b.Flagged || c.Confidence != 0.9 {
		t.Fatalf("re-proposed: A %+v B %+v C %+v", a, b, c)
	}
	for st, want := range map[mappingjob.ReviewState]string{mappingjob.StateAwaitingSecond: "A", mappingjob.StateFlagged: "B"} {
		q, err := s.Queue(ctx, p.ID, st, 0, 0)
		if err != nil || len(q) != 1 || q[0].Code != want {
			t.Errorf("queue %s: %+v %v", st, q, err)
		}
	}
	// Bulk approval skips A and B, approves C as a first vote (the rule).
	if n, err := s.ApproveWhere(ctx, p.ID, mappingjob.Filter{Source: "S"}, mappingjob.Decision{Actor: "bo", SecondReview: true}); err != nil || n != 1 {
		t.Fatalf("bulk: %d %v", n, err)
	}
	if c := get("C"); c.State() != mappingjob.StateAwaitingSecond || c.FirstDecision.Reviewer != "bo" {
		t.Fatalf("C after bulk: %+v", c)
	}
	var accepted []string
	walk := func() {
		accepted = nil
		if err := s.Accepted(ctx, p.ID, func(a mappingjob.Accepted) error {
			accepted = append(accepted, a.Code+":"+a.ConceptCode)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if walk(); len(accepted) != 0 {
		t.Fatalf("nothing is final yet, exported %v", accepted)
	}
	if it, err := decide("A", "bo", mappingjob.ReviewApproved, 0); err != nil || it.Review != mappingjob.ReviewApproved {
		t.Fatalf("A second: %+v %v", it, err)
	}
	if walk(); len(accepted) != 1 || accepted[0] != "A:C11" {
		t.Fatalf("accepted %v", accepted)
	}
	events, err := s.Decisions(ctx, p.ID)
	if err != nil || len(events) != 5 {
		t.Fatalf("decision events: %d %v", len(events), err)
	}
	ratings := mappingjob.Ratings(events)
	labels := map[string]string{}
	for _, r := range ratings {
		labels[r.Item+"/"+r.Reviewer] = r.Label
	}
	a, b, c := get("A"), get("B"), get("C")
	want := map[string]string{
		itemKey(a.ID, "ann"): "accept:11", itemKey(a.ID, "bo"): "accept:11",
		itemKey(b.ID, "ann"): "accept:42", itemKey(b.ID, "bo"): "reject",
		itemKey(c.ID, "bo"): "accept:11",
	}
	if len(labels) != len(want) {
		t.Fatalf("ratings %v, want %v", labels, want)
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("rating %s = %q, want %q", k, labels[k], v)
		}
	}
	if _, err := s.Comment(ctx, p.ID, 999999, "ann", "x"); !errors.Is(err, mappingjob.ErrNotFound) {
		t.Errorf("comment on no item: %v", err)
	}
}

func itemKey(id int64, reviewer string) string {
	return strconv.FormatInt(id, 10) + "/" + reviewer
}

// BenchmarkApproveWhere approves 5,000 open items in one call: every
// item's update and audit row go out in one batch.
func BenchmarkApproveWhere(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.New(b)
	tenants := tenancystore.New(pool)
	org, err := tenants.CreateOrganization(ctx, tenancy.Organization{Name: "o", Slug: "org"})
	if err != nil {
		b.Fatal(err)
	}
	s := mappingjobstore.New(pool)
	cands := []mappingjob.Candidate{{ConceptID: 11, ConceptName: "eleven", VocabularyID: "SNOMED", DomainID: "Condition"}}
	const n = 5000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p, err := tenants.CreateProject(ctx, tenancy.Project{OrganizationID: org.ID, Name: "p" + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		items := make([]mappingjob.Item, n)
		for k := range items {
			items[k] = mappingjob.Item{Source: "S", Code: strconv.Itoa(k), ConceptID: 11, Candidates: cands, Confidence: 0.97, Method: mappingjob.MethodAuto}
		}
		if err := s.UpsertItems(ctx, p.ID, items); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		got, err := s.ApproveWhere(ctx, p.ID, mappingjob.Filter{Method: mappingjob.MethodAuto}, mappingjob.Decision{Actor: "bench"})
		if err != nil || got != n {
			b.Fatalf("%d %v", got, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/item")
}

package mappingjobstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

type memoryWorld struct {
	ctx      context.Context
	pool     *pgxpool.Pool
	s        *mappingjobstore.Store
	orgA     tenancy.Organization
	orgB     tenancy.Organization
	a1, a2   tenancy.Project // organization A's
	b1       tenancy.Project // organization B's
	reviewer tenancy.User
}

func newMemoryWorld(t *testing.T) *memoryWorld {
	t.Helper()
	w := &memoryWorld{ctx: context.Background(), pool: dbtest.New(t)}
	w.s = mappingjobstore.New(w.pool)
	tenants := tenancystore.New(w.pool)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w.orgA, err = tenants.CreateOrganization(w.ctx, tenancy.Organization{Name: "A", Slug: "org-a"})
	must(err)
	w.orgB, err = tenants.CreateOrganization(w.ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	must(err)
	w.a1, err = tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "a1"})
	must(err)
	w.a2, err = tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "a2"})
	must(err)
	w.b1, err = tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgB.ID, Name: "b1"})
	must(err)
	w.reviewer, err = tenants.CreateUser(w.ctx, tenancy.User{Email: "rev@a.example"})
	must(err)
	_, err = w.pool.Exec(w.ctx, `insert into concept (concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept,
		concept_code, valid_start_date, valid_end_date) values (201826, 'Type 2 diabetes mellitus', 'Condition', 'SNOMED', 'Clinical Finding', 'S',
		'44054006', '2000-01-01', '2099-12-31')`)
	must(err)
	return w
}

// decide proposes code in project p and records review on it.
func (w *memoryWorld) decide(t *testing.T, p tenancy.Project, code, desc string, review mappingjob.ReviewStatus) mappingjob.Item {
	t.Helper()
	cands := []mappingjob.Candidate{{ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition",
		ConceptClassID: "Clinical Finding", StandardConcept: "S", Score: 0.8}}
	if err := w.s.UpsertItems(w.ctx, p.ID, []mappingjob.Item{{Source: "S", Code: code, Description: desc, ConceptID: 201826,
		Candidates: cands, Confidence: 0.8, Method: mappingjob.MethodReview}}); err != nil {
		t.Fatal(err)
	}
	cur, err := w.s.Item(w.ctx, p.ID, "S", code)
	if err != nil {
		t.Fatal(err)
	}
	d := mappingjob.Decision{Source: "S", Code: code, Review: review, DecidedBy: w.reviewer.ID, Actor: w.reviewer.ID, Revision: cur.Revision}
	if review == mappingjob.ReviewOverridden {
		d.ConceptID, d.ConceptName, d.VocabularyID, d.DomainID = 201826, "Type 2 diabetes mellitus", "SNOMED", "Condition"
	}
	it, err := w.s.Decide(w.ctx, p.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestMemoryRecallsTheOrganizationsCurrentDecisions(t *testing.T) {
	t.Parallel()
	w := newMemoryWorld(t)
	approved := w.decide(t, w.a1, "E11.9", "Type 2 diabetes, no complications", mappingjob.ReviewApproved)
	w.decide(t, w.b1, "B-ONLY", "only in B", mappingjob.ReviewApproved)

	keys := []mappingjob.MemoryKey{
		{Code: " e11.9 ", Description: "type 2  DIABETES,\tno complications"}, // normalised: the same
		{Code: "E11.9", Description: "something else"},
		{Code: "B-ONLY", Description: "only in B"},
	}
	got, err := w.s.Recall(w.ctx, mappingjob.MemoryScope{ProjectID: w.a2.ID}, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] == nil || got[1] != nil || got[2] != nil {
		t.Fatalf("recall from a2 (organization A): %+v", got)
	}
	r := got[0]
	if r.ItemID != approved.ID || r.ProjectID != w.a1.ID || r.ProjectName != "a1" || r.Reviewer != "rev@a.example" || r.DecidedBy != w.reviewer.ID ||
		r.DecidedAt == nil || r.Review != mappingjob.ReviewApproved ||
		r.Candidate.ConceptID != 201826 || r.Candidate.ConceptClassID != "Clinical Finding" || r.Candidate.StandardConcept != "S" {
		t.Fatalf("recollection %+v", r)
	}
	// Organization B never sees A's memory, by organization or by project.
	for _, scope := range []mappingjob.MemoryScope{{OrganizationID: w.orgB.ID}, {ProjectID: w.b1.ID}} {
		got, err := w.s.Recall(w.ctx, scope, keys[:1])
		if err != nil || got[0] != nil {
			t.Fatalf("B recalls A's decision: %+v %v", got, err)
		}
	}
	if got, _ := w.s.Recall(w.ctx, mappingjob.MemoryScope{OrganizationID: w.orgB.ID}, keys[2:]); got[0] == nil {
		t.Fatal("B's own decision not recalled")
	}

	// The lookup is served by the memory index once the organization has
	// more than a handful of reviewed items (20,000 here, analysed).
	if _, err := w.pool.Exec(w.ctx, `
		insert into concept_mapping_items (project_id, source, source_code, source_description, concept_id, method, review_status)
		select $1, 'FILL', 'FILL-' || g, 'filler ' || g, 201826, 'review', 'approved' from generate_series(1, 20000) g`, w.a2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(w.ctx, `analyze concept_mapping_items`); err != nil {
		t.Fatal(err)
	}
	conn, err := w.pool.Acquire(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The shape of Recall's query: one lateral probe per key.
	rows, err := conn.Query(w.ctx, `explain select k.i, m.id from unnest($1::text[], $2::text[]) with ordinality as k(code, descr, i)
		cross join lateral (
			select m.* from concept_mapping_items m join projects mp on mp.id = m.project_id
			where mapping_memory_key(m.source_code) = mapping_memory_key(k.code)
			  and mapping_memory_key(m.source_description) = mapping_memory_key(k.descr)
			  and m.review_status in ('approved', 'overridden') and m.concept_id is not null
			  and mp.organization_id = $3
			order by m.decided_at desc nulls last, m.id desc limit 1) m`, []string{"E11.9"}, []string{"x"}, w.orgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	if !strings.Contains(plan.String(), "concept_mapping_items_memory_idx") {
		t.Errorf("the memory lookup does not use its index:\n%s", plan.String())
	}

	// Rejected later: gone from the memory at once.
	if _, err := w.s.Decide(w.ctx, w.a1.ID, mappingjob.Decision{Source: "S", Code: "E11.9", Review: mappingjob.ReviewRejected,
		DecidedBy: w.reviewer.ID, Actor: w.reviewer.ID, Revision: approved.Revision}); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.s.Recall(w.ctx, mappingjob.MemoryScope{OrganizationID: w.orgA.ID}, keys[:1]); got[0] != nil {
		t.Fatalf("a rejected decision is still recalled: %+v", got[0])
	}
	// An override is remembered too.
	w.decide(t, w.a2, "E11.9", "Type 2 diabetes, no complications", mappingjob.ReviewOverridden)
	if got, _ := w.s.Recall(w.ctx, mappingjob.MemoryScope{OrganizationID: w.orgA.ID}, keys[:1]); got[0] == nil || got[0].Review != mappingjob.ReviewOverridden || got[0].ProjectID != w.a2.ID {
		t.Fatalf("override not recalled: %+v", got[0])
	}
}

func TestSyncItemsIsIdempotentAndAllOrNothing(t *testing.T) {
	t.Parallel()
	w := newMemoryWorld(t)
	by := mappingjob.SyncActor{Actor: w.reviewer.ID, UserID: w.reviewer.ID}
	items := []mappingjob.Item{
		{Code: "1", SourceColumn: "sex", SourceCount: 3, Method: mappingjob.MethodReview, InferenceMethod: mappingjob.MethodReview},
		{Code: "1", SourceColumn: "race", SourceCount: 1, Method: mappingjob.MethodAuto, InferenceMethod: mappingjob.MethodAuto,
			Review: mappingjob.ReviewApproved, ConceptID: 201826, TargetName: "x"},
	}
	res, err := w.s.SyncItems(w.ctx, w.a1.ID, by, items)
	if err != nil || res.Created != 2 {
		t.Fatalf("first push: %+v %v", res, err)
	}
	res, err = w.s.SyncItems(w.ctx, w.a1.ID, by, items)
	if err != nil || res.Unchanged != 2 || res.Created+res.Updated != 0 {
		t.Fatalf("second push: %+v %v", res, err)
	}
	stored, err := w.s.Items(w.ctx, w.a1.ID)
	if err != nil || len(stored) != 2 {
		t.Fatalf("items after two pushes: %d %v", len(stored), err)
	}
	for _, it := range stored {
		switch it.SourceColumn {
		case "sex":
			if it.Review != mappingjob.ReviewUnset || it.Revision != 1 || it.Source != mappingjob.SyncSource("sex") || it.DecidedAt != nil {
				t.Errorf("sex item %+v", it)
			}
		case "race":
			if it.Review != mappingjob.ReviewApproved || it.DecidedBy != w.reviewer.ID || it.DecidedAt == nil {
				t.Errorf("race item %+v", it)
			}
		}
	}

	// A stale revision fails the whole push: the other item's change is
	// not written either.
	changed := []mappingjob.Item{items[0], items[1]}
	changed[0].Confidence = 0.5
	changed[1].Revision = 7
	if _, err := w.s.SyncItems(w.ctx, w.a1.ID, by, changed); !errors.Is(err, mappingjob.ErrConflict) || !strings.Contains(err.Error(), "items[1]") {
		t.Fatalf("stale revision: %v", err)
	}
	if it, _ := w.s.Item(w.ctx, w.a1.ID, mappingjob.SyncSource("sex"), "1"); it.Confidence != 0 || it.Revision != 1 {
		t.Fatalf("written despite the conflict: %+v", it)
	}
	changed[1].Revision = 1
	if res, err := w.s.SyncItems(w.ctx, w.a1.ID, by, changed); err != nil || res.Updated != 1 || res.Unchanged != 1 {
		t.Fatalf("push with the current revision: %+v %v", res, err)
	}
	var events int
	if err := w.pool.QueryRow(w.ctx, `select count(*) from review_events where project_id = $1 and action = 'sync' and actor = $2`,
		w.a1.ID, w.reviewer.ID).Scan(&events); err != nil || events != 3 {
		t.Fatalf("sync events: %d %v (want 2 creations and 1 change)", events, err)
	}
	if _, err := w.s.SyncItems(w.ctx, w.a1.ID, by, []mappingjob.Item{items[0], items[0]}); !errors.Is(err, mappingjob.ErrInvalid) {
		t.Fatalf("an item twice in one push: %v", err)
	}
}

// An SDK item pushed without a decision reads back with none (null); an
// engine proposal over it is an ordinary pending item again.
func TestUnsetDecisionBecomesPendingOnProposal(t *testing.T) {
	t.Parallel()
	w := newMemoryWorld(t)
	if _, err := w.s.SyncItems(w.ctx, w.a1.ID, mappingjob.SyncActor{Actor: "k"}, []mappingjob.Item{{Code: "X", SourceColumn: "c",
		Method: mappingjob.MethodAuto, InferenceMethod: mappingjob.MethodAuto}}); err != nil {
		t.Fatal(err)
	}
	source := mappingjob.SyncSource("c")
	if it, _ := w.s.Item(w.ctx, w.a1.ID, source, "X"); it.Review != mappingjob.ReviewUnset {
		t.Fatalf("pushed without a decision: %q", it.Review)
	}
	if items, _ := w.s.ListItems(w.ctx, w.a1.ID, mappingjob.ItemFilter{Reviews: []mappingjob.ReviewStatus{mappingjob.ReviewPending}}, 0, 10); len(items) != 1 {
		t.Fatalf("an undecided item is pending for the listing: %d", len(items))
	}
	if err := w.s.UpsertItems(w.ctx, w.a1.ID, []mappingjob.Item{{Source: source, Code: "X", SourceColumn: "c", Method: mappingjob.MethodReview}}); err != nil {
		t.Fatal(err)
	}
	if it, _ := w.s.Item(w.ctx, w.a1.ID, source, "X"); it.Review != mappingjob.ReviewPending || it.Revision != 2 {
		t.Fatalf("after a proposal: %q revision %d", it.Review, it.Revision)
	}
}

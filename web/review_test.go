package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/web"
)

// reviewApp is a dashboard with the demo vocabulary imported, its search
// engine built in-process (lexical tiers) and the mapping store wired, as
// `portiere dev` wires them.
type reviewApp struct {
	*app
	jobs *mappingjobstore.Store
}

func newReviewApp(t *testing.T, mod ...func(*web.Config)) *reviewApp {
	t.Helper()
	pool := dbtest.New(t)
	ctx := context.Background()
	vs := vocabstore.New(pool)
	if _, err := vocab.NewImporter(vs).Import(ctx, "../testdata/demo-vocab", nil); err != nil {
		t.Fatal(err)
	}
	corpus, err := vs.LoadCorpus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := &search.Live{}
	live.Set(search.NewEngine(corpus, search.Options{}))
	jobs := mappingjobstore.New(pool)
	mods := append([]func(*web.Config){func(c *web.Config) { c.Review, c.Concepts, c.Search = jobs, vs, live }}, mod...)
	return &reviewApp{app: newAppWithPool(t, pool, mods...), jobs: jobs}
}

// explained is a candidate with the engine's explanation.
func explained(id int32, name, domain string, score float64, ex mappingjob.Explanation) mappingjob.Candidate {
	raw, _ := json.Marshal(ex)
	return mappingjob.Candidate{ConceptID: id, ConceptName: name, VocabularyID: "SNOMED", DomainID: domain,
		ConceptClassID: "Clinical Finding", StandardConcept: "S", Score: score, Explanation: raw}
}

// seedItems writes three pending items to project with the store, as a
// bulk mapping would, and returns them by code.
func (ra *reviewApp) seedItems(t *testing.T, project string) map[string]mappingjob.Item {
	t.Helper()
	ctx := context.Background()
	from := int32(4)
	items := []mappingjob.Item{
		{Source: "labs", Code: "NAUS", Description: "nausea and sickness", SourceColumn: "dx_code", SourceCount: 42,
			Confidence: 0.95, Method: mappingjob.MethodAuto, Candidates: []mappingjob.Candidate{
				explained(31967, "Nausea", "Condition", 0.95, mappingjob.Explanation{LexicalRank: 1, LexicalScore: 11.5, MatchedText: "nausea", MatchedField: "name"}),
				explained(30284, "Motion sickness", "Condition", 0.4, mappingjob.Explanation{LexicalRank: 2, LexicalScore: 4.1, MatchedText: "sickness", MatchedField: "synonym"}),
			}},
		{Source: "labs", Code: "THROAT", Description: "strep throat", SourceColumn: "dx_code", SourceCount: 7,
			Confidence: 0.7, Method: mappingjob.MethodReview, Candidates: []mappingjob.Candidate{
				explained(30356, "Benign neoplasm of pharynx", "Condition", 0.7, mappingjob.Explanation{DenseRank: 1, DenseScore: 0.81, MappedFrom: &from, MappedFromName: "Sore throat (old)"}),
			}},
		{Source: "labs", Code: "LEGS", Description: "legs that will not rest", SourceColumn: "dx_code", SourceCount: 3,
			Confidence: 0.3, Method: mappingjob.MethodManual, Candidates: []mappingjob.Candidate{
				explained(73754, "Restless legs", "Condition", 0.3, mappingjob.Explanation{LexicalRank: 1, LexicalScore: 2}),
			}},
	}
	for i := range items {
		items[i].ConceptID = items[i].Candidates[0].ConceptID // the rank-1 candidate is the proposed target
	}
	if err := ra.jobs.UpsertItems(ctx, project, items); err != nil {
		t.Fatal(err)
	}
	out := map[string]mappingjob.Item{}
	for _, it := range items {
		got, err := ra.jobs.Item(ctx, project, it.Source, it.Code)
		if err != nil {
			t.Fatal(err)
		}
		out[it.Code] = got
	}
	return out
}

func (ra *reviewApp) item(t *testing.T, project string, id int64) mappingjob.Item {
	t.Helper()
	it, err := ra.jobs.ItemByID(context.Background(), project, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func itemPath(project string, id int64, rest string) string {
	return fmt.Sprintf("/projects/%s/review/items/%d/%s", project, id, rest)
}

func htmxHeaders(b *browser) []string { return []string{"HX-Request", "true", "X-CSRF-Token", b.csrf} }

// TestReviewQueue covers the queue's routes: filters, explanations,
// decisions with their role rules and revisions, override search,
// concept details, comments, history, bulk approval and the
// second-reviewer rule.
func TestReviewQueue(t *testing.T) {
	t.Parallel()
	ra := newReviewApp(t)
	owner := ra.browser(t)
	owner.signUp("Review Org", "review-owner@example.org")
	pid := owner.createProject("Labs")
	items := ra.seedItems(t, pid)
	org := ra.org(t, "review-owner@example.org")
	viewer := ra.member(t, org.ID, "review-viewer@example.org", tenancy.RoleViewer)
	member := ra.member(t, org.ID, "review-member@example.org", tenancy.RoleMember)
	other := ra.browser(t)
	other.signUp("Other Org", "review-other@example.org")
	queue := "/projects/" + pid + "/review"
	naus, throat, legs := items["NAUS"], items["THROAT"], items["LEGS"]

	// The queue shows each item with count, context and explained
	// candidates.
	res := owner.get(queue)
	for _, want := range []string{"NAUS", "nausea and sickness", "Count 42", "column dx_code", "lexical #1 (11.50)",
		"matched name “nausea”", "matched synonym “sickness”", "dense #1 (0.81)", "via Maps to from 4 Sore throat (old)",
		`data-action="approve"`, `hx-get="/concepts/31967"`, "Approve all open items shown"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	if res.status != http.StatusOK {
		t.Fatalf("queue: %d", res.status)
	}
	// Filters narrow it.
	for q, want := range map[string][]string{
		"?q=throat":              {"THROAT"},
		"?band=high":             {"NAUS"},
		"?band=medium":           {"THROAT"},
		"?band=low":              {"LEGS"},
		"?domain=condition&q=eg": {"LEGS"},
		"?vocabulary=snomed":     {"NAUS", "THROAT", "LEGS"},
		"?vocabulary=LOINC":      {},
		"?status=approved":       {},
	} {
		body := owner.get(queue + q).body
		for _, code := range []string{"NAUS", "THROAT", "LEGS"} {
			shown := strings.Contains(body, "<code>"+code+"</code>")
			wanted := strings.Contains(strings.Join(want, ","), code)
			if shown != wanted {
				t.Errorf("queue%s: %s shown %v, want %v", q, code, shown, wanted)
			}
		}
	}

	// Anonymous visitors are sent to log in, their posts refused.
	anon := ra.browser(t)
	for _, p := range []string{queue, queue + "/approve", itemPath(pid, naus.ID, "history"), itemPath(pid, naus.ID, "search") + "?q=x", "/concepts/31967"} {
		if res := anon.get(p); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?next=") {
			t.Errorf("anonymous GET %s: %d %s", p, res.status, res.location)
		}
	}
	anon.get("/login")
	for _, p := range []string{itemPath(pid, naus.ID, "approve"), itemPath(pid, naus.ID, "comments"), queue + "/approve"} {
		if res := anon.post(p, nil); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d", p, res.status)
		}
	}
	// Another organization's project is 404 on every route.
	for _, p := range []string{queue, queue + "/approve", itemPath(pid, naus.ID, "history"), itemPath(pid, naus.ID, "search") + "?q=x"} {
		if res := other.get(p); res.status != http.StatusNotFound {
			t.Errorf("other organization GET %s: %d", p, res.status)
		}
	}
	for _, p := range []string{itemPath(pid, naus.ID, "approve"), itemPath(pid, naus.ID, "comments"), queue + "/approve"} {
		if res := other.post(p, url.Values{"revision": {"1"}, "comment": {"x"}}); res.status != http.StatusNotFound {
			t.Errorf("other organization POST %s: %d", p, res.status)
		}
	}
	// CSRF: a post without the token changes nothing.
	for _, p := range []string{itemPath(pid, naus.ID, "approve"), itemPath(pid, naus.ID, "override"), itemPath(pid, naus.ID, "comments"), queue + "/approve"} {
		if res := owner.post(p, url.Values{"csrf_token": {""}, "concept_id": {"28060"}, "comment": {"x"}}); res.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: %d", p, res.status)
		}
		if res := owner.post(p, url.Values{"csrf_token": {"forged"}, "concept_id": {"28060"}, "comment": {"x"}}); res.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d", p, res.status)
		}
	}
	// A viewer reads the queue but cannot decide, comment or bulk approve.
	res = viewer.get(queue)
	if res.status != http.StatusOK || strings.Contains(res.body, `data-action="approve"`) || !strings.Contains(res.body, "Your role lets you read the queue") {
		t.Errorf("viewer's queue: %d, approve button shown: %v", res.status, strings.Contains(res.body, `data-action="approve"`))
	}
	for _, p := range []string{itemPath(pid, naus.ID, "approve"), itemPath(pid, naus.ID, "reject"), itemPath(pid, naus.ID, "comments"), queue + "/approve"} {
		if res := viewer.post(p, url.Values{"comment": {"x"}}); res.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, res.status)
		}
	}
	if res := viewer.get(queue + "/approve"); res.status != http.StatusForbidden {
		t.Errorf("viewer bulk form: %d", res.status)
	}
	if it := ra.item(t, pid, naus.ID); it.Review != mappingjob.ReviewPending || it.Revision != naus.Revision {
		t.Fatalf("refused posts changed the item: %s revision %d", it.Review, it.Revision)
	}
	if ev, err := ra.jobs.History(context.Background(), pid, mappingjob.KindConcept, naus.ID); err != nil || len(ev) != 0 {
		t.Fatalf("refused posts wrote history: %v %v", ev, err)
	}

	// Approve with htmx: the item comes back decided.
	res = owner.post(itemPath(pid, naus.ID, "approve"), url.Values{"revision": {fmt.Sprint(naus.Revision)}}, htmxHeaders(owner)...)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Approved.") || !strings.Contains(res.body, `id="item-`+fmt.Sprint(naus.ID)) {
		t.Fatalf("approve: %d\n%.600s", res.status, res.body)
	}
	if it := ra.item(t, pid, naus.ID); it.Review != mappingjob.ReviewApproved || it.ConceptID != 31967 {
		t.Fatalf("approved item %+v", it)
	}
	// The revision seen is now stale: 409 with the message, htmx or not.
	stale := url.Values{"revision": {fmt.Sprint(naus.Revision)}}
	res = owner.post(itemPath(pid, naus.ID, "reject"), stale, htmxHeaders(owner)...)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "changed since you loaded it") || !strings.Contains(res.body, "Decided: approved") {
		t.Errorf("stale revision (htmx): %d\n%.500s", res.status, res.body)
	}
	res = owner.post(itemPath(pid, naus.ID, "reject"), stale)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "changed since you loaded it") {
		t.Errorf("stale revision (form): %d", res.status)
	}
	if it := ra.item(t, pid, naus.ID); it.Review != mappingjob.ReviewApproved {
		t.Fatalf("a stale decision changed the item: %s", it.Review)
	}

	// Search-as-you-type against the engine, then override with a result.
	res = owner.get(itemPath(pid, throat.ID, "search") + "?q=strep+sore+throat")
	if res.status != http.StatusOK || !strings.Contains(res.body, `name="concept_id" value="28060"`) {
		t.Fatalf("override search: %d\n%.500s", res.status, res.body)
	}
	res = owner.post(itemPath(pid, throat.ID, "override"), url.Values{"concept_id": {"99999999"}, "revision": {fmt.Sprint(throat.Revision)}}, htmxHeaders(owner)...)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "not in the vocabulary") {
		t.Errorf("override with an unknown concept: %d", res.status)
	}
	res = owner.post(itemPath(pid, throat.ID, "override"), url.Values{"concept_id": {"28060"}, "revision": {fmt.Sprint(throat.Revision)}, "return": {"status=pending&q=th"}})
	if res.status != http.StatusSeeOther || res.location != fmt.Sprintf("%s?q=th&status=pending#item-%d", queue, throat.ID) {
		t.Errorf("override (form): %d %s", res.status, res.location)
	}
	if it := ra.item(t, pid, throat.ID); it.Review != mappingjob.ReviewOverridden || it.ConceptID != 28060 || it.TargetName != "Streptococcal sore throat" {
		t.Fatalf("overridden item %+v", it)
	}

	// Concept details on demand.
	req, _ := http.NewRequest(http.MethodGet, ra.srv.URL+"/concepts/28060", nil)
	req.Header.Set("HX-Request", "true")
	if res := owner.do(req); res.status != http.StatusOK || !strings.Contains(res.body, "Streptococcal sore throat") || !strings.Contains(res.body, "43878008") ||
		strings.Contains(res.body, "<html") {
		t.Errorf("concept fragment: %d\n%.300s", res.status, res.body)
	}
	if res := owner.get("/concepts/1"); res.status != http.StatusNotFound {
		t.Errorf("unknown concept: %d", res.status)
	}

	// Comments and the audit history; viewers read it.
	res = member.post(itemPath(pid, legs.ID, "comments"), url.Values{"comment": {"Ask the lab what LEGS means"}}, htmxHeaders(member)...)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Ask the lab what LEGS means") {
		t.Errorf("comment: %d\n%.300s", res.status, res.body)
	}
	res = viewer.get(itemPath(pid, naus.ID, "history"))
	if res.status != http.StatusOK || !strings.Contains(res.body, "<strong>approve</strong> by Owner &lt;review-owner@example.org&gt;") || strings.Contains(res.body, "Add comment") {
		t.Errorf("history as viewer: %d\n%.800s", res.status, res.body)
	}

	// Bulk approval of the filtered set, after a confirmation page.
	res = owner.get(queue + "/approve?status=pending&band=low")
	if res.status != http.StatusOK || !strings.Contains(res.body, "Approve open items with confidence low") {
		t.Errorf("bulk confirmation: %d\n%.500s", res.status, res.body)
	}
	res = owner.post(queue+"/approve", url.Values{"status": {"pending"}, "band": {"low"}})
	if res.status != http.StatusSeeOther || !strings.Contains(res.location, "approved=1") {
		t.Fatalf("bulk approve: %d %s", res.status, res.location)
	}
	if it := ra.item(t, pid, legs.ID); it.Review != mappingjob.ReviewApproved {
		t.Fatalf("bulk-approved item %s", it.Review)
	}
	if !strings.Contains(owner.get(res.location).body, "1 open items approved.") {
		t.Error("the queue does not say how many were approved")
	}

	// The second-reviewer rule: an override waits for a second reviewer,
	// who must be someone else.
	p, err := ra.tenants.Project(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Settings
	st.SecondReviewer = tenancy.SecondReviewerOverrides
	if _, err := ra.tenants.UpdateProjectSettings(context.Background(), pid, st); err != nil {
		t.Fatal(err)
	}
	extra := []mappingjob.Item{{Source: "labs", Code: "CONST", Description: "constipated", Confidence: 0.5, Method: mappingjob.MethodReview,
		Candidates: []mappingjob.Candidate{explained(30284, "Motion sickness", "Condition", 0.5, mappingjob.Explanation{})}}}
	if err := ra.jobs.UpsertItems(context.Background(), pid, extra); err != nil {
		t.Fatal(err)
	}
	cons, err := ra.jobs.Item(context.Background(), pid, "labs", "CONST")
	if err != nil {
		t.Fatal(err)
	}
	res = member.post(itemPath(pid, cons.ID, "override"), url.Values{"concept_id_manual": {"75860"}}, htmxHeaders(member)...)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Waiting for a second reviewer") {
		t.Fatalf("first override: %d\n%.500s", res.status, res.body)
	}
	res = member.post(itemPath(pid, cons.ID, "approve"), nil, htmxHeaders(member)...)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "a different reviewer must confirm") {
		t.Errorf("same reviewer again: %d\n%.500s", res.status, res.body)
	}
	res = owner.post(itemPath(pid, cons.ID, "approve"), nil, htmxHeaders(owner)...)
	if it := ra.item(t, pid, cons.ID); res.status != http.StatusOK || it.Review != mappingjob.ReviewOverridden || it.ConceptID != 75860 {
		t.Errorf("second reviewer's approval: %d, item %s %d", res.status, it.Review, it.ConceptID)
	}
}

// TestExports downloads each format: only approved and overridden items,
// for every member, 404 across organizations.
func TestExports(t *testing.T) {
	t.Parallel()
	ra := newReviewApp(t)
	owner := ra.browser(t)
	owner.signUp("Export Org", "export-owner@example.org")
	pid := owner.createProject("Cardio Labs")
	items := ra.seedItems(t, pid)
	org := ra.org(t, "export-owner@example.org")
	viewer := ra.member(t, org.ID, "export-viewer@example.org", tenancy.RoleViewer)
	other := ra.browser(t)
	other.signUp("Other Export Org", "export-other@example.org")
	owner.get("/projects/" + pid + "/review")
	owner.post(itemPath(pid, items["NAUS"].ID, "approve"), nil)
	owner.post(itemPath(pid, items["LEGS"].ID, "reject"), nil)

	res := viewer.get("/projects/" + pid + "/exports")
	if res.status != http.StatusOK || strings.Count(res.body, `download data-format=`) != 4 {
		t.Fatalf("exports page: %d\n%.500s", res.status, res.body)
	}
	for format, ct := range map[string]string{"source_to_concept_map": "text/csv", "usagi": "text/csv", "sssom": "text/tab-separated-values", "fhir": "application/fhir+json"} {
		res := viewer.get("/projects/" + pid + "/exports/" + format)
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), ct) ||
			!strings.Contains(res.header.Get("Content-Disposition"), `filename="cardio-labs-`+format) {
			t.Errorf("%s: %d %q %q", format, res.status, res.header.Get("Content-Type"), res.header.Get("Content-Disposition"))
		}
		if !strings.Contains(res.body, "NAUS") || strings.Contains(res.body, "LEGS") || strings.Contains(res.body, "THROAT") {
			t.Errorf("%s holds other than the approved item:\n%s", format, res.body)
		}
	}
	if res := owner.get("/projects/" + pid + "/exports/pdf"); res.status != http.StatusNotFound {
		t.Errorf("unknown format: %d", res.status)
	}
	for _, p := range []string{"/projects/" + pid + "/exports", "/projects/" + pid + "/exports/usagi"} {
		if res := other.get(p); res.status != http.StatusNotFound {
			t.Errorf("other organization %s: %d", p, res.status)
		}
		if res := ra.browser(t).get(p); res.status != http.StatusSeeOther {
			t.Errorf("anonymous %s: %d", p, res.status)
		}
	}
}

package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/crowd/crowdstore"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/vocab/vocabstore"
)

// reviewWorld is the review and export API on a real PostgreSQL database,
// authenticating through credential's Authenticator over tenancystore:
// organization A with an owner, two members (alice, bob), a viewer, and
// organization B's owner. Keys are write-scope unless named otherwise.
type reviewWorld struct {
	s      *apiserver.Server
	pool   *pgxpool.Pool
	tenant *tenancystore.Store
	items  *mappingjobstore.Store
	orgA   tenancy.Organization
	users  map[string]tenancy.User // owner, alice, bob, viewer, other
	keys   map[string]string       // the same names, plus "alice-read" and a second write key "alice-2"
	ctx    context.Context
	crowd  *crowd.Service
}

// reviewAuth is the one place the review tests build their authenticator
// (the auth plumbing is being reworked elsewhere; adapt here only).
func reviewAuth(t *testing.T, store *tenancystore.Store) (apiserver.Authenticator, *credential.KeyHasher) {
	t.Helper()
	hasher, err := credential.NewKeyHasher(testSalt)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := credential.NewTokenService(testJWTSecret, store.Keys())
	if err != nil {
		t.Fatal(err)
	}
	a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: store.Keys(), Hasher: hasher, Tokens: tokens, OperatorToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, hasher
}

// The concepts the tests map to, in the vocabulary's concept table.
var reviewConcepts = []struct {
	id                        int32
	name, domain, vocab, code string
}{
	{201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "44054006"},
	{320128, "Essential hypertension", "Condition", "SNOMED", "59621000"},
	{4329847, "Myocardial infarction", "Condition", "SNOMED", "22298006"},
	{3023103, "Potassium serum/plasma", "Measurement", "LOINC", "2823-3"},
	{1125315, "Acetaminophen", "Drug", "RxNorm", "161"},
}

func newReviewWorld(t *testing.T) *reviewWorld {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := &reviewWorld{ctx: ctx, pool: pool, tenant: tenancystore.New(pool), items: mappingjobstore.New(pool),
		users: map[string]tenancy.User{}, keys: map[string]string{}}
	auth, hasher := reviewAuth(t, w.tenant)
	var err error
	if w.orgA, err = w.tenant.CreateOrganization(ctx, tenancy.Organization{Name: "A", Slug: "org-a"}); err != nil {
		t.Fatal(err)
	}
	orgB, err := w.tenant.CreateOrganization(ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		org  string
		role tenancy.Role
	}{{"owner", w.orgA.ID, tenancy.RoleOwner}, {"alice", w.orgA.ID, tenancy.RoleMember}, {"bob", w.orgA.ID, tenancy.RoleMember},
		{"viewer", w.orgA.ID, tenancy.RoleViewer}, {"other", orgB.ID, tenancy.RoleOwner}} {
		user, err := w.tenant.CreateUser(ctx, tenancy.User{Email: u.name + "@example.org", Name: u.name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.tenant.AddMember(ctx, tenancy.Membership{OrganizationID: u.org, UserID: user.ID, Role: u.role}); err != nil {
			t.Fatal(err)
		}
		w.users[u.name] = user
		w.keys[u.name] = w.key(t, hasher, u.org, user.ID, credential.ScopeWrite)
	}
	w.keys["alice-read"] = w.key(t, hasher, w.orgA.ID, w.users["alice"].ID, credential.ScopeRead)
	w.keys["alice-2"] = w.key(t, hasher, w.orgA.ID, w.users["alice"].ID, credential.ScopeWrite)
	for _, c := range reviewConcepts {
		if _, err := pool.Exec(ctx, `insert into concept values ($1, $2, $3, $4, 'Clinical Finding', 'S', $5, '1970-01-01', '2099-12-31', null)`,
			c.id, c.name, c.domain, c.vocab, c.code); err != nil {
			t.Fatal(err)
		}
	}
	w.crowd, err = crowd.NewService(crowdstore.New(pool), mapperstore.New(pool), w.items, crowd.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.s, err = apiserver.New(apiserver.Config{Version: "test", Auth: auth, Resources: []apiserver.Resource{
		&apiserver.Review{Projects: w.tenant, Items: w.items, Concepts: vocabstore.New(pool)},
		&apiserver.Crowd{Projects: w.tenant, Crowd: w.crowd},
		&apiserver.Exports{Projects: w.tenant, Items: w.items, Now: func() time.Time { return time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC) }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *reviewWorld) key(t *testing.T, hasher *credential.KeyHasher, org, user string, scope credential.Scope) string {
	t.Helper()
	k := hasher.Issue()
	if _, err := w.tenant.CreateAPIKey(w.ctx, tenancy.APIKey{OrganizationID: org, UserID: user, Name: "t", Prefix: k.Prefix,
		Hash: k.Hash.String(), Scopes: []string{string(scope)}}); err != nil {
		t.Fatal(err)
	}
	return k.Key
}

// project creates a project of organization A with the second-reviewer
// rule and the items codes (see item).
func (w *reviewWorld) project(t *testing.T, rule tenancy.SecondReviewer, items ...mappingjob.Item) (tenancy.Project, map[string]mappingjob.Item) {
	t.Helper()
	p, err := w.tenant.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "Labs & Dx " + string(rule),
		Settings: tenancy.Settings{SecondReviewer: rule}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.items.UpsertItems(w.ctx, p.ID, items); err != nil {
		t.Fatal(err)
	}
	stored, err := w.items.Items(w.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]mappingjob.Item{}
	for _, it := range stored {
		byCode[it.Code] = it
	}
	return p, byCode
}

// item is a proposed item of source S1 mapped to concept (0: none) with
// the candidates cands.
func item(code string, concept int32, conf float64, method mappingjob.Method, cands ...int32) mappingjob.Item {
	it := mappingjob.Item{Source: "S1", Code: code, Description: "term " + code, ConceptID: concept, Confidence: conf, Method: method}
	for _, id := range cands {
		for _, c := range reviewConcepts {
			if c.id == id {
				it.Candidates = append(it.Candidates, mappingjob.Candidate{ConceptID: c.id, ConceptName: c.name, VocabularyID: c.vocab,
					DomainID: c.domain, ConceptClassID: "Clinical Finding", StandardConcept: "S", Score: conf})
			}
		}
	}
	return it
}

type reviewReply struct {
	status int
	body   map[string]any
	raw    []byte
	header map[string]string
}

func (w *reviewWorld) call(t *testing.T, who, method, path, body string) reviewReply {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+w.keys[who])
	}
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reviewReply{status: resp.StatusCode, header: map[string]string{}}
	r.raw, _ = io.ReadAll(resp.Body)
	for _, h := range []string{"Content-Type", "Content-Disposition"} {
		r.header[h] = resp.Header.Get(h)
	}
	if strings.HasPrefix(r.header["Content-Type"], "application/json") {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, r.raw)
		}
	}
	return r
}

func (w *reviewWorld) history(t *testing.T, p tenancy.Project, id int64) []map[string]any {
	t.Helper()
	r := w.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/history", p.ID, id), "")
	if r.status != 200 {
		t.Fatalf("history: %d %s", r.status, r.raw)
	}
	var out []map[string]any
	for _, e := range r.body["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// fieldErr checks a 422 in the doc's shape: detail is a list whose first
// entry has loc [body, field] (or the given loc) and the given type.
func fieldErr(t *testing.T, r reviewReply, loc, typ string) {
	t.Helper()
	list, ok := r.body["detail"].([]any)
	if r.status != 422 || !ok || len(list) == 0 {
		t.Fatalf("want 422 with a detail list, got %d %s", r.status, r.raw)
	}
	e := list[0].(map[string]any)
	var l []string
	for _, x := range e["loc"].([]any) {
		l = append(l, x.(string))
	}
	if strings.Join(l, ".") != loc || e["type"] != typ || e["msg"] == "" {
		t.Fatalf("detail %s, want loc %s type %s", r.raw, loc, typ)
	}
}

func TestReviewDecisionsAuditAndErrors(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, it := w.project(t, tenancy.SecondReviewerNone,
		item("E11.9", 201826, 0.96, mappingjob.MethodAuto, 201826),
		item("I10", 4329847, 0.82, mappingjob.MethodReview, 4329847),
		item("Z87.891", 0, 0.55, mappingjob.MethodManual),
		item("R51", 4329847, 0.7, mappingjob.MethodReview, 4329847),
	)
	base := func(prefix, code, action string) string {
		return fmt.Sprintf("%s/projects/%s/concept-mapping/%d/%s", prefix, p.ID, it[code].ID, action)
	}

	// Override through /api/v1: the concept comes from the vocabulary (the
	// body's name is informational), with the comment in the audit row.
	r := w.call(t, "alice", "POST", base("/api/v1", "I10", "override"),
		`{"target_concept_id": 320128, "target_concept_name": "Essential hypertension", "target_vocabulary_id": "SNOMED", "comment": "primary"}`)
	if r.status != 200 {
		t.Fatalf("override: %d %s", r.status, r.raw)
	}
	want := map[string]any{"id": fmt.Sprint(it["I10"].ID), "source_code": "I10", "source_description": "term I10", "target_concept_id": 320128.0,
		"target_concept_name": "Essential hypertension", "target_vocabulary_id": "SNOMED", "target_domain_id": "Condition", "confidence": 0.82,
		"method": "override", "review_decision": "overridden", "review_state": "final", "decided_by": w.users["alice"].ID}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("override %s = %v, want %v", k, r.body[k], v)
		}
	}
	h := w.history(t, p, it["I10"].ID)
	if len(h) != 1 || h[0]["action"] != "override" || h[0]["actor"] != w.users["alice"].ID || h[0]["comment"] != "primary" || h[0]["created_at"] == "" {
		t.Fatalf("override's audit row: %v", h)
	}
	before, after := h[0]["before"].(map[string]any), h[0]["after"].(map[string]any)
	if before["review_decision"] != "pending" || before["target_concept_id"] != 4329847.0 || after["review_decision"] != "overridden" || after["target_concept_id"] != 320128.0 {
		t.Errorf("before %v after %v", before, after)
	}

	// Reject through the doc's /v1: target cleared, method unmapped.
	r = w.call(t, "alice", "POST", base("/v1", "E11.9", "reject"), "")
	if r.status != 200 || r.body["method"] != "unmapped" || r.body["target_concept_id"] != nil || r.body["target_concept_name"] != nil ||
		r.body["target_vocabulary_id"] != nil || r.body["review_decision"] != "rejected" {
		t.Fatalf("reject: %d %s", r.status, r.raw)
	}
	if h := w.history(t, p, it["E11.9"].ID); len(h) != 1 || h[0]["action"] != "reject" {
		t.Fatalf("reject's audit row: %v", h)
	}

	// Approve: nothing to approve without a target (422 list); a stale
	// revision is 409; the current one decides, method auto.
	fieldErr(t, w.call(t, "alice", "POST", base("/api/v1", "Z87.891", "approve"), ""), "path.mapping_id", "value_error")
	if r := w.call(t, "alice", "POST", base("/api/v1", "R51", "approve"), `{"revision": 7}`); r.status != 409 || !strings.Contains(r.body["detail"].(string), "revision") {
		t.Fatalf("stale revision: %d %s", r.status, r.raw)
	}
	r = w.call(t, "bob", "POST", base("/api/v1", "R51", "approve"), fmt.Sprintf(`{"revision": %d}`, it["R51"].Revision))
	if r.status != 200 || r.body["method"] != "auto" || r.body["review_decision"] != "approved" || r.body["target_concept_id"] != 4329847.0 ||
		r.body["revision"] != float64(it["R51"].Revision+1) {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}

	// The doc's 422 list for bad bodies.
	fieldErr(t, w.call(t, "alice", "POST", base("/v1", "I10", "override"), `{"target_concept_name": "no id"}`), "body.target_concept_id", "value_error.missing")
	fieldErr(t, w.call(t, "alice", "POST", base("/v1", "I10", "override"), `{"target_concept_id": "320128"}`), "body.target_concept_id", "type_error.integer")
	fieldErr(t, w.call(t, "alice", "POST", base("/v1", "I10", "override"), `{"target_concept_id": 999999}`), "body.target_concept_id", "value_error.concept.unknown")
	fieldErr(t, w.call(t, "alice", "POST", base("/v1", "I10", "override"), `{"target_concept_id": 320128, "concept": 1}`), "body.concept", "value_error.extra")
	fieldErr(t, w.call(t, "alice", "POST", base("/v1", "I10", "approve"), `[1]`), "body", "type_error.dict")
	fieldErr(t, w.call(t, "alice", "POST", base("/api/v1", "I10", "comments"), `{}`), "body.comment", "value_error.missing")

	// The doc's 404 names the mapping and the project.
	for _, mid := range []string{"9f0c1d7e-4b7a-4a51-9d36-0d6a2b1c3e4f", "987654"} {
		r := w.call(t, "alice", "POST", fmt.Sprintf("/v1/projects/%s/concept-mapping/%s/approve", p.ID, mid), "")
		if r.status != 404 || r.body["detail"] != fmt.Sprintf("Concept mapping %s not found in project %s", mid, p.ID) {
			t.Fatalf("unknown item %s: %d %s", mid, r.status, r.raw)
		}
	}

	// 401 without credentials, 403 for the viewer and a read-scope key,
	// 404 for another organization; none of them changes the item.
	untouched := w.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/history", p.ID, it["I10"].ID), "")
	for who, status := range map[string]int{"": 401, "viewer": 403, "alice-read": 403, "other": 404} {
		for _, prefix := range []string{"/api/v1", "/v1"} {
			r := w.call(t, who, "POST", base(prefix, "I10", "approve"), "")
			if r.status != status || r.body["detail"] == nil {
				t.Errorf("%q %s: %d %s, want %d", who, prefix, r.status, r.raw, status)
			}
		}
	}
	if again := w.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/history", p.ID, it["I10"].ID), ""); string(again.raw) != string(untouched.raw) {
		t.Errorf("refused decisions changed the trail: %s", again.raw)
	}
	if r := w.call(t, "other", "GET", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/history", p.ID, it["I10"].ID), ""); r.status != 404 {
		t.Errorf("another organization reads the trail: %d", r.status)
	}

	// Comments join the trail; viewers read it but cannot comment.
	if r := w.call(t, "viewer", "POST", base("/api/v1", "I10", "comments"), `{"comment": "hm"}`); r.status != 403 {
		t.Errorf("viewer comments: %d", r.status)
	}
	r = w.call(t, "bob", "POST", base("/api/v1", "I10", "comments"), `{"comment": "checked against the discharge letter"}`)
	if r.status != 201 || r.body["action"] != "comment" || r.body["actor"] != w.users["bob"].ID {
		t.Fatalf("comment: %d %s", r.status, r.raw)
	}
	if h := w.history(t, p, it["I10"].ID); len(h) != 2 || h[1]["action"] != "comment" || h[1]["before"] != nil || h[1]["comment"] != "checked against the discharge letter" {
		t.Fatalf("trail after the comment: %v", h)
	}
}

// The /v1 routes are the /api/v1 handlers: the same decision answers the
// same keys either way.
func TestReviewV1AndAPIV1Parity(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, it := w.project(t, tenancy.SecondReviewerNone,
		item("A", 201826, 0.9, mappingjob.MethodReview, 201826), item("B", 201826, 0.9, mappingjob.MethodReview, 201826),
		item("C", 201826, 0.9, mappingjob.MethodReview, 201826), item("D", 201826, 0.9, mappingjob.MethodReview, 201826))
	keys := func(m map[string]any) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	for _, c := range []struct{ a, b, action, body string }{
		{"A", "B", "approve", ""}, {"C", "D", "override", `{"target_concept_id": 1125315}`},
	} {
		r1 := w.call(t, "alice", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[c.a].ID, c.action), c.body)
		r2 := w.call(t, "alice", "POST", fmt.Sprintf("/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[c.b].ID, c.action), c.body)
		if r1.status != 200 || r2.status != 200 || keys(r1.body) != keys(r2.body) || r1.body["method"] != r2.body["method"] ||
			r1.body["target_concept_id"] != r2.body["target_concept_id"] {
			t.Errorf("%s: /api/v1 %d %s; /v1 %d %s", c.action, r1.status, r1.raw, r2.status, r2.raw)
		}
		for _, k := range []string{"id", "source_code", "source_description", "target_concept_id", "target_concept_name", "target_vocabulary_id", "confidence", "method"} {
			if _, ok := r2.body[k]; !ok {
				t.Errorf("%s: the doc's key %s missing", c.action, k)
			}
		}
	}
	// Both trees are documented, and the document is valid OpenAPI 3.
	r := w.call(t, "", "GET", "/openapi.json", "")
	doc, err := openapi3.NewLoader().LoadFromData(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	for _, path := range []string{"/api/v1/projects/{pid}/concept-mapping/{mid}/override", "/v1/projects/{pid}/concept-mapping/{mid}/override",
		"/api/v1/projects/{id}/exports/{format}", "/api/v1/projects/{pid}/review/agreement"} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("%s not documented", path)
		}
	}
}

func TestSecondReviewerRule(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, it := w.project(t, tenancy.SecondReviewerAll,
		item("X", 201826, 0.9, mappingjob.MethodReview, 201826),
		item("Y", 4329847, 0.8, mappingjob.MethodReview, 4329847),
		item("Z", 4329847, 0.8, mappingjob.MethodReview, 4329847),
	)
	url := func(code, action string) string {
		return fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[code].ID, action)
	}
	// X: a first approval waits for a second reviewer, and stays pending.
	r := w.call(t, "alice", "POST", url("X", "approve"), "")
	first, _ := r.body["first_decision"].(map[string]any)
	if r.status != 200 || r.body["review_state"] != "awaiting_second_review" || r.body["review_decision"] != "pending" || first["reviewer"] != w.users["alice"].ID {
		t.Fatalf("first approval: %d %s", r.status, r.raw)
	}
	// The same reviewer again (by another credential of hers too) is refused, naming the rule.
	for _, who := range []string{"alice", "alice-2"} {
		r := w.call(t, who, "POST", url("X", "approve"), "")
		if r.status != 409 || !strings.Contains(r.body["detail"].(string), "second-reviewer rule") {
			t.Fatalf("same reviewer twice: %d %s", r.status, r.raw)
		}
	}
	r = w.call(t, "bob", "POST", url("X", "approve"), `{"comment": "agree"}`)
	if r.status != 200 || r.body["review_state"] != "final" || r.body["review_decision"] != "approved" || r.body["first_decision"] != nil || r.body["decided_by"] != w.users["bob"].ID {
		t.Fatalf("second approval: %d %s", r.status, r.raw)
	}
	if h := w.history(t, p, it["X"].ID); len(h) != 2 || h[0]["actor"] != w.users["alice"].ID || h[1]["actor"] != w.users["bob"].ID {
		t.Fatalf("X's trail: %v", h)
	}

	// Y: an override, then a rejection by another reviewer: flagged, in
	// the item and the flagged queue; only a project admin resolves it.
	r = w.call(t, "alice", "POST", url("Y", "override"), `{"target_concept_id": 320128}`)
	if r.status != 200 || r.body["review_state"] != "awaiting_second_review" || r.body["target_concept_id"] != 320128.0 || r.body["review_decision"] != "pending" {
		t.Fatalf("first override: %d %s", r.status, r.raw)
	}
	r = w.call(t, "bob", "POST", url("Y", "reject"), "")
	if r.status != 200 || r.body["review_state"] != "flagged" || r.body["flagged"] != true || r.body["second_decision"] == nil || r.body["review_decision"] != "pending" {
		t.Fatalf("disagreement: %d %s", r.status, r.raw)
	}
	q := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/review/queue?state=flagged", "")
	if q.status != 200 || len(q.body["items"].([]any)) != 1 || q.body["items"].([]any)[0].(map[string]any)["source_code"] != "Y" {
		t.Fatalf("flagged queue: %d %s", q.status, q.raw)
	}
	if r := w.call(t, "alice", "POST", url("Y", "approve"), ""); r.status != 409 || !strings.Contains(r.body["detail"].(string), "flagged") {
		t.Fatalf("a member deciding a flagged item: %d %s", r.status, r.raw)
	}
	r = w.call(t, "owner", "POST", url("Y", "override"), `{"target_concept_id": 320128, "comment": "adjudicated"}`)
	if r.status != 200 || r.body["review_state"] != "final" || r.body["review_decision"] != "overridden" || r.body["flagged"] != false {
		t.Fatalf("adjudication: %d %s", r.status, r.raw)
	}

	// Z: override confirmed by the second reviewer's approval stays an override.
	w.call(t, "alice", "POST", url("Z", "override"), `{"target_concept_id": 1125315}`)
	if q := w.call(t, "alice", "GET", "/api/v1/projects/"+p.ID+"/review/queue", ""); len(q.body["items"].([]any)) != 1 {
		t.Fatalf("awaiting queue: %s", q.raw)
	}
	r = w.call(t, "bob", "POST", url("Z", "approve"), "")
	if r.status != 200 || r.body["review_decision"] != "overridden" || r.body["method"] != "override" || r.body["target_concept_id"] != 1125315.0 {
		t.Fatalf("confirmed override: %d %s", r.status, r.raw)
	}

	// Under "overrides" an approval is final at once, an override waits.
	p2, it2 := w.project(t, tenancy.SecondReviewerOverrides,
		item("A", 201826, 0.9, mappingjob.MethodReview, 201826), item("B", 201826, 0.9, mappingjob.MethodReview, 201826))
	if r := w.call(t, "alice", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/approve", p2.ID, it2["A"].ID), ""); r.body["review_state"] != "final" {
		t.Errorf("approval under overrides: %s", r.raw)
	}
	if r := w.call(t, "alice", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/override", p2.ID, it2["B"].ID), `{"target_concept_id": 320128}`); r.body["review_state"] != "awaiting_second_review" {
		t.Errorf("override under overrides: %s", r.raw)
	}

	// The agreement report counts it all.
	a := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/review/agreement", "")
	counts, _ := a.body["counts"].(map[string]any)
	if a.status != 200 || a.body["second_reviewer"] != "all" || counts["flagged"] != 0.0 || counts["agreed"] != 2.0 || counts["disagreed"] != 1.0 {
		t.Fatalf("agreement: %d %s", a.status, a.raw)
	}
}

// Kappa against a hand computation. Reviewers alice and bob each decide
// five items (rule none, so both decisions stand in the trail):
//
//	item  alice    bob
//	1     accept   accept
//	2     accept   reject
//	3     reject   reject
//	4     reject   reject
//	5     accept   accept
//
// p_o = 4/5 = 0.8; alice accepts 3/5, bob 2/5, so p_e = 3/5·2/5 + 2/5·3/5
// = 0.48 and kappa = (0.8 − 0.48) / (1 − 0.48) = 8/13 ≈ 0.6154.
func TestAgreementKappa(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	var items []mappingjob.Item
	for i := 1; i <= 5; i++ {
		items = append(items, item(fmt.Sprint(i), 201826, 0.9, mappingjob.MethodReview, 201826))
	}
	p, it := w.project(t, tenancy.SecondReviewerNone, items...)
	votes := map[string][2]string{"1": {"approve", "approve"}, "2": {"approve", "reject"}, "3": {"reject", "reject"}, "4": {"reject", "reject"}, "5": {"approve", "approve"}}
	for code, v := range votes {
		for i, who := range []string{"alice", "bob"} {
			r := w.call(t, who, "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[code].ID, v[i]), "")
			if r.status != 200 {
				t.Fatalf("%s %s %s: %d %s", who, v[i], code, r.status, r.raw)
			}
		}
	}
	a := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/review/agreement", "")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	kappa, _ := a.body["kappa"].(float64)
	if math.Abs(kappa-8.0/13) > 1e-9 || a.body["observed_agreement"] != 0.8 {
		t.Fatalf("kappa %v (observed %v), want 8/13: %s", a.body["kappa"], a.body["observed_agreement"], a.raw)
	}
	pairs := a.body["pairs"].([]any)
	pair := pairs[0].(map[string]any)
	if len(pairs) != 1 || pair["items"] != 5.0 || math.Abs(pair["kappa"].(float64)-8.0/13) > 1e-9 || math.Abs(pair["expected_agreement"].(float64)-0.48) > 1e-9 {
		t.Fatalf("pairs %v", pairs)
	}
	counts := a.body["counts"].(map[string]any)
	if counts["decisions"] != 10.0 || counts["items_with_two_reviewers"] != 5.0 || counts["agreed"] != 4.0 || counts["disagreed"] != 1.0 || counts["reviewers"] != 2.0 {
		t.Fatalf("counts %v", counts)
	}
	if r := w.call(t, "other", "GET", "/api/v1/projects/"+p.ID+"/review/agreement", ""); r.status != 404 {
		t.Errorf("another organization reads the agreement: %d", r.status)
	}
}

func TestBulkApproveAndApproveAllTouchOnlyOpenItems(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	s2 := item("S2-R", 201826, 0.8, mappingjob.MethodReview, 201826)
	s2.Source = "S2"
	lab := item("LAB", 3023103, 0.97, mappingjob.MethodAuto, 3023103)
	file := item("FILE-R", 201826, 0.8, mappingjob.MethodReview, 201826)
	file.Source = "/tmp/dx.csv" // stage 3 sends the file's path as source_id
	p, it := w.project(t, tenancy.SecondReviewerNone,
		item("AUTO-HI", 201826, 0.97, mappingjob.MethodAuto, 201826),
		item("AUTO-DONE", 201826, 0.99, mappingjob.MethodAuto, 201826),
		item("AUTO-LO", 201826, 0.6, mappingjob.MethodAuto, 201826),
		item("REV-1", 201826, 0.8, mappingjob.MethodReview, 201826),
		item("REV-DONE", 201826, 0.8, mappingjob.MethodReview, 201826),
		item("NONE", 0, 0.1, mappingjob.MethodManual),
		lab, s2, file,
	)
	// Decided items the bulk routes must leave alone.
	for code, action := range map[string]string{"AUTO-DONE": "reject", "REV-DONE": "reject"} {
		if r := w.call(t, "alice", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[code].ID, action), ""); r.status != 200 {
			t.Fatal(r.status, string(r.raw))
		}
	}
	bulk := "/api/v1/projects/" + p.ID + "/concept-mappings/approve"
	for _, body := range []string{`{"method": "auto", "min_confidence": 0.9, "domian": "x"}`, `{"method": "memory"}`, `{"min_confidence": 0.9, "max_confidence": 0.5}`, `{"max_confidence": "high"}`} {
		if r := w.call(t, "alice", "POST", bulk, body); r.status != 422 || r.body["detail"] == nil {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if r := w.call(t, "viewer", "POST", bulk, `{"method": "auto"}`); r.status != 403 {
		t.Errorf("viewer bulk: %d", r.status)
	}
	r := w.call(t, "alice", "POST", bulk, `{"method": "auto", "min_confidence": 0.9, "domain": "Condition", "comment": "high-confidence autos"}`)
	if r.status != 200 || r.body["approved"] != 1.0 {
		t.Fatalf("bulk approve: %d %s", r.status, r.raw)
	}
	// approve-all, as the SDK's stage 3 calls it: no body, mapping_id the source.
	r = w.call(t, "bob", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/S1/approve-all", p.ID), "")
	if r.status != 200 || r.body["approved"] != 1.0 {
		t.Fatalf("approve-all: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "bob", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%%2Ftmp%%2Fdx.csv/approve-all", p.ID), ""); r.status != 200 || r.body["approved"] != 1.0 {
		t.Fatalf("approve-all of a percent-encoded source: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "bob", "POST", fmt.Sprintf("/v1/projects/%s/concept-mapping/no-such-source/approve-all", p.ID), ""); r.status != 200 || r.body["approved"] != 0.0 {
		t.Fatalf("approve-all of an unknown source: %d %s", r.status, r.raw)
	}
	stored, _ := w.items.Items(w.ctx, p.ID)
	want := map[string]string{"AUTO-HI": "approved", "AUTO-DONE": "rejected", "AUTO-LO": "pending", "REV-1": "approved",
		"REV-DONE": "rejected", "NONE": "pending", "LAB": "pending", "S2-R": "pending", "FILE-R": "approved"}
	for _, s := range stored {
		if string(s.Review) != want[s.Code] {
			t.Errorf("%s: %s, want %s", s.Code, s.Review, want[s.Code])
		}
		h := w.history(t, p, s.ID)
		switch s.Code {
		case "AUTO-HI":
			if len(h) != 1 || h[0]["action"] != "approve" || h[0]["comment"] != "high-confidence autos" || h[0]["actor"] != w.users["alice"].ID {
				t.Errorf("AUTO-HI trail %v", h)
			}
		case "REV-1", "FILE-R":
			if len(h) != 1 || h[0]["actor"] != w.users["bob"].ID {
				t.Errorf("REV-1 trail %v", h)
			}
		case "AUTO-DONE", "REV-DONE":
			if len(h) != 1 || h[0]["action"] != "reject" {
				t.Errorf("%s trail %v", s.Code, h)
			}
		default:
			if len(h) != 0 {
				t.Errorf("%s untouched but has a trail %v", s.Code, h)
			}
		}
	}
}

func TestSchemaItemHistory(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, _ := w.project(t, tenancy.SecondReviewerNone)
	// The schema items' store writes its rows in review_events as kind
	// schema; one is enough to read it back.
	if _, err := w.pool.Exec(w.ctx, `insert into review_events (project_id, item_kind, item_id, actor, action, before, after, comment)
		values ($1, 'schema', 41, 'operator', 'override', '{"status": "needs_review"}', '{"status": "overridden"}', 'dob')`, p.ID); err != nil {
		t.Fatal(err)
	}
	r := w.call(t, "viewer", "GET", "/v1/projects/"+p.ID+"/schema-mapping/41/history", "")
	events, _ := r.body["events"].([]any)
	if r.status != 200 || r.body["item_kind"] != "schema" || len(events) != 1 || events[0].(map[string]any)["after"].(map[string]any)["status"] != "overridden" {
		t.Fatalf("schema history: %d %s", r.status, r.raw)
	}
	r = w.call(t, "viewer", "GET", "/v1/projects/"+p.ID+"/schema-mapping/42/history", "")
	if r.status != 404 || r.body["detail"] != "Schema mapping 42 not found in project "+p.ID {
		t.Fatalf("unknown schema item: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "other", "GET", "/v1/projects/"+p.ID+"/schema-mapping/41/history", ""); r.status != 404 || r.body["detail"] != "no such project" {
		t.Fatalf("another organization: %d %s", r.status, r.raw)
	}
}

// The review queue pages like the item listing: limit (1..1000) at a time,
// next_cursor until the last page; a bad limit or cursor is a 422 naming it.
func TestReviewQueuePages(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, it := w.project(t, tenancy.SecondReviewerAll,
		item("Q1", 201826, 0.9, mappingjob.MethodReview, 201826),
		item("Q2", 201826, 0.9, mappingjob.MethodReview, 201826),
		item("Q3", 201826, 0.9, mappingjob.MethodReview, 201826),
	)
	for _, code := range []string{"Q1", "Q2", "Q3"} {
		if r := w.call(t, "alice", "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/approve", p.ID, it[code].ID), ""); r.status != 200 {
			t.Fatalf("first approval of %s: %d %s", code, r.status, r.raw)
		}
	}
	queue := "/api/v1/projects/" + p.ID + "/review/queue"
	var codes []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := w.call(t, "viewer", "GET", queue+"?limit=2"+cursor, "")
		if q.status != 200 || pages > 2 {
			t.Fatalf("queue page %d: %d %s", pages, q.status, q.raw)
		}
		for _, i := range q.body["items"].([]any) {
			codes = append(codes, i.(map[string]any)["source_code"].(string))
		}
		next, _ := q.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if strings.Join(codes, ",") != "Q1,Q2,Q3" {
		t.Errorf("pages held %v, want Q1, Q2, Q3 once each", codes)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?cursor=abc"} {
		r := w.call(t, "viewer", "GET", queue+bad, "")
		if r.status != 422 || !strings.Contains(r.body["detail"].(string), strings.SplitN(bad[1:], "=", 2)[0]) {
			t.Errorf("queue%s: %d %s, want 422 naming the parameter", bad, r.status, r.raw)
		}
	}
}

package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// itemsWorld is the API of concept items on a real PostgreSQL database
// and a real engine over a small corpus: organizations A (projects pa and
// pa2) and B (project pb), each with write and read keys.
type itemsWorld struct {
	ctx                   context.Context
	s                     *apiserver.Server
	tenants               *tenancystore.Store
	jobs                  *mappingjobstore.Store
	hasher                *credential.KeyHasher
	orgA, orgB            tenancy.Organization
	pa, pa2, pb           tenancy.Project
	reviewer              tenancy.User
	writeA, readA, writeB string
}

// itemsAuth is the one place these tests build authentication: the real
// credential.Authenticator over tenancystore's keys.
func itemsAuth(t *testing.T, store *tenancystore.Store) (apiserver.Authenticator, *credential.KeyHasher) {
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

// itemsCorpus is the small vocabulary the engine searches. Its glucose
// tests differ only by specimen, as LOINC's do, so that a row's context
// decides between them.
func itemsCorpus() *search.Corpus {
	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 1125315, Name: "acetaminophen 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "198440"},
		{ID: 4120120, Name: "Hemodialysis", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "302497006"},
		{ID: 45576876, Name: "Type 2 diabetes mellitus without complications", Domain: "Condition", Vocabulary: "ICD10CM", Class: "5-char billing code", Code: "E11.9"},
		{ID: 201826, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"},
		{ID: 320128, Name: "Essential hypertension", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "59621000"},
		{ID: 3004410, Name: "Hemoglobin A1c/Hemoglobin.total in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "4548-4"},
		{ID: glucoseBlood, Name: "Glucose [Mass/volume] in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2339-0"},
		{ID: glucoseSerum, Name: "Glucose [Mass/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2345-7"},
		{ID: glucoseUrine, Name: "Glucose [Mass/volume] in Urine by Test strip", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "5792-7"},
	} {
		b.AddConcept(c)
	}
	b.AddRelationship(45576876, 201826, "Maps to", "")
	return b.Build()
}

// The glucose tests of itemsCorpus.
const (
	glucoseBlood = 3000483
	glucoseSerum = 3004501
	glucoseUrine = 3024629
)

func newItemsWorld(t *testing.T, maxCodes int) *itemsWorld {
	t.Helper()
	pool := dbtest.New(t)
	w := &itemsWorld{ctx: context.Background(), tenants: tenancystore.New(pool), jobs: mappingjobstore.New(pool)}
	auth, hasher := itemsAuth(t, w.tenants)
	w.hasher = hasher
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	w.orgA, err = w.tenants.CreateOrganization(w.ctx, tenancy.Organization{Name: "A", Slug: "org-a"})
	must(err)
	w.orgB, err = w.tenants.CreateOrganization(w.ctx, tenancy.Organization{Name: "B", Slug: "org-b"})
	must(err)
	w.reviewer, err = w.tenants.CreateUser(w.ctx, tenancy.User{Email: "reviewer@a.example"})
	must(err)
	_, err = w.tenants.AddMember(w.ctx, tenancy.Membership{OrganizationID: w.orgA.ID, UserID: w.reviewer.ID, Role: tenancy.RoleMember})
	must(err)
	w.pa, err = w.tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "labs"})
	must(err)
	w.pa2, err = w.tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgA.ID, Name: "wards"})
	must(err)
	w.pb, err = w.tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.orgB.ID, Name: "labs"})
	must(err)
	w.writeA = w.key(t, w.orgA.ID, credential.ScopeWrite)
	w.readA = w.key(t, w.orgA.ID, credential.ScopeRead)
	w.writeB = w.key(t, w.orgB.ID, credential.ScopeWrite)
	var live search.Live
	live.Set(search.NewEngine(itemsCorpus(), search.Options{}))
	w.s, err = apiserver.New(apiserver.Config{Auth: auth, Resources: []apiserver.Resource{
		&apiserver.ConceptMapping{Search: &live, Memory: w.jobs, MaxCodes: maxCodes},
		&apiserver.ConceptItems{Projects: w.tenants, Items: w.jobs},
	}})
	must(err)
	return w
}

// key stores a system key of org (acting as admin) with scope.
func (w *itemsWorld) key(t *testing.T, org string, scope credential.Scope) string {
	t.Helper()
	k := w.hasher.Issue()
	if _, err := w.tenants.CreateAPIKey(w.ctx, tenancy.APIKey{OrganizationID: org, Name: "t", Prefix: k.Prefix, Hash: k.Hash.String(),
		Scopes: []string{string(scope)}}); err != nil {
		t.Fatal(err)
	}
	return k.Key
}

// call sends body (JSON, or nothing) with key and decodes the JSON answer.
func (w *itemsWorld) call(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := w.s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, not a JSON object: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func itemsOf(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("no items: %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

// checkSDKItem checks what the SDK's ConceptMapping.from_api_response and
// ConceptCandidate require of a mapped item.
func checkSDKItem(t *testing.T, it map[string]any) {
	t.Helper()
	if s, ok := it["source_code"].(string); !ok || s == "" {
		t.Errorf("source_code %v", it["source_code"])
	}
	switch it["method"] {
	case "auto", "review", "manual", "override", "unmapped":
	default:
		t.Errorf("method %v: the SDK raises on it", it["method"])
	}
	for _, c := range it["candidates"].([]any) {
		cand := c.(map[string]any)
		if _, ok := cand["concept_id"].(float64); !ok {
			t.Errorf("candidate concept_id %v", cand)
		}
		for _, k := range []string{"concept_name", "vocabulary_id", "domain_id", "concept_class_id", "standard_concept"} {
			if _, ok := cand[k].(string); !ok {
				t.Errorf("candidate %s is %v, the SDK requires a string", k, cand[k])
			}
		}
		if _, ok := cand["score"].(float64); !ok {
			t.Errorf("candidate score %v", cand["score"])
		}
	}
}

func TestConceptMapSDKBodies(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	// Project.map_concepts: an integer code column arrives as numbers.
	st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"source_id": "src-1", "column": "dx", "codes": [
		{"code": 2345, "description": "type 2 diabetes mellitus", "count": 7},
		{"code": "I10", "description": "essential hypertension", "count": 2},
		{"code": 12.5, "description": "zzzz qqqq", "count": 1}],
		"vocabularies": ["SNOMED"], "auto_threshold": 0.95, "review_threshold": 0.7}`)
	if st != 200 {
		t.Fatalf("map: %d %v", st, body)
	}
	items := itemsOf(t, body)
	if len(items) != 3 || items[0]["source_code"] != "2345" || items[1]["source_code"] != "I10" || items[2]["source_code"] != "12.5" {
		t.Fatalf("items in order with codes as text: %v", items)
	}
	for _, it := range items {
		checkSDKItem(t, it)
		if it["source_column"] != "dx" {
			t.Errorf("source_column %v", it["source_column"])
		}
	}
	if items[0]["target_concept_id"].(float64) != 201826 || items[1]["target_concept_id"].(float64) != 320128 {
		t.Errorf("targets: %v / %v", items[0]["target_concept_id"], items[1]["target_concept_id"])
	}
	top := items[0]["candidates"].([]any)[0].(map[string]any)
	if top["concept_class_id"] != "Clinical Finding" || top["standard_concept"] != "S" || top["explanation"] == nil {
		t.Errorf("first candidate %v", top)
	}
	stats := body["stats"].(map[string]any)
	sum := stats["auto"].(float64) + stats["review"].(float64) + stats["manual"].(float64)
	if stats["total"].(float64) != 3 || sum != 3 {
		t.Errorf("stats %v", stats)
	}

	// stage3's body: no thresholds (0.95 / 0.70 apply), a non-standard
	// concept's standard_concept is "" rather than null.
	st, body = w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"source_id": "/data/dx.csv", "column": "dx",
		"codes": [{"code": "E11.9", "description": "E11.9", "count": 1}], "vocabularies": ["ICD10CM", "SNOMED"]}`)
	if st != 200 {
		t.Fatalf("stage3 body: %d %v", st, body)
	}
	for _, it := range itemsOf(t, body) {
		checkSDKItem(t, it)
	}
	// With a permissive auto threshold the same term routes auto.
	st, strict := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "x", "description": "hemodialysis"}], "auto_threshold": 0.999, "review_threshold": 0.99}`)
	st2, lax := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "x", "description": "hemodialysis"}], "auto_threshold": 0.01, "review_threshold": 0.005}`)
	if st != 200 || st2 != 200 || itemsOf(t, strict)[0]["method"] == "auto" || lax["stats"].(map[string]any)["auto"].(float64)+lax["stats"].(map[string]any)["review"].(float64) != 1 {
		t.Errorf("thresholds: %v / %v", strict, lax)
	}

	for name, bad := range map[string]string{
		"codes missing":           `{"vocabularies": ["SNOMED"]}`,
		"code null":               `{"codes": [{"code": null, "description": "x"}]}`,
		"code a boolean":          `{"codes": [{"code": true}]}`,
		"threshold above 1":       `{"codes": [], "auto_threshold": 1.5}`,
		"review above auto":       `{"codes": [], "auto_threshold": 0.5, "review_threshold": 0.6}`,
		"unknown vocabulary":      `{"codes": [{"code": "a", "description": "b"}], "vocabularies": ["NOPE"]}`,
		"codes of the wrong type": `{"codes": "E11.9"}`,
	} {
		if st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, bad); st != 422 || body["detail"] == "" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
	if st, body := w.call(t, "POST", "/api/v1/concepts/map", "pt_sk_"+strings.Repeat("x", 40), `{"codes": []}`); st != 401 {
		t.Errorf("bad key: %d %v", st, body)
	}
}

func TestConceptMapOverTheLimitIs413(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 3)
	codes := make([]string, 4)
	for i := range codes {
		codes[i] = fmt.Sprintf(`{"code": "c%d", "description": "hemodialysis"}`, i)
	}
	st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [`+strings.Join(codes, ",")+`]}`)
	if st != 413 || !strings.Contains(body["detail"].(string), "bulk-mapping") || !strings.Contains(body["detail"].(string), "3") {
		t.Fatalf("4 codes over a limit of 3: %d %v", st, body)
	}
	if st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [`+strings.Join(codes[:3], ",")+`]}`); st != 200 {
		t.Fatalf("3 codes: %d %v", st, body)
	}
}

// TestConceptMapReadsEachCodesContext: a code's category, specimen and
// unit reach the engine as that code's context, as `portiere map` and
// bulk mapping pass them. "Glucose" alone ranks the blood test first; a
// urine specimen or a chemistry category choose another, and the other
// tests stay candidates (hints, not filters).
func TestConceptMapReadsEachCodesContext(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"column": "lab", "codes": [
		{"code": "GLU", "description": "Glucose"},
		{"code": "GLU-U", "description": "Glucose", "specimen": "Urine"},
		{"code": "GLU-C", "description": "Glucose", "category": "Chemistry"},
		{"code": "GLU-NULL", "description": "Glucose", "category": null, "specimen": null, "unit": null},
		{"code": "GLU-BLANK", "description": "Glucose", "category": " ", "specimen": "  ", "unit": ""},
		{"code": "GLU-MG", "description": "Glucose", "category": "Lab", "unit": "mg/dL"},
		{"code": "GLU-MMOL", "description": "Glucose", "category": "Lab", "unit": "mmol/L"}]}`)
	if st != 200 {
		t.Fatalf("map: %d %v", st, body)
	}
	items := itemsOf(t, body)
	candidates := func(i int) []map[string]any {
		t.Helper()
		checkSDKItem(t, items[i])
		raw := items[i]["candidates"].([]any)
		if len(raw) == 0 {
			t.Fatalf("%v: no candidates", items[i]["source_code"])
		}
		out := make([]map[string]any, len(raw))
		for j, c := range raw {
			out[j] = c.(map[string]any)
		}
		return out
	}
	first := func(i int) float64 { return candidates(i)[0]["concept_id"].(float64) }

	if got := first(0); got != glucoseBlood {
		t.Fatalf("without context: %v first, want the blood test %d", got, glucoseBlood)
	}
	if got := first(1); got != glucoseUrine {
		t.Errorf("specimen Urine: %v first, want the urine test %d", got, glucoseUrine)
	}
	blood := false
	for _, c := range candidates(1) {
		blood = blood || c["concept_id"].(float64) == glucoseBlood
	}
	if !blood {
		t.Errorf("specimen Urine hides the blood test: %v", candidates(1))
	}
	if got := first(2); got != glucoseSerum {
		t.Errorf("category Chemistry: %v first, want the serum or plasma test %d", got, glucoseSerum)
	}
	// null and blank fields are no context at all.
	for _, i := range []int{3, 4} {
		if !reflect.DeepEqual(candidates(i), candidates(0)) || items[i]["confidence"] != items[0]["confidence"] {
			t.Errorf("%v: %v, want what no context gives: %v", items[i]["source_code"], candidates(i), candidates(0))
		}
	}
	// A unit of amount of substance asks for a moles test: every glucose
	// test here measures mass, so each scores lower than with mg/dL.
	mg, mmol := candidates(5)[0], candidates(6)[0]
	if mg["concept_id"] != mmol["concept_id"] || mmol["score"].(float64) >= mg["score"].(float64) {
		t.Errorf("unit mmol/L %v should score the mass test below unit mg/dL %v", mmol, mg)
	}
}

// TestConceptMapContextValidation: a context field that is not a string
// (or null) is a 422 naming the field and the code's index, as a wrong
// code is.
func TestConceptMapContextValidation(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	for bad, want := range map[string]string{
		`{"specimen": 5}`:                   "codes[1].specimen must be a string or null, not number",
		`{"category": ["Chemistry"]}`:       "codes[1].category must be a string or null, not array",
		`{"unit": true}`:                    "codes[1].unit must be a string or null, not bool",
		`{"unit": {"ucum": "mmol/L"}}`:      "codes[1].unit must be a string or null, not object",
		`{"specimen": "Serum", "unit": 12}`: "codes[1].unit must be a string or null, not number",
	} {
		item := `{"code": "K", "description": "Potassium", ` + strings.TrimPrefix(bad, "{")
		st, body := w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "GLU", "description": "Glucose"}, `+item+`]}`)
		if st != 422 || detail(body) != want {
			t.Errorf("%s: %d %v, want 422 %q", bad, st, body, want)
		}
	}

	// The fields are documented, in a valid request schema.
	_, doc := w.call(t, "GET", "/openapi.json", w.readA, "")
	raw, _ := json.Marshal(doc)
	spec, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	request := spec.Paths.Find("/api/v1/concepts/map").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if err := request.Validate(context.Background()); err != nil {
		t.Fatalf("invalid request schema: %v", err)
	}
	code := request.Properties["codes"].Value.Items.Value
	for _, field := range []string{"category", "specimen", "unit"} {
		if f := code.Properties[field]; f == nil || !f.Value.Type.Is("string") || !f.Value.Nullable || f.Value.Description == "" {
			t.Errorf("codes[].%s is not documented as a nullable string: %+v", field, f)
		}
	}
}

// decide proposes code in project p (the engine's candidates aside) and
// records review on it as the reviewer.
func (w *itemsWorld) decide(t *testing.T, p tenancy.Project, code, desc string, concept int32, review mappingjob.ReviewStatus) mappingjob.Item {
	t.Helper()
	cands := []mappingjob.Candidate{{ConceptID: 320128, ConceptName: "Essential hypertension", VocabularyID: "SNOMED", DomainID: "Condition",
		ConceptClassID: "Clinical Finding", StandardConcept: "S", Score: 0.6}}
	if err := w.jobs.UpsertItems(w.ctx, p.ID, []mappingjob.Item{{Source: "S", Code: code, Description: desc, ConceptID: 320128,
		Candidates: cands, Confidence: 0.6, Method: mappingjob.MethodReview}}); err != nil {
		t.Fatal(err)
	}
	cur, err := w.jobs.Item(w.ctx, p.ID, "S", code)
	if err != nil {
		t.Fatal(err)
	}
	d := mappingjob.Decision{Source: "S", Code: code, Review: review, DecidedBy: w.reviewer.ID, Actor: w.reviewer.ID, Revision: cur.Revision}
	if review == mappingjob.ReviewOverridden {
		d.ConceptID, d.ConceptName, d.VocabularyID, d.DomainID = concept, "Type 2 diabetes mellitus", "SNOMED", "Condition"
	}
	it, err := w.jobs.Decide(w.ctx, p.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestConceptMapRecallsReviewedDecisions(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	// A reviewer of project "labs" overrode the engine for a local code.
	decided := w.decide(t, w.pa, "DM2-LOC", "Diabetes typ 2", 201826, mappingjob.ReviewOverridden)
	body := `{"column": "dx", "codes": [{"code": "dm2-loc", "description": "  diabetes TYP 2 "}, {"code": "I10", "description": "essential hypertension"}]}`

	st, resp := w.call(t, "POST", "/api/v1/concepts/map", w.readA, body)
	if st != 200 {
		t.Fatalf("map: %d %v", st, resp)
	}
	items := itemsOf(t, resp)
	hit := items[0]
	checkSDKItem(t, hit)
	prov := hit["provenance"].(map[string]any)
	if hit["method"] != "auto" || hit["target_concept_id"].(float64) != 201826 || hit["confidence"].(float64) != 1 ||
		prov["method"] != "memory" || prov["project"] != w.pa.ID || prov["project_name"] != "labs" || prov["reviewer"] != "reviewer@a.example" ||
		prov["decided_at"] == nil || prov["mapping_id"] != fmt.Sprint(decided.ID) {
		t.Fatalf("memory hit: %v", hit)
	}
	first := hit["candidates"].([]any)[0].(map[string]any)
	if first["concept_id"].(float64) != 201826 || first["concept_class_id"] != "Clinical Finding" || first["standard_concept"] != "S" {
		t.Fatalf("the reviewed concept comes first: %v", first)
	}
	if items[1]["provenance"].(map[string]any)["method"] == "memory" {
		t.Fatalf("no decision for I10, yet: %v", items[1])
	}
	// An approval in another project of the organization is recalled too.
	w.decide(t, w.pa2, "I10", "essential hypertension", 0, mappingjob.ReviewApproved)
	_, resp = w.call(t, "POST", "/api/v1/concepts/map", w.readA, body)
	if it := itemsOf(t, resp)[1]; it["provenance"].(map[string]any)["method"] != "memory" || it["provenance"].(map[string]any)["project_name"] != "wards" ||
		it["target_concept_id"].(float64) != 320128 || it["method"] != "auto" {
		t.Fatalf("approval not recalled: %v", it)
	}

	// Organization B maps the same code: A's memory stays A's.
	_, resp = w.call(t, "POST", "/api/v1/concepts/map", w.writeB, body)
	if p := itemsOf(t, resp)[0]["provenance"].(map[string]any); p["method"] == "memory" {
		t.Fatalf("organization B sees A's memory: %v", p)
	}
	// A vocabulary filter the reviewed concept is not in skips the memory.
	_, resp = w.call(t, "POST", "/api/v1/concepts/map", w.readA, `{"codes": [{"code": "DM2-LOC", "description": "Diabetes typ 2"}], "vocabularies": ["LOINC"]}`)
	if p := itemsOf(t, resp)[0]["provenance"].(map[string]any); p["method"] == "memory" {
		t.Fatalf("memory outside the vocabulary filter: %v", p)
	}

	// Rejected later: the memory forgets it.
	if _, err := w.jobs.Decide(w.ctx, w.pa.ID, mappingjob.Decision{Source: "S", Code: "DM2-LOC", Review: mappingjob.ReviewRejected,
		DecidedBy: w.reviewer.ID, Actor: w.reviewer.ID, Revision: decided.Revision}); err != nil {
		t.Fatal(err)
	}
	_, resp = w.call(t, "POST", "/api/v1/concepts/map", w.readA, body)
	if p := itemsOf(t, resp)[0]["provenance"].(map[string]any); p["method"] == "memory" {
		t.Fatalf("a rejected decision is still proposed: %v", p)
	}
}

// sdkItems are the three items of sdktest's concept_items(), as the SDK
// pushes them (model_dump(mode="json"): every key, null when unset).
const sdkItems = `[
 {"source_code": "E11.9", "source_description": "T2DM, no complications", "source_column": "dx_code", "source_count": 42,
  "target_concept_id": 201826, "target_concept_name": "Type 2 diabetes mellitus", "target_vocabulary_id": "SNOMED", "target_domain_id": "Condition",
  "confidence": 0.91, "method": "override", "inference_method": "review", "review_decision": "overridden",
  "candidates": [
   {"concept_id": 201826, "concept_name": "Type 2 diabetes mellitus", "vocabulary_id": "SNOMED", "domain_id": "Condition",
    "concept_class_id": "Clinical Finding", "standard_concept": "S", "score": 0.91, "rrf_score": 0.03, "cross_encoder_score": null},
   {"concept_id": 320128, "concept_name": "Essential hypertension", "vocabulary_id": "SNOMED", "domain_id": "Condition",
    "concept_class_id": "Clinical Finding", "standard_concept": "S", "score": 0.4, "rrf_score": null, "cross_encoder_score": null}],
  "provenance": {"reviewer": "ana@example.org", "nested": {"k": [1, 2.5, null, "\u00fc, \"q\"\ttab"]}}},
 {"source_code": "Z87.891", "source_description": null, "source_column": null, "source_count": 1, "target_concept_id": null,
  "target_concept_name": null, "target_vocabulary_id": null, "target_domain_id": null, "confidence": 0.0, "method": "unmapped",
  "inference_method": "unmapped", "review_decision": "rejected", "candidates": [], "provenance": {}},
 {"source_code": "I10", "source_description": null, "source_column": null, "source_count": 1, "target_concept_id": null,
  "target_concept_name": null, "target_vocabulary_id": null, "target_domain_id": null, "confidence": 0.72, "method": "review",
  "inference_method": "review", "review_decision": null, "candidates": [], "provenance": {}}
]`

var sdkKeys = []string{"source_code", "source_description", "source_column", "source_count", "target_concept_id", "target_concept_name",
	"target_vocabulary_id", "target_domain_id", "confidence", "method", "inference_method", "review_decision", "candidates", "provenance"}

func TestConceptSyncRoundTrip(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	push := "/api/v1/sync/projects/" + w.pa.ID + "/concept-mappings/bulk"
	pull := "/api/v1/sync/projects/" + w.pa.ID + "/concept-mappings"
	var pushed []map[string]any
	if err := json.Unmarshal([]byte(sdkItems), &pushed); err != nil {
		t.Fatal(err)
	}
	for round, want := range []string{"created", "unchanged"} {
		st, body := w.call(t, "POST", push, w.writeA, `{"items": `+sdkItems+`}`)
		if st != 200 || body[want].(float64) != 3 {
			t.Fatalf("push %d: %d %v", round+1, st, body)
		}
	}
	st, body := w.call(t, "GET", pull, w.readA, "")
	if st != 200 {
		t.Fatalf("pull: %d %v", st, body)
	}
	pulled := itemsOf(t, body)
	if len(pulled) != 3 {
		t.Fatalf("two pushes of 3 items left %d items", len(pulled))
	}
	byCode := map[string]map[string]any{}
	for _, it := range pulled {
		byCode[it["source_code"].(string)] = it
		if it["id"] == "" || it["revision"].(float64) != 1 {
			t.Errorf("pulled item without id or revision 1: %v", it)
		}
	}
	for _, want := range pushed {
		got := byCode[want["source_code"].(string)]
		for _, k := range sdkKeys {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s.%s: pushed %#v, pulled %#v", want["source_code"], k, want[k], got[k])
			}
		}
	}
	// ETLRunner.from_cloud reads the same items.
	if st, alias := w.call(t, "GET", "/api/v1/concepts/projects/"+w.pa.ID+"/concept-mapping", w.readA, ""); st != 200 || !reflect.DeepEqual(alias, body) {
		t.Errorf("alias: %d %v", st, alias)
	}
	// CloudStorageBackend sends empty pushes.
	if st, body := w.call(t, "POST", push, w.writeA, `{"items": []}`); st != 200 {
		t.Errorf("empty push: %d %v", st, body)
	}

	// A stale revision: 409 naming the item, and the other change in the
	// same push is not written.
	changed := `{"items": [
		{"source_code": "I10", "confidence": 0.5, "method": "review"},
		{"source_code": "Z87.891", "method": "unmapped", "review_decision": "rejected", "revision": 5}]}`
	st, body = w.call(t, "POST", push, w.writeA, changed)
	if st != 409 || !strings.Contains(body["detail"].(string), "Z87.891") {
		t.Fatalf("stale revision: %d %v", st, body)
	}
	_, body = w.call(t, "GET", pull, w.readA, "")
	for _, it := range itemsOf(t, body) {
		if it["source_code"] == "I10" && (it["confidence"].(float64) != 0.72 || it["revision"].(float64) != 1) {
			t.Fatalf("written despite the 409: %v", it)
		}
	}
	// With the current revision the change goes through.
	if st, body := w.call(t, "POST", push, w.writeA, strings.Replace(changed, `"revision": 5`, `"revision": 1`, 1)); st != 200 || body["updated"].(float64) != 1 || body["unchanged"].(float64) != 1 {
		t.Fatalf("current revision: %d %v", st, body)
	}

	// Write needs a write credential of the project's organization.
	if st, body := w.call(t, "POST", push, w.readA, `{"items": `+sdkItems+`}`); st != 403 {
		t.Errorf("read-scope key pushing: %d %v", st, body)
	}
	for _, path := range []string{push, pull, "/api/v1/concepts/projects/" + w.pa.ID + "/concept-mapping", "/api/v1/projects/" + w.pa.ID + "/concept-mappings"} {
		method, body := "GET", ""
		if path == push {
			method, body = "POST", `{"items": `+sdkItems+`}`
		}
		if st, resp := w.call(t, method, path, w.writeB, body); st != 404 {
			t.Errorf("another organization's key on %s %s: %d %v", method, path, st, resp)
		}
	}
	for name, bad := range map[string]string{
		"no items":       `{}`,
		"no source_code": `{"items": [{"method": "auto"}]}`,
		"bad method":     `{"items": [{"source_code": "x", "method": "memory"}]}`,
		"bad decision":   `{"items": [{"source_code": "x", "review_decision": "maybe"}]}`,
		"twice":          `{"items": [{"source_code": "x"}, {"source_code": "x"}]}`,
		"wrong type":     `{"items": [{"source_code": "x", "confidence": "high"}]}`,
	} {
		if st, body := w.call(t, "POST", push, w.writeA, bad); st != 422 || body["detail"] == "" {
			t.Errorf("%s: %d %v", name, st, body)
		}
	}
}

func TestConceptMappingsListing(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	methods := []string{"auto", "review", "manual", "override", "unmapped"}
	decisions := []string{`"pending"`, `"approved"`, `null`, `"rejected"`}
	var items []string
	for i := 0; i < 23; i++ {
		domain := "Condition"
		if i%2 == 1 {
			domain = "Drug"
		}
		desc := fmt.Sprintf("term %d", i)
		if i%5 == 0 {
			desc = fmt.Sprintf("Glucose 100%% test %d", i)
		}
		items = append(items, fmt.Sprintf(`{"source_code": "C%02d", "source_description": %q, "source_column": "code", "target_concept_id": %d,
			"target_domain_id": %q, "confidence": %g, "method": %q, "review_decision": %s}`,
			i, desc, 1000+i, domain, float64(i)/22, methods[i%5], decisions[i%4]))
	}
	if st, body := w.call(t, "POST", "/api/v1/sync/projects/"+w.pa.ID+"/concept-mappings/bulk", w.writeA, `{"items": [`+strings.Join(items, ",")+`]}`); st != 200 {
		t.Fatalf("push: %d %v", st, body)
	}
	list := "/api/v1/projects/" + w.pa.ID + "/concept-mappings"

	// Every page in id order, no duplicates, no gaps.
	pages := func(query string, limit int) []map[string]any {
		t.Helper()
		var all []map[string]any
		cursor := ""
		for n := 0; n < 50; n++ {
			st, body := w.call(t, "GET", fmt.Sprintf("%s?limit=%d&cursor=%s&%s", list, limit, cursor, query), w.readA, "")
			if st != 200 {
				t.Fatalf("%s: %d %v", query, st, body)
			}
			page := itemsOf(t, body)
			if len(page) > limit {
				t.Fatalf("page of %d over limit %d", len(page), limit)
			}
			all = append(all, page...)
			next, _ := body["next_cursor"].(string)
			if next == "" {
				return all
			}
			cursor = next
		}
		t.Fatal("paging does not end")
		return nil
	}
	codes := func(items []map[string]any) string {
		var out []string
		for _, it := range items {
			checkSDKItem(t, it)
			out = append(out, it["source_code"].(string))
		}
		return strings.Join(out, " ")
	}
	var want []string
	for i := 0; i < 23; i++ {
		want = append(want, fmt.Sprintf("C%02d", i))
	}
	for _, limit := range []int{1, 7, 23, 1000} {
		if got := codes(pages("", limit)); got != strings.Join(want, " ") {
			t.Fatalf("limit %d: %s", limit, got)
		}
	}
	if st, body := w.call(t, "GET", list, w.readA, ""); st != 200 || len(itemsOf(t, body)) != 23 || body["next_cursor"] != nil {
		t.Fatalf("default page: %d %v", st, body["next_cursor"])
	}

	expect := func(query, wantCodes string) {
		t.Helper()
		if got := codes(pages(query, 4)); got != wantCodes {
			t.Errorf("%s: got %q, want %q", query, got, wantCodes)
		}
	}
	expect("method=unmapped", "C04 C09 C14 C19")
	expect("method=auto,override", "C00 C03 C05 C08 C10 C13 C15 C18 C20")
	expect("status=approved", "C01 C05 C09 C13 C17 C21")
	expect("status=pending", "C00 C02 C04 C06 C08 C10 C12 C14 C16 C18 C20 C22") // null decisions are pending
	expect("min_confidence=0.9", "C20 C21 C22")
	expect("max_confidence=0.1", "C00 C01 C02")
	expect("min_confidence=0.5&max_confidence=0.6&domain=drug", "C11 C13")
	expect("q=glucose%20100%25", "C00 C05 C10 C15 C20")
	expect("q=c1", "C10 C11 C12 C13 C14 C15 C16 C17 C18 C19")
	expect("q=_", "")
	expect("status=rejected&method=manual", "C07")

	for param, query := range map[string]string{
		"status": "status=maybe", "method": "method=memory", "min_confidence": "min_confidence=x", "max_confidence": "max_confidence=2",
		"cursor": "cursor=abc", "limit": "limit=1001",
	} {
		st, body := w.call(t, "GET", list+"?"+query, w.readA, "")
		if st != 422 || !strings.HasPrefix(body["detail"].(string), param) {
			t.Errorf("%s: %d %v", query, st, body)
		}
	}
	if st, body := w.call(t, "GET", list+"?limit=0", w.readA, ""); st != 422 {
		t.Errorf("limit=0: %d %v", st, body)
	}
	if st, body := w.call(t, "GET", list+"?min_confidence=0.8&max_confidence=0.2", w.readA, ""); st != 422 {
		t.Errorf("min above max: %d %v", st, body)
	}
}

// A project with more items than one page is streamed: every item once,
// valid JSON.
func TestConceptSyncPullStreamsLargeProjects(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	const n = 2345
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"source_code": "K%05d", "source_column": "code", "confidence": 0.5}`, i)
	}
	if st, body := w.call(t, "POST", "/api/v1/sync/projects/"+w.pa.ID+"/concept-mappings/bulk", w.writeA, `{"items": [`+strings.Join(items, ",")+`]}`); st != 200 || body["created"].(float64) != n {
		t.Fatalf("push: %d %v", st, body)
	}
	st, body := w.call(t, "GET", "/api/v1/sync/projects/"+w.pa.ID+"/concept-mappings", w.readA, "")
	if st != 200 {
		t.Fatalf("pull: %d", st)
	}
	seen := map[string]bool{}
	for _, it := range itemsOf(t, body) {
		seen[it["source_code"].(string)] = true
	}
	if len(seen) != n || len(itemsOf(t, body)) != n {
		t.Fatalf("pulled %d distinct of %d items, want %d", len(seen), len(itemsOf(t, body)), n)
	}
}

// The push's 422 details, word for word, as the SDK shows them.
func TestConceptSyncPushDetails(t *testing.T) {
	t.Parallel()
	w := newItemsWorld(t, 0)
	push := "/api/v1/sync/projects/" + w.pa.ID + "/concept-mappings/bulk"
	for body, detail := range map[string]string{
		`{}`: "items is required: an array of concept mapping items ([] for none)",
		`{"items": [{"source_code": "x"}, {"source_code": "y", "revision": 0}]}`: "items[1].revision: must be a revision this server returned (1 or more)",
		`{"items": [{"method": "auto"}]}`:                                        "items[0].source_code: required, a non-empty string or a number",
	} {
		if st, got := w.call(t, "POST", push, w.writeA, body); st != 422 || got["detail"] != detail {
			t.Errorf("%s: %d %v, want detail %q", body, st, got, detail)
		}
	}
}

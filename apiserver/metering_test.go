package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

// meteredWorld is the API of synchronous mapping, projects and billing
// over one real PostgreSQL database and a real billing.Service, as
// cmd/portiere composes them: a free-plan organization (10 mapped items a
// month, 2 projects) whose owner holds a write key.
type meteredWorld struct {
	s       *apiserver.Server
	tenants *tenancystore.Store
	org     tenancy.Organization
	key     string
}

// meteredPlans is the catalog with a small free plan.
func meteredPlans() map[string]billing.Plan {
	p := billing.Plans()
	p[billing.PlanFree] = billing.Plan{Name: billing.PlanFree, Quotas: map[billing.Meter]int64{
		billing.ConceptSearches: 100, billing.MappedItems: 10, billing.Projects: 2, billing.Seats: 5,
	}}
	return p
}

func newMeteredWorld(t *testing.T) *meteredWorld {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := &meteredWorld{tenants: tenancystore.New(pool)}
	auth, hasher := itemsAuth(t, w.tenants)
	var err error
	if w.org, err = w.tenants.CreateOrganization(ctx, tenancy.Organization{Name: "Metered", Slug: "metered"}); err != nil {
		t.Fatal(err)
	}
	owner, err := w.tenants.CreateUser(ctx, tenancy.User{Email: "owner@metered.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.tenants.AddMember(ctx, tenancy.Membership{OrganizationID: w.org.ID, UserID: owner.ID, Role: tenancy.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	k := hasher.Issue()
	if _, err := w.tenants.CreateAPIKey(ctx, tenancy.APIKey{OrganizationID: w.org.ID, UserID: owner.ID, Name: "t", Prefix: k.Prefix,
		Hash: k.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}}); err != nil {
		t.Fatal(err)
	}
	w.key = k.Key
	svc := billing.NewService(billingstore.New(pool), billing.Options{Plans: meteredPlans()})
	var live search.Live
	live.Set(search.NewEngine(itemsCorpus(), search.Options{}))
	w.s, err = apiserver.New(apiserver.Config{Auth: auth, Resources: []apiserver.Resource{
		&apiserver.ConceptMapping{Search: &live, Memory: mappingjobstore.New(pool), MaxCodes: 20, Metering: svc},
		&apiserver.ProjectCatalog{Projects: w.tenants, Metering: svc},
		&apiserver.Billing{Billing: svc},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// call sends body with the owner's key and headers (name, value pairs)
// and returns the status, the decoded answer and its raw text.
func (w *meteredWorld) call(t *testing.T, method, path, body string, headers ...string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(method, "/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
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
	return resp.StatusCode, out, string(raw)
}

// used is the meter's count in GET /billing/usage.
func (w *meteredWorld) used(t *testing.T, m billing.Meter) float64 {
	t.Helper()
	st, body, raw := w.call(t, "GET", "/billing/usage", "")
	u, _ := body["usage"].(map[string]any)
	mu, ok := u[string(m)].(map[string]any)
	if st != 200 || !ok {
		t.Fatalf("usage: %d %s", st, raw)
	}
	n, _ := mu["used"].(float64)
	return n
}

// mapBody is a /concepts/map request of n codes.
func mapBody(n int) string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf(`{"code": "C%d", "description": "type 2 diabetes mellitus", "count": 1}`, i)
	}
	return `{"column": "dx", "codes": [` + strings.Join(codes, ",") + `]}`
}

// checkQuotaBody checks a 429 in the SDK's shape for meter m.
func checkQuotaBody(t *testing.T, st int, body map[string]any, raw string, m billing.Meter, used, limit, requested float64) {
	t.Helper()
	if st != 429 {
		t.Fatalf("status %d, want 429: %s", st, raw)
	}
	sameShape(t, raw, "quota_exceeded.json")
	u, _ := body["usage"].(map[string]any)
	if body["error_code"] != "QUOTA_EXCEEDED" || !strings.Contains(fmt.Sprint(body["detail"]), string(m)) ||
		u["meter"] != string(m) || u["plan"] != "free" || u["used"] != used || u["limit"] != limit || u["requested"] != requested {
		t.Fatalf("quota body %s, want meter %s used %v limit %v requested %v", raw, m, used, limit, requested)
	}
}

// TestMapCodesMetersMappedItems: POST /concepts/map counts len(codes)
// mapped_items per request (a client's repeated X-Request-ID merges no
// counts); the request that would cross the quota is refused with the
// SDK's 429 body and counts nothing, and a request that fits exactly is
// still answered. Requests refused before mapping (413) count nothing.
func TestMapCodesMetersMappedItems(t *testing.T) {
	t.Parallel()
	w := newMeteredWorld(t)
	for i, want := range []float64{4, 8} {
		st, body, raw := w.call(t, "POST", "/concepts/map", mapBody(4), "X-Request-ID", "same-id")
		if items, _ := body["items"].([]any); st != 200 || len(items) != 4 {
			t.Fatalf("request %d: %d %s", i, st, raw)
		}
		if got := w.used(t, billing.MappedItems); got != want {
			t.Fatalf("after request %d: mapped_items used %v, want %v (each request counts its codes, whatever its X-Request-ID)", i, got, want)
		}
	}
	if st, _, raw := w.call(t, "POST", "/concepts/map", mapBody(21)); st != 413 {
		t.Fatalf("21 codes (MaxCodes 20): %d %s", st, raw)
	}
	// 8 of 10 used: 3 codes would cross the quota.
	st, body, raw := w.call(t, "POST", "/concepts/map", mapBody(3))
	checkQuotaBody(t, st, body, raw, billing.MappedItems, 8, 10, 3)
	if got := w.used(t, billing.MappedItems); got != 8 {
		t.Fatalf("after the refused request: mapped_items used %v, want 8", got)
	}
	// 2 codes reach it exactly.
	if st, body, raw := w.call(t, "POST", "/concepts/map", mapBody(2)); st != 200 || len(body["items"].([]any)) != 2 {
		t.Fatalf("2 codes within the quota: %d %s", st, raw)
	}
	if got := w.used(t, billing.MappedItems); got != 10 {
		t.Fatalf("mapped_items used %v, want 10", got)
	}
	st, body, raw = w.call(t, "POST", "/concepts/map", mapBody(1))
	checkQuotaBody(t, st, body, raw, billing.MappedItems, 10, 10, 1)
	if got := w.used(t, billing.MappedItems); got != 10 {
		t.Fatalf("at the quota: mapped_items used %v, want 10", got)
	}
}

// TestCreateProjectPastProjectQuota: on a plan of 2 projects the third
// POST /projects is a 429 QUOTA_EXCEEDED (meter projects) and creates
// nothing; deleting a project frees its place.
func TestCreateProjectPastProjectQuota(t *testing.T) {
	t.Parallel()
	w := newMeteredWorld(t)
	var ids []string
	for _, name := range []string{"labs", "wards"} {
		st, body, raw := w.call(t, "POST", "/projects", `{"name":"`+name+`"}`)
		if st != 201 {
			t.Fatalf("create %s: %d %s", name, st, raw)
		}
		ids = append(ids, body["id"].(string))
	}
	st, body, raw := w.call(t, "POST", "/projects", `{"name":"pharmacy"}`)
	checkQuotaBody(t, st, body, raw, billing.Projects, 2, 2, 1)
	ps, err := w.tenants.Projects(context.Background(), w.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("%d projects after the refused create, want 2: %+v", len(ps), ps)
	}
	if got := w.used(t, billing.Projects); got != 2 {
		t.Fatalf("projects used %v, want 2", got)
	}
	if st, _, raw := w.call(t, "DELETE", "/projects/"+ids[0], ""); st != 200 && st != 204 {
		t.Fatalf("delete: %d %s", st, raw)
	}
	if st, _, raw := w.call(t, "POST", "/projects", `{"name":"pharmacy"}`); st != 201 {
		t.Fatalf("create after a delete: %d %s", st, raw)
	}
}

package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/apiserver/openapi"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/workflows"
)

// probe is a resource whose handlers answer with the principal or with the
// error a query parameter names.
type probe struct{}

func (probe) Routes(r *apiserver.Router) {
	r.Add(fiber.MethodGet, "/probe/public", openapi.Operation{Summary: "public"}, func(c *fiber.Ctx) error {
		_, ok := apiserver.PrincipalFrom(c.UserContext())
		return c.JSON(fiber.Map{"authenticated": ok})
	})
	g := r.Group("/probe").Protected()
	g.Add(fiber.MethodGet, "/me", openapi.Operation{Summary: "me"}, func(c *fiber.Ctx) error {
		p, _ := apiserver.PrincipalFrom(c.UserContext())
		return c.JSON(fiber.Map{"organization": p.OrganizationID, "role": p.Role, "operator": p.Operator})
	})
	errs := map[string]error{
		"tenancy-not-found": tenancy.ErrNotFound, "mapping-not-found": mappingjob.ErrNotFound, "concept-not-found": vocab.ErrNotFound,
		"workflow-not-found": workflows.ErrNotFound, "invalid": tenancy.ErrInvalid, "conflict": tenancy.ErrConflict,
		"forbidden": tenancy.ErrForbidden, "unavailable": workflows.ErrUnavailable, "other": fmt.Errorf("disk on fire at /var/lib"),
	}
	g.Add(fiber.MethodGet, "/error/:kind", openapi.Operation{Summary: "error"}, func(c *fiber.Ctx) error {
		return fmt.Errorf("probe: %w", errs[c.Params("kind")])
	})
}

// authServer is the probe and the workflow routes behind the real
// authenticator, with a member's write key of one organization.
func authServer(t *testing.T) (s *apiserver.Server, member string, org tenancy.Organization) {
	t.Helper()
	k := newTenants(t, dbtest.New(t))
	org = k.org(t, "probe-org")
	member = k.key(t, org.ID, k.member(t, org.ID, tenancy.RoleMember).ID, credential.ScopeWrite)
	s = k.server(t, probe{}, &apiserver.WorkflowRuns{Workflows: &fakeWorkflows{running: map[string]workflows.Run{}}})
	return s, member, org
}

func TestAuthenticatorResolvesPrincipals(t *testing.T) {
	t.Parallel()
	s, member, org := authServer(t)
	for _, c := range []struct {
		header, value string
		path          string
		status        int
		body          string
	}{
		{"", "", "/api/v1/probe/public", 200, `{"authenticated":false}`},
		{"", "", "/api/v1/probe/me", 401, `{"detail":"credentials required: send Authorization: Bearer \u003ctoken or API key\u003e or X-Portiere-API-Key"}`},
		{"X-Portiere-API-Key", "pt_wrong", "/api/v1/probe/me", 401, ""},
		{"X-Portiere-API-Key", "not-a-key", "/api/v1/probe/me", 401, ""},
		{"X-Portiere-API-Key", member, "/api/v1/probe/me", 200, `{"operator":false,"organization":"` + org.ID + `","role":"member"}`},
		{"Authorization", "Bearer " + member, "/api/v1/probe/me", 200, `{"operator":false,"organization":"` + org.ID + `","role":"member"}`},
		{"Authorization", "Bearer " + adminToken, "/api/v1/probe/me", 200, `{"operator":true,"organization":"","role":""}`},
		{"Authorization", "Bearer " + adminToken + "x", "/api/v1/probe/me", 401, ""},
		// A member is authenticated but the workflows are the operator's.
		{"X-Portiere-API-Key", member, "/api/v1/workflows/index-build", 403, ""},
		// The operator gets through (no such workflow is running).
		{"Authorization", "Bearer " + adminToken, "/api/v1/workflows/index-build", 404, `{"detail":"workflows: no such workflow"}`},
	} {
		req := httptest.NewRequest("GET", c.path, nil)
		if c.header != "" {
			req.Header.Set(c.header, c.value)
		}
		res, body := do(t, s, req)
		if res.StatusCode != c.status || (c.body != "" && string(body) != c.body) || (res.StatusCode >= 400 && !strings.Contains(string(body), `"detail"`)) {
			t.Errorf("%s %s=%q: %d %s, want %d %s", c.path, c.header, c.value, res.StatusCode, body, c.status, c.body)
		}
	}
}

func TestDomainErrorsMapToStatusByKind(t *testing.T) {
	t.Parallel()
	s, member, _ := authServer(t)
	for kind, want := range map[string]int{
		"tenancy-not-found": 404, "mapping-not-found": 404, "concept-not-found": 404, "workflow-not-found": 404,
		"invalid": 422, "conflict": 409, "forbidden": 403, "unavailable": 503, "other": 500,
	} {
		req := httptest.NewRequest("GET", "/api/v1/probe/error/"+kind, nil)
		req.Header.Set("X-Portiere-API-Key", member)
		res, body := do(t, s, req)
		var e struct{ Detail string }
		if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != want || e.Detail == "" {
			t.Errorf("%s: %d %s, want %d with a detail", kind, res.StatusCode, body, want)
		}
		if want >= 500 && strings.Contains(e.Detail, "/var/lib") {
			t.Errorf("%s: internal detail leaked: %s", kind, e.Detail)
		}
	}
}

// Protected operations are marked as needing credentials in the OpenAPI
// document; public ones are not.
func TestOpenAPIMarksProtectedOperations(t *testing.T) {
	t.Parallel()
	s, _, _ := authServer(t)
	type operation struct {
		Security  []any          `json:"security"`
		Responses map[string]any `json:"responses"`
	}
	var raw struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(s.Spec(), &raw); err != nil {
		t.Fatal(err)
	}
	doc := struct {
		Paths map[string]map[string]operation
	}{Paths: map[string]map[string]operation{}}
	for p, ops := range raw.Paths {
		doc.Paths[p] = map[string]operation{}
		for m, b := range ops {
			var op operation
			if m != "parameters" && json.Unmarshal(b, &op) == nil {
				doc.Paths[p][m] = op
			}
		}
	}
	if op := doc.Paths["/api/v1/probe/me"]["get"]; len(op.Security) == 0 || op.Responses["401"] == nil {
		t.Errorf("protected operation %+v", op)
	}
	if op := doc.Paths["/api/v1/probe/public"]["get"]; len(op.Security) != 0 {
		t.Errorf("public operation marked protected: %+v", op)
	}
	if op := doc.Paths["/api/v1/workflows/{id}"]["get"]; len(op.Security) == 0 {
		t.Errorf("workflow state not marked protected: %+v", op)
	}
}

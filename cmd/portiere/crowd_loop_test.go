package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/platform/line/linetest"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/workflows"
)

// TestCrowdLoopThroughTheComposition runs the crowd's loop on the
// production composition (openBackends, api(), activities() on a worker),
// configured from the environment as `portiere api`/`worker` are: an
// organization sends an item to the crowd over the API, two approved
// mappers (MAPPER_CONSENSUS_MIN_VOTES=2) onboarded to Stripe Connect vote
// to consensus, the item reads back with method crowd, and an admin's
// payout batch pays each mapper once through Stripe (stripe-mock behind a
// recording proxy) and tells them on LINE (a local Messaging API).
func TestCrowdLoopThroughTheComposition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := startTemporal(t)

	target, err := url.Parse(stripetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	transfers := map[string]string{} // idempotency key → destination
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/transfers" {
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			transfers[r.Header.Get("Idempotency-Key")] = form.Get("destination")
			mu.Unlock()
		}
		req, _ := http.NewRequest(r.Method, target.String()+r.URL.RequestURI(), strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	defer stripe.Close()
	msgs, lineURL := linetest.StartMessaging(t, "line-token")

	setDBEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", dev.FrontendHostPort())
	t.Setenv("API_KEY_SALT", "crowd-salt-crowd-salt-crowd-salt-crowd-salt")
	t.Setenv("JWT_SECRET", "crowd-jwt-secret-crowd-jwt-secret-crowd-jwt")
	t.Setenv("EMBEDDING_MODEL", "hash")
	t.Setenv("FAISS_INDEX_PATH", t.TempDir()+"/faiss.index")
	t.Setenv("STRIPE_SECRET_KEY", "sk_test_123")
	t.Setenv("STRIPE_API_URL", stripe.URL)
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
	t.Setenv("LINE_API_BASE_URL", lineURL)
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "line-token")
	t.Setenv("MAPPER_CONSENSUS_MIN_VOTES", "2")
	t.Setenv("MAPPER_PAYOUT_MIN_CENTS", "50")

	out := runOK(t, "", "org", "create", "Crowd Hospital")
	if regexp.MustCompile(`slug crowd-hospital`).FindString(out) == "" {
		t.Fatalf("step org create: %q", out)
	}
	runOK(t, "crowd-owner-password\n", "user", "create", "--org", "crowd-hospital", "--email", "owner@crowd.example", "--role", "owner")
	key := strings.TrimSpace(runOK(t, "", "apikey", "create", "--org", "crowd-hospital", "--user", "owner@crowd.example", "--scope", "write", "--name", "crowd"))

	b := startWorkerStack(t, dev, config.ModeAPI, slog.LevelError)
	baseURL := serveAPI(t, ctx, cancel, b, time.Second)
	api := &loopClient{t: t, base: baseURL + "/api/v1", key: key}

	var project struct {
		ID string `json:"id"`
	}
	api.json("create project", "POST", "/projects", `{"name":"crowd","target_model":"omop_cdm_v5.4"}`, 201, &project)
	// The item a bulk mapping would have proposed, in the review band.
	cands := []mappingjob.Candidate{{ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.62}}
	if err := b.jobs.UpsertItems(ctx, project.ID, []mappingjob.Item{{Source: "dx", Code: "E11.9", Description: "T2DM w/o complications",
		ConceptID: 201826, TargetName: "Type 2 diabetes mellitus", TargetVocabulary: "SNOMED", TargetDomain: "Condition",
		Candidates: cands, Confidence: 0.62, Method: mappingjob.MethodReview}}); err != nil {
		t.Fatalf("step propose: %v", err)
	}
	var sent struct {
		Items []struct {
			ItemID int64  `json:"item_id"`
			TaskID int64  `json:"task_id"`
			State  string `json:"state"`
		} `json:"items"`
	}
	api.json("send the review band to the crowd", "POST", "/projects/"+project.ID+"/crowd/submissions", `{"min_confidence":0.5,"max_confidence":0.9}`, 200, &sent)
	if len(sent.Items) != 1 || sent.Items[0].State != "open" {
		t.Fatalf("step submit: %+v", sent)
	}

	// Two mappers, onboarded to Stripe Connect and approved.
	mappers := mapperstore.New(b.pool)
	var ids []string
	for i := range 2 {
		m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: fmt.Sprintf("U%032x", i+7), DisplayName: fmt.Sprint("mapper ", i),
			Status: mapper.StatusApproved, RatePercent: 100, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		acct, err := b.connect.CreateExpressAccount(ctx, stripeconnect.AccountRequest{Email: fmt.Sprintf("m%d@crowd.example", i), Reference: m.ID, IdempotencyKey: "acct-" + m.ID})
		if err != nil {
			t.Fatalf("step Stripe account: %v", err)
		}
		m.StripeAccountID = acct
		if err := mappers.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		if _, err := b.crowd.Task(ctx, m.ID, sent.Items[0].TaskID); err != nil {
			t.Fatalf("step open task: %v", err)
		}
		if _, err := b.crowd.Vote(ctx, m.ID, sent.Items[0].TaskID, crowd.VoteInput{Action: crowd.ActionApprove}); err != nil {
			t.Fatalf("step vote %d: %v", i, err)
		}
	}
	var items struct {
		Items []struct {
			Method          string         `json:"method"`
			InferenceMethod string         `json:"inference_method"`
			ReviewDecision  string         `json:"review_decision"`
			Provenance      map[string]any `json:"provenance"`
		} `json:"items"`
	}
	api.json("read the item", "GET", "/projects/"+project.ID+"/concept-mappings?method=crowd", "", 200, &items)
	if len(items.Items) != 1 || items.Items[0].ReviewDecision != "approved" || items.Items[0].Provenance["crowd"] == nil {
		t.Fatalf("step item after consensus: %+v", items)
	}
	// The SDK's ConceptMappingMethod has no "crowd": on the wire the
	// approved item keeps the engine's band.
	if sdk := []string{"auto", "review", "manual", "override", "unmapped"}; !slices.Contains(sdk, items.Items[0].Method) ||
		items.Items[0].Method != items.Items[0].InferenceMethod {
		t.Errorf("step item after consensus: method %q (inference %q), want the SDK's enum", items.Items[0].Method, items.Items[0].InferenceMethod)
	}

	// Each mapper earned 20 + round(30 × 0.38) + 10 bonus = 41 cents,
	// under MAPPER_PAYOUT_MIN_CENTS=50: the weekly run would leave them;
	// the admin's batch of these two sets its own minimum.
	run, err := b.workflows.StartPayout(ctx, workflows.PayoutInput{BatchID: "loop", MapperIDs: ids, MinCents: 10})
	if err != nil {
		t.Fatalf("step start payout: %v", err)
	}
	var res workflows.PayoutResult
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := b.temporal.GetWorkflow(wctx, run.WorkflowID, run.RunID).Get(wctx, &res); err != nil {
		t.Fatalf("step payout: %v", err)
	}
	if res.Paid != 2 || res.Cents["usd"] != 82 {
		t.Fatalf("step payout: %+v", res)
	}
	for _, id := range ids {
		bal, err := b.crowd.Balance(ctx, id)
		if err != nil || len(bal) != 1 || bal[0].Cents != 0 {
			t.Errorf("balance of %s after the payout: %+v %v", id, bal, err)
		}
	}
	mu.Lock()
	if len(transfers) != 2 {
		t.Errorf("Stripe received transfers %v, want one per mapper", transfers)
	}
	mu.Unlock()
	if got := msgs.Delivered(); len(got) != 2 || !strings.Contains(got[0].Text, "USD 0.41") {
		t.Errorf("LINE messages %+v", got)
	}
}

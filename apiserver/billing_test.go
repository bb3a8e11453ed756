package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/portiere/portiere/apiserver"
	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/billing/billingstripe"
	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/ratelimit"
	"github.com/portiere/portiere/platform/redistest"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

const webhookSecret = "whsec_billing_test"

// billingWorld is two API replicas on one PostgreSQL, one Redis and one
// stripe-mock (behind a recording proxy), as production runs them.
type billingWorld struct {
	urls   []string // the replicas' base URLs
	pool   *pgxpool.Pool
	store  *tenancystore.Store
	hasher *credential.KeyHasher
	redis  *redistest.Server
	org    tenancy.Organization
	owner  tenancy.User
	member tenancy.User
	stripe *stripeRecorder
}

// stripeRecorder forwards to stripe-mock and records each request's
// method, path and Idempotency-Key.
type stripeRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *stripeRecorder) requests(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.seen {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// testPlans: the free plan allows 5 searches a month and sets no rate
// limit (RATE_LIMIT_PER_MINUTE applies, like the demo organization's).
func testPlans() map[string]billing.Plan {
	p := billing.Plans()
	p[billing.PlanFree] = billing.Plan{Name: billing.PlanFree, Quotas: map[billing.Meter]int64{
		billing.ConceptSearches: 5, billing.MappedItems: 100, billing.Projects: 2, billing.Seats: 2,
	}}
	return p
}

func newBillingWorld(t *testing.T, rateLimit int) *billingWorld {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := &billingWorld{pool: pool, store: tenancystore.New(pool), redis: redistest.Start(t), stripe: &stripeRecorder{}}
	var err error
	if w.hasher, err = credential.NewKeyHasher(testSalt); err != nil {
		t.Fatal(err)
	}
	if w.org, err = w.store.CreateOrganization(ctx, tenancy.Organization{Name: "Acme", Slug: "acme"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		user *tenancy.User
		role tenancy.Role
	}{{&w.owner, tenancy.RoleOwner}, {&w.member, tenancy.RoleMember}} {
		if *u.user, err = w.store.CreateUser(ctx, tenancy.User{Email: string(u.role) + "@acme.example"}); err != nil {
			t.Fatal(err)
		}
		if _, err = w.store.AddMember(ctx, tenancy.Membership{OrganizationID: w.org.ID, UserID: u.user.ID, Role: u.role}); err != nil {
			t.Fatal(err)
		}
	}
	target, _ := url.Parse(stripetest.URL(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	stripeSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.stripe.mu.Lock()
		w.stripe.seen = append(w.stripe.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key"))
		w.stripe.mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(stripeSrv.Close)

	b := corpusBuilder()
	var live search.Live
	live.Set(search.NewEngine(b.Build(), search.Options{}))
	for range 2 {
		tokens, err := credential.NewTokenService(testJWTSecret, w.store.Keys())
		if err != nil {
			t.Fatal(err)
		}
		a, err := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: w.store.Keys(), Hasher: w.hasher, Tokens: tokens})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		payments, err := billingstripe.New(billingstripe.Config{
			SecretKey: "sk_test_123", WebhookSecret: webhookSecret, URL: stripeSrv.URL,
			Prices:       map[string]string{billing.PlanPro: "price_pro", billing.PlanEnterprise: "price_ent"},
			MeteredPrice: "price_items", MeterEvent: "portiere_mapped_items",
		})
		if err != nil {
			t.Fatal(err)
		}
		svc := billing.NewService(billingstore.New(pool), billing.Options{Payments: payments, Plans: testPlans()})
		limiter := &ratelimit.Fallback{Primary: ratelimit.NewRedis(w.redis.Client(), "portiere:ratelimit:"), Secondary: ratelimit.NewMemory(nil), Cooldown: 100 * time.Millisecond}
		s, err := apiserver.New(apiserver.Config{
			Version: "t", Auth: a,
			Dependencies: []apiserver.Dependency{apiserver.RedisDependency(w.redis.Client())},
			RateLimit:    &apiserver.RateLimit{Limiter: limiter, Default: rateLimit, Plans: svc},
			Resources: []apiserver.Resource{
				&apiserver.ConceptSearch{Search: &live, Metering: svc},
				&apiserver.Billing{Billing: svc, Payments: true, DefaultRateLimit: rateLimit},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(sctx, ln, 5*time.Second) }()
		t.Cleanup(func() { stop(); <-done })
		w.urls = append(w.urls, "http://"+ln.Addr().String())
	}
	return w
}

// corpusBuilder is a one-concept vocabulary: enough to search.
func corpusBuilder() *search.CorpusBuilder {
	b := search.NewCorpusBuilder()
	b.AddConcept(search.Concept{ID: 201826, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"})
	return b
}

func (w *billingWorld) key(t *testing.T, user string) string {
	t.Helper()
	k := w.hasher.Issue()
	if _, err := w.store.CreateAPIKey(context.Background(), tenancy.APIKey{OrganizationID: w.org.ID, UserID: user, Name: "t", Prefix: k.Prefix,
		Hash: k.Hash.String(), Scopes: []string{string(credential.ScopeWrite)}}); err != nil {
		t.Fatal(err)
	}
	return k.Key
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}

func call(t *testing.T, method, url string, headers map[string]string, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(raw), body: map[string]any{}}
	json.Unmarshal(raw, &r.body)
	return r
}

// TestRateLimitAcrossReplicas: with RATE_LIMIT_PER_MINUTE=12, 30
// concurrent requests of one key spread over two API replicas sharing one
// Redis get exactly 12 answers and 18 refusals (429 with Retry-After; the
// next request is allowed 5 s later, far more than the burst takes);
// every answer carries the X-RateLimit headers; another key has its own
// allowance.
func TestRateLimitAcrossReplicas(t *testing.T) {
	w := newBillingWorld(t, 12)
	key := w.key(t, w.owner.ID)
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := call(t, "GET", w.urls[i%2]+"/api/v1/billing/subscription", bearer(key), "")
			if r.header.Get("X-RateLimit-Limit") != "12" || r.header.Get("X-RateLimit-Remaining") == "" || r.header.Get("X-RateLimit-Reset") == "" {
				t.Errorf("headers %v", r.header)
			}
			switch r.status {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
				sameShape(t, r.raw, "rate_limited.json")
				if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 5 {
					t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
				}
				if !strings.Contains(r.body["detail"].(string), "rate limit") || r.body["error_code"] != nil || r.header.Get("X-RateLimit-Remaining") != "0" {
					t.Errorf("429 body %s", r.raw)
				}
			default:
				t.Errorf("%d %s", r.status, r.raw)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 12 || limited.Load() != 18 {
		t.Fatalf("%d allowed, %d limited; want 12 and 18", ok.Load(), limited.Load())
	}
	r := call(t, "GET", w.urls[0]+"/api/v1/billing/subscription", bearer(w.key(t, w.owner.ID)), "")
	if r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "11" {
		t.Fatalf("another key: %d %v", r.status, r.header)
	}
	// A plan with a limit of its own replaces the default (pro: 600).
	pro, err := w.store.CreateOrganization(context.Background(), tenancy.Organization{Name: "Pro", Slug: "pro-org", Plan: billing.PlanPro})
	if err != nil {
		t.Fatal(err)
	}
	k := w.hasher.Issue()
	if _, err := w.store.CreateAPIKey(context.Background(), tenancy.APIKey{OrganizationID: pro.ID, Name: "t", Prefix: k.Prefix, Hash: k.Hash.String(), Scopes: []string{"write"}}); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", w.urls[1]+"/api/v1/billing/usage", bearer(k.Key), ""); r.status != 200 || r.header.Get("X-RateLimit-Limit") != "600" || r.body["plan"] != "pro" {
		t.Fatalf("pro organization: %d %v %s", r.status, r.header, r.raw)
	}
}

// TestRedisDownFailsOpen: with Redis stopped the API keeps answering
// (limited per replica), and readiness stays 200 naming Redis as degraded.
func TestRedisDownFailsOpen(t *testing.T) {
	w := newBillingWorld(t, 3)
	key := w.key(t, w.owner.ID)
	if r := call(t, "GET", w.urls[0]+"/health/ready", nil, ""); r.status != 200 || fmt.Sprint(r.body["degraded"]) != "[]" {
		t.Fatalf("ready with Redis: %d %s", r.status, r.raw)
	}
	w.redis.Stop()
	for i := range 3 {
		if r := call(t, "GET", w.urls[0]+"/api/v1/billing/usage", bearer(key), ""); r.status != 200 {
			t.Fatalf("request %d with Redis down: %d %s", i, r.status, r.raw)
		}
	}
	if r := call(t, "GET", w.urls[0]+"/api/v1/billing/usage", bearer(key), ""); r.status != 429 {
		t.Fatalf("the replica's own limit: %d %s", r.status, r.raw)
	}
	r := call(t, "GET", w.urls[0]+"/health/ready", nil, "")
	if r.status != 200 || fmt.Sprint(r.body["degraded"]) != "[redis]" || r.body["checks"].(map[string]any)["redis"].(map[string]any)["status"] != "degraded" {
		t.Fatalf("ready with Redis down: %d %s", r.status, r.raw)
	}
}

// TestQuotaExceeded: the free plan allows 5 searches a month; of 8
// concurrent searches on two replicas exactly 5 are answered and 3 refused
// with the SDK's body (429 error_code QUOTA_EXCEEDED, detail, usage).
// Anonymous searches are not metered.
func TestQuotaExceeded(t *testing.T) {
	w := newBillingWorld(t, 100)
	key := w.key(t, w.member.ID)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, "POST", w.urls[i%2]+"/api/v1/concepts/search", map[string]string{credential.HeaderAPIKey: key}, `{"query":"type 2 diabetes","vocabulary":null,"domain":null,"limit":5}`)
			switch r.status {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
				sameShape(t, r.raw, "quota_exceeded.json")
				u, _ := r.body["usage"].(map[string]any)
				if r.body["error_code"] != "QUOTA_EXCEEDED" || !strings.Contains(fmt.Sprint(r.body["detail"]), "concept_searches") ||
					u["meter"] != "concept_searches" || u["used"] != 5.0 || u["limit"] != 5.0 || u["plan"] != "free" || u["period_end"] == "" {
					t.Errorf("quota body %s", r.raw)
				}
			default:
				t.Errorf("%d %s", r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || refused.Load() != 3 {
		t.Fatalf("%d answered, %d refused; want 5 and 3", ok.Load(), refused.Load())
	}
	// Concept search needs credentials (the Cloud API issue): no
	// anonymous search escapes the meter.
	if r := call(t, "POST", w.urls[0]+"/api/v1/concepts/search", nil, `{"query":"type 2 diabetes"}`); r.status != 401 {
		t.Fatalf("anonymous search: %d %v", r.status, r.header)
	}
	if r := call(t, "POST", w.urls[0]+"/api/v1/concepts/search", bearer("pt_sk_bogus"), `{"query":"x"}`); r.status != 401 {
		t.Fatalf("bad key on search: %d %s", r.status, r.raw)
	}
	r := call(t, "GET", w.urls[1]+"/api/v1/billing/usage", bearer(key), "")
	u := r.body["usage"].(map[string]any)
	cs := u["concept_searches"].(map[string]any)
	if r.status != 200 || r.body["plan"] != "free" || cs["used"] != 5.0 || cs["limit"] != 5.0 || cs["remaining"] != 0.0 ||
		u["seats"].(map[string]any)["used"] != 2.0 || u["projects"].(map[string]any)["used"] != 0.0 {
		t.Fatalf("usage %d %s", r.status, r.raw)
	}
	r = call(t, "GET", w.urls[1]+"/api/v1/billing/subscription", bearer(key), "")
	if r.status != 200 || r.body["plan"] != "free" || r.body["status"] != "none" || r.body["rate_limit_per_minute"] != 100.0 ||
		r.body["limits"].(map[string]any)["concept_searches"] != 5.0 {
		t.Fatalf("subscription %d %s", r.status, r.raw)
	}
}

// sameShape checks that body has the keys and JSON types of the sample in
// sdktest/testdata, which the SDK suite (test_sdk_errors.py) feeds to the
// SDK's error mapping; PORTIERE_UPDATE_GOLDEN=1 rewrites the sample.
func sameShape(t *testing.T, body, name string) {
	t.Helper()
	path := filepath.Join("..", "sdktest", "testdata", name)
	if os.Getenv("PORTIERE_UPDATE_GOLDEN") != "" {
		var v any
		json.Unmarshal([]byte(body), &v)
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Error(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	var got, sample any
	json.Unmarshal([]byte(body), &got)
	json.Unmarshal(want, &sample)
	if g, w := shape(got), shape(sample); g != w {
		t.Errorf("429 body %s\nhas the shape %s\nthe SDK suite's sample %s has %s (PORTIERE_UPDATE_GOLDEN=1 rewrites it)", body, g, path, w)
	}
}

// shape is v's keys and JSON types, values left out.
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + shape(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		return "[]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

func signed(t *testing.T, body string, at time.Time, secret string) map[string]string {
	t.Helper()
	h := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
	return map[string]string{"Stripe-Signature": h}
}

func subscriptionEvent(id, typ, org, status, price string, created int64) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"data":{"object":{"id":"sub_1","object":"subscription",
"status":%q,"customer":"cus_acme","metadata":{"organization_id":%q},"current_period_end":%d,
"items":{"object":"list","data":[{"id":"si_flat","price":{"id":%q}},{"id":"si_items","price":{"id":"price_items"}}]}}}}`,
		id, typ, created, status, org, created+30*86400, price)
}

// TestWebhook: bad, missing and old signatures are 400; an event applies
// once however often (and however concurrently) it is delivered; older
// subscription events delivered late do not undo newer ones.
func TestWebhook(t *testing.T) {
	w := newBillingWorld(t, 1000)
	key := w.key(t, w.owner.ID)
	hook := w.urls[0] + "/api/v1/billing/webhook"
	plan := func() (string, string) {
		r := call(t, "GET", w.urls[1]+"/api/v1/billing/subscription", bearer(key), "")
		return fmt.Sprint(r.body["plan"]), fmt.Sprint(r.body["status"])
	}
	now := time.Now()
	up := subscriptionEvent("evt_up", "customer.subscription.updated", w.org.ID, "active", "price_pro", now.Unix()-300)
	for name, h := range map[string]map[string]string{
		"missing":      nil,
		"wrong secret": signed(t, up, now, "whsec_other"),
		"old":          signed(t, up, now.Add(-10*time.Minute), webhookSecret),
	} {
		if r := call(t, "POST", hook, h, up); r.status != 400 || r.body["detail"] == nil {
			t.Errorf("%s signature: %d %s", name, r.status, r.raw)
		}
	}
	if p, _ := plan(); p != "free" {
		t.Fatalf("a refused event changed the plan to %s", p)
	}

	// Ten concurrent deliveries of one event: one applies it.
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, "POST", w.urls[i%2]+"/api/v1/billing/webhook", signed(t, up, time.Now(), webhookSecret), up)
			if r.status != 200 {
				t.Errorf("%d %s", r.status, r.raw)
			}
			if r.body["duplicate"] == false {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Fatalf("%d deliveries applied, want 1", fresh.Load())
	}
	if p, s := plan(); p != "pro" || s != "active" {
		t.Fatalf("after the update: %s %s", p, s)
	}
	var n int
	w.pool.QueryRow(context.Background(), `select count(*) from billing_stripe_events where id = 'evt_up'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d rows for the event", n)
	}
	// Replayed later: acknowledged, changes nothing.
	if r := call(t, "POST", hook, signed(t, up, time.Now(), webhookSecret), up); r.status != 200 || r.body["duplicate"] != true {
		t.Fatalf("replay: %d %s", r.status, r.raw)
	}

	// Out of order: the deletion (newest) arrives before an older upgrade.
	del := subscriptionEvent("evt_del", "customer.subscription.deleted", w.org.ID, "canceled", "price_ent", now.Unix()-100)
	old := subscriptionEvent("evt_ent", "customer.subscription.updated", w.org.ID, "active", "price_ent", now.Unix()-200)
	for _, ev := range []string{del, old} {
		if r := call(t, "POST", hook, signed(t, ev, time.Now(), webhookSecret), ev); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	}
	if p, s := plan(); p != "free" || s != "canceled" {
		t.Fatalf("after deletion then a late older update: %s %s, want free canceled", p, s)
	}
	// A new subscription through Checkout, then its invoices.
	done := fmt.Sprintf(`{"id":"evt_co","object":"event","type":"checkout.session.completed","created":%d,"data":{"object":{"id":"cs_1","object":"checkout.session",
"client_reference_id":%q,"customer":"cus_acme","subscription":"sub_2","metadata":{"plan":"enterprise"}}}}`, now.Unix(), w.org.ID)
	failed := fmt.Sprintf(`{"id":"evt_fail","object":"event","type":"invoice.payment_failed","created":%d,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_acme","subscription":"sub_2"}}}`, now.Unix())
	paid := fmt.Sprintf(`{"id":"evt_paid","object":"event","type":"invoice.paid","created":%d,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_acme","subscription":"sub_2"}}}`, now.Unix())
	for i, step := range []struct{ ev, plan, status string }{{done, "enterprise", "active"}, {failed, "enterprise", "past_due"}, {paid, "enterprise", "active"}} {
		if r := call(t, "POST", hook, signed(t, step.ev, time.Now(), webhookSecret), step.ev); r.status != 200 {
			t.Fatalf("step %d: %d %s", i, r.status, r.raw)
		}
		if p, s := plan(); p != step.plan || s != step.status {
			t.Fatalf("step %d: %s %s, want %s %s", i, p, s, step.plan, step.status)
		}
	}
	// The new subscription's created event (delivered after the checkout
	// event here) brings its metered item: its usage is now reported.
	created := strings.ReplaceAll(subscriptionEvent("evt_created", "customer.subscription.created", w.org.ID, "active", "price_ent", now.Unix()-1), "sub_1", "sub_2")
	if r := call(t, "POST", hook, signed(t, created, time.Now(), webhookSecret), created); r.status != 200 || r.body["duplicate"] != false {
		t.Fatalf("created: %d %s", r.status, r.raw)
	}
	var sub, item, orgPlan string
	w.pool.QueryRow(context.Background(), `select a.stripe_subscription_id, coalesce(a.metered_item_id, ''), o.plan
		from billing_accounts a join organizations o on o.id = a.organization_id where o.id = $1`, w.org.ID).Scan(&sub, &item, &orgPlan)
	if sub != "sub_2" || item != "si_items" || orgPlan != "enterprise" {
		t.Fatalf("after created: subscription %q, metered item %q, plan %q", sub, item, orgPlan)
	}
}

// TestCheckoutAndPortal: admins get Stripe session URLs; the organization
// gets one Stripe customer, created with an idempotency key; members are
// refused; the free plan cannot be bought.
func TestCheckoutAndPortal(t *testing.T) {
	w := newBillingWorld(t, 1000)
	owner := w.key(t, w.owner.ID)
	member := w.key(t, w.member.ID)
	body := `{"plan":"pro","success_url":"https://app.example/ok","cancel_url":"https://app.example/no"}`
	for i := range 2 {
		r := call(t, "POST", w.urls[i]+"/api/v1/billing/checkout", bearer(owner), body)
		if r.status != 200 || r.body["url"] == "" {
			t.Fatalf("checkout: %d %s", r.status, r.raw)
		}
	}
	r := call(t, "POST", w.urls[0]+"/api/v1/billing/portal", bearer(owner), `{"return_url":"https://app.example/billing"}`)
	if r.status != 200 || r.body["url"] == "" {
		t.Fatalf("portal: %d %s", r.status, r.raw)
	}
	if got := w.stripe.requests("POST /v1/customers"); len(got) != 1 || got[0] != "POST /v1/customers customer-"+w.org.ID {
		t.Fatalf("customers created: %v", got)
	}
	for _, s := range w.stripe.requests("POST /v1/checkout/sessions") {
		if !strings.Contains(s, " checkout-"+w.org.ID+"-") {
			t.Fatalf("checkout without an idempotency key: %s", s)
		}
	}
	if r := call(t, "GET", w.urls[0]+"/api/v1/billing/subscription", bearer(owner), ""); r.body["has_payment_account"] != true {
		t.Fatalf("subscription %s", r.raw)
	}
	if r := call(t, "POST", w.urls[0]+"/api/v1/billing/checkout", bearer(member), body); r.status != 403 {
		t.Fatalf("member checkout: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", w.urls[0]+"/api/v1/billing/checkout", bearer(owner), `{"plan":"free","success_url":"https://a/b","cancel_url":"https://a/c"}`); r.status != 422 {
		t.Fatalf("free plan checkout: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", w.urls[0]+"/api/v1/billing/checkout", bearer(owner), `{"plan":"pro","sucess_url":"x"}`); r.status != 422 || !strings.Contains(r.raw, "sucess_url") {
		t.Fatalf("typo in body: %d %s", r.status, r.raw)
	}
}

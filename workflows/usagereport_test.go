package workflows_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/portiere/portiere/billing"
	"github.com/portiere/portiere/billing/billingstore"
	"github.com/portiere/portiere/billing/billingstripe"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
	"github.com/portiere/portiere/workflows"
)

// newBilling is the billing service a worker reports usage with, on
// stripeURL.
func newBilling(pool *pgxpool.Pool, stripeURL string) *billing.Service {
	payments, err := billingstripe.New(billingstripe.Config{
		SecretKey: "sk_test_123", WebhookSecret: "whsec_test", URL: stripeURL,
		Prices:       map[string]string{billing.PlanPro: "price_pro"},
		MeteredPrice: "price_items", MeterEvent: "portiere_mapped_items",
	})
	if err != nil {
		panic(err)
	}
	return billing.NewService(billingstore.New(pool), billing.Options{Payments: payments})
}

// meterEvents records the meter events stripe-mock receives (through a
// proxy that slows each down, so a worker can be killed mid-run).
type meterEvents struct {
	mu       sync.Mutex
	requests map[string]int   // identifier → requests received
	values   map[string]int64 // identifier → value
	keys     map[string]bool  // identifier == Idempotency-Key
}

func recordStripe(t *testing.T, delay time.Duration) (string, *meterEvents) {
	t.Helper()
	target, _ := url.Parse(stripetest.URL(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	m := &meterEvents{requests: map[string]int{}, values: map[string]int64{}, keys: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/billing/meter_events" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			id := form.Get("identifier")
			v, _ := strconv.ParseInt(form.Get("payload[value]"), 10, 64)
			m.mu.Lock()
			m.requests[id]++
			m.values[id] = v
			m.keys[id] = r.Header.Get("Idempotency-Key") == id
			m.mu.Unlock()
			time.Sleep(delay)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, m
}

// meteredOrgs creates n organizations on a metered subscription, the
// i-th with 10*(i+1) mapped items this month, and returns the total.
func meteredOrgs(t *testing.T, pool *pgxpool.Pool, n int) int64 {
	t.Helper()
	ctx := context.Background()
	store := billingstore.New(pool)
	var total int64
	for i := range n {
		o, err := tenancystore.New(pool).CreateOrganization(ctx, tenancy.Organization{Name: fmt.Sprint("org ", i), Slug: fmt.Sprint("org-", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.HandleEvent(ctx, billing.Event{ID: "evt_" + o.ID, OrganizationID: o.ID}, func(a billing.Account) (billing.Account, bool) {
			a.Plan, a.Status, a.StripeCustomerID, a.MeteredItemID = billing.PlanPro, "active", "cus_"+strconv.Itoa(i), "si_"+strconv.Itoa(i)
			return a, true
		}); err != nil {
			t.Fatal(err)
		}
		q := int64(10 * (i + 1))
		if _, err := store.AddUsage(ctx, o.ID, billing.MonthStart(time.Now()), billing.MappedItems, q, "chunk-0", billing.Unlimited); err != nil {
			t.Fatal(err)
		}
		total += q
	}
	return total
}

func sentReports(t *testing.T, pool *pgxpool.Pool) (sent, all int) {
	t.Helper()
	pool.QueryRow(context.Background(), `select count(*) filter (where sent_at is not null), count(*) from billing_usage_reports`).Scan(&sent, &all)
	return sent, all
}

// TestKillWorkerMidUsageReport kills the worker process (SIGKILL) while
// it sends usage reports to Stripe (stripe-mock) and starts another: every
// report reaches Stripe with its own identifier exactly once counted
// (a report in flight at the kill may be sent again with the same
// identifier and idempotency key, which Stripe deduplicates), our table
// marks every report sent, and the quantities add up to the usage. A
// second run reports nothing.
func TestKillWorkerMidUsageReport(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := dbtest.New(t)
	const orgs = 64
	total := meteredOrgs(t, pool, orgs)
	stripeURL, rec := recordStripe(t, 250*time.Millisecond)
	queue := "test-usage-kill"
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorkerProcess+"=1", envWorkerDB+"="+pool.Config().ConnString(),
			envWorkerAddr+"="+devServer.FrontendHostPort(), envWorkerQueue+"="+queue, envWorkerStripe+"="+stripeURL)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := startWorker()
	run := startWorkflow(t, tc, queue, "usage-report-kill", workflows.UsageReportWorkflow, workflows.UsageReportInput{SendTimeout: 3 * time.Second})
	waitFor(t, "a quarter of the reports sent", 2*time.Minute, func() bool {
		sent, _ := sentReports(t, pool)
		return sent >= orgs/4
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt, _ := sentReports(t, pool)
	second := startWorker()
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res workflows.UsageReportResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed at %d/%d reports sent; result %+v", killedAt, orgs, res)
	if killedAt >= orgs {
		t.Fatalf("the kill came after the last report")
	}
	sent, all := sentReports(t, pool)
	if sent != orgs || all != orgs || res.Failed != 0 {
		t.Fatalf("%d of %d reports sent (%d expected), result %+v", sent, all, orgs, res)
	}
	var reported int64
	pool.QueryRow(ctx, `select coalesce(sum(quantity), 0) from billing_usage_reports`).Scan(&reported)
	if reported != total {
		t.Fatalf("reports carry %d mapped items, usage is %d", reported, total)
	}
	check := func() {
		t.Helper()
		rows, err := pool.Query(ctx, `select id, quantity from billing_usage_reports`)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for rows.Next() {
			var id string
			var q int64
			rows.Scan(&id, &q)
			ids["usage-report-"+id] = q
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		resent := 0
		for id, q := range ids {
			switch n := rec.requests[id]; {
			case n == 0:
				t.Errorf("report %s never reached Stripe", id)
			case rec.values[id] != q || !rec.keys[id]:
				t.Errorf("report %s: value %d (want %d), idempotency key = identifier: %v", id, rec.values[id], q, rec.keys[id])
			case n > 1:
				resent++
			}
		}
		if len(rec.requests) != len(ids) {
			t.Errorf("Stripe received %d identifiers, we have %d reports", len(rec.requests), len(ids))
		}
		// At most the reports in flight when the worker died go twice
		// (same identifier: counted once by Stripe).
		if resent > 8 {
			t.Errorf("%d reports sent more than once", resent)
		}
		t.Logf("%d identifiers received, %d of them resent after the kill", len(rec.requests), resent)
	}
	check()

	// Nothing new: a second run reports nothing.
	var again workflows.UsageReportResult
	if err := startWorkflow(t, tc, queue, "usage-report-again", workflows.UsageReportWorkflow, workflows.UsageReportInput{}).Get(ctx, &again); err != nil {
		t.Fatal(err)
	}
	if again.Reports != 0 {
		t.Fatalf("second run: %+v", again)
	}
	check()
}

// TestUsageReportSchedule: the worker's schedules include the hourly
// usage report.
func TestUsageReportSchedule(t *testing.T) {
	tc := devTemporal(t)
	ctx := context.Background()
	var usage []workflows.Schedule
	for _, s := range workflows.Schedules() {
		if s.ID == workflows.UsageReportScheduleID {
			usage = append(usage, s)
		}
	}
	if len(usage) != 1 {
		t.Fatalf("%d usage report schedules", len(usage))
	}
	if err := workflows.EnsureSchedules(ctx, tc, usage); err != nil {
		t.Fatal(err)
	}
	h := tc.ScheduleClient().GetHandle(ctx, workflows.UsageReportScheduleID)
	t.Cleanup(func() { h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.Workflow != "UsageReportWorkflow" {
		t.Fatalf("action %#v", d.Schedule.Action)
	}
	times := d.Info.NextActionTimes
	if len(times) < 2 {
		t.Fatalf("next actions %v", times)
	}
	for i, at := range times {
		if at.UTC().Minute() != 5 || (i > 0 && at.Sub(times[i-1]) != time.Hour) {
			t.Errorf("next actions %v: want hourly at :05", times)
			break
		}
	}
}

// TestUsageReportRecordHistory runs one clean report on an in-process
// worker; with PORTIERE_UPDATE_HISTORIES set it saves the history the
// replay test replays.
func TestUsageReportRecordHistory(t *testing.T) {
	tc := devTemporal(t)
	pool := dbtest.New(t)
	total := meteredOrgs(t, pool, 3)
	stripeURL, _ := recordStripe(t, 0)
	acts := newActivities(pool, "")
	acts.Billing = newBilling(pool, stripeURL)
	queue := inProcessWorker(t, tc, acts)
	run := startWorkflow(t, tc, queue, "usage-report-history", workflows.UsageReportWorkflow, workflows.UsageReportInput{})
	var res workflows.UsageReportResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Reports != 3 || res.Quantity != total || res.Failed != 0 {
		t.Fatalf("%+v, want 3 reports of %d", res, total)
	}
	if os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
		saveHistory(t, tc, "usage-report-history", run.GetRunID(), "usagereport.json")
	}
}

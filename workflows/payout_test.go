package workflows_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/activities"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/crowd/crowdstore"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/line/linetest"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/platform/stripeconnect"
	"github.com/portiere/portiere/platform/stripemock/stripetest"
	"github.com/portiere/portiere/workflows"
)

// Worker-process settings of the payout tests.
const (
	envWorkerConnect = "PORTIERE_TEST_WORKER_CONNECT" // the Stripe Connect URL: the worker pays mappers
	envWorkerLine    = "PORTIERE_TEST_WORKER_LINE"    // the LINE Messaging API URL
)

// payoutWorkerOptions gives a worker process (or an in-process worker)
// the crowd service, Stripe Connect at connectURL and LINE at lineURL.
func payoutWorkerOptions(pool *pgxpool.Pool, acts *activities.Activities, connectURL, lineURL string) error {
	svc, err := crowd.NewService(crowdstore.New(pool), mapperstore.New(pool), mappingjobstore.New(pool), crowd.Config{})
	if err != nil {
		return err
	}
	sc, err := stripeconnect.New(stripeconnect.Config{SecretKey: "sk_test_123", URL: connectURL, NetworkRetries: -1})
	if err != nil {
		return err
	}
	acts.Crowd, acts.Transfers, acts.PayoutMinCents = svc, sc, 1000
	if lineURL != "" {
		p, err := line.NewPusher(line.PusherOptions{BaseURL: lineURL, Token: "line-token"})
		if err != nil {
			return err
		}
		acts.Notifier = p
	}
	return nil
}

// stripeConnect stands in front of stripe-mock as Stripe behaves for
// transfers: the first request with an idempotency key goes through (held
// for delay, so a worker can be killed while transfers are in flight) and
// its answer is kept; a repeated key gets the kept answer and never
// reaches stripe-mock. Destination "acct_refused" is refused with a 400.
type stripeConnect struct {
	mu       sync.Mutex
	keys     map[string]*sync.Mutex
	answers  map[string]keptAnswer
	reached  map[string]int    // idempotency key → requests forwarded to stripe-mock
	received map[string]int    // idempotency key → requests received
	dest     map[string]string // idempotency key → destination
	amount   map[string]string
	inflight int // transfers being held
}

type keptAnswer struct {
	status int
	body   []byte
}

func startStripeConnect(t *testing.T, delay time.Duration) (*stripeConnect, string) {
	t.Helper()
	target, err := url.Parse(stripetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &stripeConnect{keys: map[string]*sync.Mutex{}, answers: map[string]keptAnswer{}, reached: map[string]int{},
		received: map[string]int{}, dest: map[string]string{}, amount: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/transfers" || key == "" {
			s.forward(w, r, target, body)
			return
		}
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.received[key]++
		s.dest[key], s.amount[key] = form.Get("destination"), form.Get("amount")
		lock := s.keys[key]
		if lock == nil {
			lock = &sync.Mutex{}
			s.keys[key] = lock
		}
		s.mu.Unlock()
		lock.Lock()
		defer lock.Unlock()
		s.mu.Lock()
		kept, ok := s.answers[key]
		s.mu.Unlock()
		if ok {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(kept.status)
			w.Write(kept.body)
			return
		}
		s.mu.Lock()
		s.inflight++
		s.mu.Unlock()
		time.Sleep(delay)
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
		var status int
		var out []byte
		if form.Get("destination") == "acct_refused" {
			status, out = http.StatusBadRequest, []byte(`{"error": {"type": "invalid_request_error", "code": "account_invalid", "message": "The destination account cannot receive transfers"}}`)
		} else {
			status, out = s.send(r, target, body)
			s.mu.Lock()
			s.reached[key]++
			s.mu.Unlock()
		}
		s.mu.Lock()
		s.answers[key] = keptAnswer{status, out}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *stripeConnect) send(r *http.Request, target *url.URL, body []byte) (int, []byte) {
	req, _ := http.NewRequest(r.Method, target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, []byte(`{"error": {"message": "proxy"}}`)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (s *stripeConnect) forward(w http.ResponseWriter, r *http.Request, target *url.URL, body []byte) {
	status, out := s.send(r, target, body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// payee is a mapper with a balance.
type payee struct {
	mapper.Mapper
	cents int64
}

// payees creates approved mappers, the i-th with balance cents[i] (from
// vote rewards) and Stripe account accounts[i] ("" for none).
func payees(t *testing.T, pool *pgxpool.Pool, cents []int64, accounts []string) []payee {
	t.Helper()
	ctx := context.Background()
	ms, store := mapperstore.New(pool), crowdstore.New(pool)
	var out []payee
	for i, c := range cents {
		m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: fmt.Sprintf("U%032x", i+1), DisplayName: fmt.Sprint("payee ", i),
			Status: mapper.StatusApproved, RatePercent: 100, StripeAccountID: accounts[i], CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := ms.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		// Rewards of several votes, so the payout pays many entries.
		var entries []crowd.Entry
		for left, task := c, int64(1); left > 0; task++ {
			v := min(left, 400)
			entries = append(entries, crowd.Entry{MapperID: m.ID, Currency: "usd", Kind: crowd.EntryVoteReward, Cents: v, TaskID: task})
			left -= v
		}
		if err := store.Append(ctx, entries); err != nil {
			t.Fatal(err)
		}
		out = append(out, payee{m, c})
	}
	return out
}

type ledgerState struct {
	balance int64
	debits  int // payout entries
	credits int // reversal entries
	paid    int // payouts paid
	failed  int
	open    int
	keys    []string
}

func ledgerOf(t *testing.T, pool *pgxpool.Pool, mapperID string) ledgerState {
	t.Helper()
	ctx := context.Background()
	var s ledgerState
	if err := pool.QueryRow(ctx, `select coalesce(sum(cents), 0)::bigint, count(*) filter (where kind = 'payout'), count(*) filter (where kind = 'payout_reversal')
		from crowd_ledger where mapper_id = $1`, mapperID).Scan(&s.balance, &s.debits, &s.credits); err != nil {
		t.Fatal(err)
	}
	var bal int64
	if err := pool.QueryRow(ctx, `select coalesce((select cents from crowd_balances where mapper_id = $1 and currency = 'usd'), 0)`, mapperID).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if bal != s.balance {
		t.Errorf("mapper %s: running balance %d, ledger sum %d", mapperID, bal, s.balance)
	}
	rows, err := pool.Query(ctx, `select status, idempotency_key from crowd_payouts where mapper_id = $1 order by created_at`, mapperID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st, key string
		rows.Scan(&st, &key)
		switch st {
		case "paid":
			s.paid++
		case "failed":
			s.failed++
		default:
			s.open++
		}
		s.keys = append(s.keys, key)
	}
	return s
}

// TestPayoutWorkflow pays on an in-process worker: a mapper above the
// minimum with an account is paid once and told on LINE; one below the
// minimum and one without account are left alone; one whose account
// Stripe refuses gets the payout failed and the balance credited back,
// and is told. A second run pays nobody twice.
func TestPayoutWorkflow(t *testing.T) {
	tc := devTemporal(t)
	pool := dbtest.New(t)
	stripe, stripeURL := startStripeConnect(t, 0)
	msgs, lineURL := linetest.StartMessaging(t, "line-token")
	ps := payees(t, pool, []int64{1500, 500, 2000, 3000}, []string{"acct_1", "acct_2", "acct_refused", ""})
	acts := newActivities(pool, "")
	if err := payoutWorkerOptions(pool, acts, stripeURL, lineURL); err != nil {
		t.Fatal(err)
	}
	queue := inProcessWorker(t, tc, acts)
	run := startWorkflow(t, tc, queue, "payout-history", workflows.PayoutWorkflow, workflows.PayoutInput{BatchID: "b1"})
	var res workflows.PayoutResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Paid != 1 || res.Failed != 1 || res.Pending != 0 || res.Cents["usd"] != 1500 || res.BatchID != "b1" {
		t.Fatalf("result %+v", res)
	}
	want := []ledgerState{
		{balance: 0, debits: 1, paid: 1},
		{balance: 500},
		{balance: 2000, debits: 1, credits: 1, failed: 1},
		{balance: 3000},
	}
	for i, p := range ps {
		got := ledgerOf(t, pool, p.ID)
		got.keys = nil
		if fmt.Sprint(got) != fmt.Sprint(want[i]) {
			t.Errorf("payee %d: %+v, want %+v", i, got, want[i])
		}
	}
	k := ledgerOf(t, pool, ps[0].ID).keys[0]
	if stripe.reached[k] != 1 || stripe.dest[k] != "acct_1" || stripe.amount[k] != "1500" || !strings.HasPrefix(k, "payout-"+ps[0].ID+"-usd-through-") {
		t.Fatalf("transfer %s: reached %d, destination %s, amount %s", k, stripe.reached[k], stripe.dest[k], stripe.amount[k])
	}
	got := msgs.Delivered()
	if len(got) != 2 {
		t.Fatalf("LINE messages %+v", got)
	}
	for _, m := range got {
		switch m.To {
		case ps[0].LineUserID:
			if !strings.Contains(m.Text, "USD 15.00") || !strings.Contains(m.Text, "tr_") {
				t.Errorf("paid message %q", m.Text)
			}
		case ps[2].LineUserID:
			if !strings.Contains(m.Text, "could not be sent") {
				t.Errorf("failed message %q", m.Text)
			}
		default:
			t.Errorf("message to %s", m.To)
		}
	}
	if os.Getenv("PORTIERE_UPDATE_HISTORIES") != "" {
		saveHistory(t, tc, "payout-history", run.GetRunID(), "payout.json")
	}

	// A second batch: payee 0 has nothing left; payee 2 is tried again
	// (and refused again); nobody is paid twice.
	run = startWorkflow(t, tc, queue, "payout-again", workflows.PayoutWorkflow, workflows.PayoutInput{BatchID: "b2"})
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Paid != 0 || res.Failed != 1 {
		t.Fatalf("second run %+v", res)
	}
	if s := ledgerOf(t, pool, ps[0].ID); s.paid != 1 || s.debits != 1 || s.balance != 0 {
		t.Fatalf("payee 0 after the second run: %+v", s)
	}
	// An admin's batch of one selected mapper at a lower minimum.
	run = startWorkflow(t, tc, queue, "payout-admin", workflows.PayoutWorkflow, workflows.PayoutInput{BatchID: "b3", MapperIDs: []string{ps[1].ID}, MinCents: 100})
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Paid != 1 || res.Cents["usd"] != 500 {
		t.Fatalf("admin batch %+v", res)
	}
	if s := ledgerOf(t, pool, ps[3].ID); s.balance != 3000 || len(s.keys) != 0 {
		t.Fatalf("the mapper without account: %+v", s)
	}
}

// TestKillWorkerMidPayout kills the worker process (SIGKILL) while it
// sends a payout batch's transfers (each held 300 ms at the Stripe
// stand-in) and starts another: every eligible mapper is paid exactly
// once — one paid payout, one ledger debit, balance 0 in our ledger; one
// idempotency key per mapper, and exactly one transfer request per key
// reached stripe-mock (the repeats a dead worker's retried attempts sent
// were answered from the key, as Stripe does).
func TestKillWorkerMidPayout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	tc := devTemporal(t)
	pool := dbtest.New(t)
	const n = 32
	cents, accounts := make([]int64, n+1), make([]string, n+1)
	for i := range n {
		cents[i], accounts[i] = int64(1000+37*i), fmt.Sprintf("acct_%d", i)
	}
	cents[n] = 900 // below the minimum: never paid
	accounts[n] = "acct_low"
	ps := payees(t, pool, cents, accounts)
	stripe, stripeURL := startStripeConnect(t, 300*time.Millisecond)
	queue := "test-payout-kill"
	startWorker := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorkerProcess+"=1", envWorkerDB+"="+pool.Config().ConnString(),
			envWorkerAddr+"="+devServer.FrontendHostPort(), envWorkerQueue+"="+queue, envWorkerConnect+"="+stripeURL)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	paid := func() int {
		var c int
		pool.QueryRow(context.Background(), `select count(*) from crowd_payouts where status = 'paid'`).Scan(&c)
		return c
	}
	first := startWorker()
	run := startWorkflow(t, tc, queue, "payout-kill", workflows.PayoutWorkflow, workflows.PayoutInput{BatchID: "kill", TransferTimeout: 3 * time.Second})
	waitFor(t, "a quarter of the payouts paid and more transfers in flight", 2*time.Minute, func() bool {
		stripe.mu.Lock()
		inflight := stripe.inflight
		stripe.mu.Unlock()
		return inflight > 0 && paid() >= n/4
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := paid()
	second := startWorker()
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res workflows.PayoutResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if killedAt >= n {
		t.Fatalf("the kill came after the last payout")
	}
	var want int64
	for _, p := range ps[:n] {
		want += p.cents
	}
	stripe.mu.Lock()
	defer stripe.mu.Unlock()
	repeats := 0
	for _, r := range stripe.received {
		repeats += r - 1
	}
	t.Logf("killed at %d/%d paid; result %+v; %d transfer requests repeated a key (answered from it)", killedAt, n, res, repeats)
	if repeats == 0 {
		t.Errorf("no transfer was sent again after the kill: the kill did not hit transfers in flight")
	}
	if res.Paid+res.Pending != n || res.Failed != 0 {
		t.Errorf("result %+v, want %d payouts", res, n)
	}
	var total int64
	for i, p := range ps {
		s := ledgerOf(t, pool, p.ID)
		if i == n {
			if s.balance != 900 || len(s.keys) != 0 {
				t.Errorf("the mapper below the minimum: %+v", s)
			}
			continue
		}
		if s.paid != 1 || s.debits != 1 || s.credits != 0 || s.balance != 0 || s.open != 0 || len(s.keys) != 1 {
			t.Errorf("mapper %d: %+v, want paid once", i, s)
			continue
		}
		k := s.keys[0]
		if stripe.reached[k] != 1 || stripe.dest[k] != p.StripeAccountID || stripe.amount[k] != fmt.Sprint(p.cents) {
			t.Errorf("mapper %d: key %s reached stripe-mock %d times, destination %s, amount %s", i, k, stripe.reached[k], stripe.dest[k], stripe.amount[k])
		}
		total += p.cents
	}
	reached := 0
	for _, r := range stripe.reached {
		reached += r
	}
	if reached != n || len(stripe.received) != n || total != want {
		t.Errorf("%d transfers reached stripe-mock under %d keys, want %d; %d cents paid, want %d", reached, len(stripe.received), n, total, want)
	}
}

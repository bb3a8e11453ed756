package crowdstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/crowd/crowdstore"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/mappingjob/mappingjobstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/tenancy/tenancystore"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// world is a migrated database with an organization, a project with
// items, approved mappers and the crowd service over the real stores.
type world struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	store   *crowdstore.Store
	jobs    *mappingjobstore.Store
	mappers *mapperstore.Store
	svc     *crowd.Service
	org     tenancy.Organization
	project tenancy.Project
	now     time.Time
	mu      sync.Mutex
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{ctx: context.Background(), pool: dbtest.New(t), now: time.Now().UTC()}
	w.store, w.jobs, w.mappers = crowdstore.New(w.pool), mappingjobstore.New(w.pool), mapperstore.New(w.pool)
	tenants := tenancystore.New(w.pool)
	var err error
	if w.org, err = tenants.CreateOrganization(w.ctx, tenancy.Organization{Name: "A", Slug: "org-a"}); err != nil {
		t.Fatal(err)
	}
	if w.project, err = tenants.CreateProject(w.ctx, tenancy.Project{OrganizationID: w.org.ID, Name: "p"}); err != nil {
		t.Fatal(err)
	}
	w.svc, err = crowd.NewService(w.store, w.mappers, w.jobs, crowd.Config{Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) mapper(t *testing.T, name string, status mapper.Status, tier string, vocabularies ...string) mapper.Mapper {
	t.Helper()
	m := mapper.Mapper{ID: mapper.NewID("mpr_"), LineUserID: "U" + name, DisplayName: name, Status: status, Tier: tier,
		RatePercent: 100, Expertise: mapper.Expertise{Vocabularies: vocabularies}, CreatedAt: w.now, UpdatedAt: w.now}
	if err := w.mappers.Create(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

var candidates = []mappingjob.Candidate{
	{ConceptID: 201826, ConceptName: "Type 2 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.6},
	{ConceptID: 201254, ConceptName: "Type 1 diabetes mellitus", VocabularyID: "SNOMED", DomainID: "Condition", StandardConcept: "S", Score: 0.5},
}

// items proposes codes in the project and returns them by code.
func (w *world) items(t *testing.T, confidence float64, codes ...string) map[string]mappingjob.Item {
	t.Helper()
	var in []mappingjob.Item
	for _, c := range codes {
		in = append(in, mappingjob.Item{Source: "S", Code: c, Description: "diabetes " + c, ConceptID: 201826,
			TargetName: "Type 2 diabetes mellitus", TargetVocabulary: "SNOMED", TargetDomain: "Condition",
			Candidates: candidates, Confidence: confidence, Method: mappingjob.MethodReview,
			Provenance: mappingjob.Provenance{"engine_version": "test"}})
	}
	if err := w.jobs.UpsertItems(w.ctx, w.project.ID, in); err != nil {
		t.Fatal(err)
	}
	out := map[string]mappingjob.Item{}
	for _, c := range codes {
		it, err := w.jobs.Item(w.ctx, w.project.ID, "S", c)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = it
	}
	return out
}

func (w *world) submit(t *testing.T, ids ...int64) []crowd.ItemStatus {
	t.Helper()
	st, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, ItemIDs: ids, SubmittedBy: "user"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (w *world) vote(t *testing.T, m mapper.Mapper, task int64, in crowd.VoteInput) crowd.VoteResult {
	t.Helper()
	if _, err := w.svc.Task(w.ctx, m.ID, task); err != nil {
		t.Fatal(err)
	}
	w.advance(20 * time.Second)
	r, err := w.svc.Vote(w.ctx, m.ID, task, in)
	if err != nil {
		t.Fatalf("%s votes %+v: %v", m.DisplayName, in, err)
	}
	return r
}

// checkLedger asserts every running balance equals the sum of the
// mapper's ledger entries and is not negative.
func (w *world) checkLedger(t *testing.T) {
	t.Helper()
	rows, err := w.pool.Query(w.ctx, `
		select coalesce(b.mapper_id, l.mapper_id), coalesce(b.currency, l.currency), coalesce(b.cents, -1), coalesce(l.total, 0)
		from crowd_balances b
		full join (select mapper_id, currency, sum(cents)::bigint total from crowd_ledger group by 1, 2) l
		  on l.mapper_id = b.mapper_id and l.currency = b.currency`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var m, c string
		var bal, sum int64
		if err := rows.Scan(&m, &c, &bal, &sum); err != nil {
			t.Fatal(err)
		}
		if bal != sum || bal < 0 {
			t.Errorf("mapper %s %s: balance %d, ledger sum %d", m, c, bal, sum)
		}
	}
}

func TestVoteToConsensusWritesBackTheItem(t *testing.T) {
	w := newWorld(t)
	its := w.items(t, 0.6, "E11", "E10")
	st := w.submit(t, its["E11"].ID)
	if len(st) != 1 || st[0].State != crowd.StateOpen || st[0].ItemID != its["E11"].ID {
		t.Fatalf("status after submit: %+v", st)
	}
	// Sending it again keeps its task.
	if again := w.submit(t, its["E11"].ID); again[0].TaskID != st[0].TaskID {
		t.Fatalf("second submission made task %d, first %d", again[0].TaskID, st[0].TaskID)
	}
	task := st[0].TaskID
	a, b, c := w.mapper(t, "alice", mapper.StatusApproved, "", "snomed"), w.mapper(t, "bob", mapper.StatusApproved, ""), w.mapper(t, "carol", mapper.StatusApproved, "")
	pending := w.mapper(t, "pat", mapper.StatusPending, "")
	other := w.mapper(t, "olga", mapper.StatusApproved, "", "loinc")

	feed, err := w.svc.Feed(w.ctx, a.ID, 10)
	if err != nil || len(feed) != 1 || feed[0].ID != task || feed[0].Code != "E11" || len(feed[0].Candidates) != 2 {
		t.Fatalf("alice's feed: %+v %v", feed, err)
	}
	if feed, _ := w.svc.Feed(w.ctx, other.ID, 10); len(feed) != 0 {
		t.Fatalf("a LOINC expert's feed holds a SNOMED task: %+v", feed)
	}
	if _, err := w.svc.Feed(w.ctx, pending.ID, 10); !errors.Is(err, crowd.ErrForbidden) {
		t.Fatalf("pending mapper's feed: %v", err)
	}
	if _, err := w.svc.Vote(w.ctx, pending.ID, task, crowd.VoteInput{Action: crowd.ActionApprove}); !errors.Is(err, crowd.ErrForbidden) {
		t.Fatalf("pending mapper votes: %v", err)
	}

	r1 := w.vote(t, a, task, crowd.VoteInput{Action: crowd.ActionApprove})
	// 20 + round(30 × 0.4) + 0 (bronze) = 32 cents at once.
	if r1.Reward != (crowd.Money{Currency: "usd", Cents: 32}) || r1.Task.State != crowd.StateOpen || r1.Vote.Elapsed != 20*time.Second {
		t.Fatalf("first vote: %+v", r1)
	}
	if _, err := w.svc.Vote(w.ctx, a.ID, task, crowd.VoteInput{Action: crowd.ActionApprove}); !errors.Is(err, crowd.ErrAlreadyVoted) {
		t.Fatalf("second vote of alice: %v", err)
	}
	// The database refuses it too, whoever asks.
	if _, err := w.pool.Exec(w.ctx, `insert into crowd_votes (task_id, mapper_id, action, weight) values ($1, $2, 'reject', 1)`, task, a.ID); err == nil {
		t.Fatal("the database took a second vote of one mapper on one task")
	}
	if feed, _ := w.svc.Feed(w.ctx, a.ID, 10); len(feed) != 0 {
		t.Fatalf("a task alice voted on stays in her feed: %+v", feed)
	}
	w.vote(t, b, task, crowd.VoteInput{Action: crowd.ActionApprove})
	r3 := w.vote(t, c, task, crowd.VoteInput{Action: crowd.ActionReject, ConceptID: 201254})
	// 2 of 3 equal weights is 67 % < 70 %: still open.
	if r3.Task.State != crowd.StateOpen {
		t.Fatalf("after 2:1 %+v", r3.Task)
	}
	d := w.mapper(t, "dan", mapper.StatusApproved, "")
	r4 := w.vote(t, d, task, crowd.VoteInput{Action: crowd.ActionApprove})
	if r4.Task.State != crowd.StateResolved || r4.Task.Resolution.ConceptID != 201826 || r4.Task.WrittenBack == nil {
		t.Fatalf("after 3:1 %+v", r4.Task)
	}
	if _, err := w.svc.Vote(w.ctx, other.ID, task, crowd.VoteInput{Action: crowd.ActionApprove}); !errors.Is(err, crowd.ErrClosed) {
		t.Fatalf("vote on a resolved task: %v", err)
	}

	it, err := w.jobs.ItemByID(w.ctx, w.project.ID, its["E11"].ID)
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := it.Provenance["crowd"].(map[string]any)
	if it.Method != mappingjob.MethodCrowd || it.Review != mappingjob.ReviewApproved || it.ConceptID != 201826 ||
		it.Provenance["engine_version"] != "test" || prov["crowd_task_id"] != float64(task) || prov["votes"] != float64(4) {
		t.Fatalf("item after resolution: %+v", it)
	}
	hist, err := w.jobs.History(w.ctx, w.project.ID, mappingjob.KindConcept, it.ID)
	if err != nil || len(hist) != 1 || hist[0].Actor != mappingjob.CrowdActor || hist[0].Action != "approve" {
		t.Fatalf("audit trail: %+v %v", hist, err)
	}
	untouched, _ := w.jobs.ItemByID(w.ctx, w.project.ID, its["E10"].ID)
	if untouched.Method != mappingjob.MethodReview || untouched.Review != mappingjob.ReviewPending {
		t.Fatalf("an item not sent changed: %+v", untouched)
	}

	// Rewards: 32 each at once, the 10-cent bonus for the three who
	// agreed; carol's rejection gets no bonus and is graded wrong.
	for m, want := range map[string]int64{a.ID: 42, b.ID: 42, c.ID: 32, d.ID: 42} {
		bal, err := w.svc.Balance(w.ctx, m)
		if err != nil || len(bal) != 1 || bal[0] != (crowd.Money{Currency: "usd", Cents: want}) {
			t.Errorf("balance of %s: %+v %v, want %d", m, bal, err, want)
		}
	}
	votes, _ := w.store.Votes(w.ctx, c.ID, 10)
	if len(votes) != 1 || votes[0].Correct == nil || *votes[0].Correct {
		t.Fatalf("carol's vote grade: %+v", votes)
	}
	stats, err := w.svc.Stats(w.ctx, a.ID)
	// One graded consensus vote right: (2 + 1) / (4 + 1) = 0.6.
	if err != nil || stats.Votes != 1 || stats.Skill.Graded != 1 || stats.Skill.P < 0.59 || stats.Skill.P > 0.61 {
		t.Fatalf("alice's stats: %+v %v", stats, err)
	}
	if err := w.svc.SetShowEarnings(w.ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	board, err := w.svc.Leaderboard(w.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	// alice, bob and dan: one right vote each (0.6), by name; olga 0.5.
	if len(board) != 5 || board[0].MapperID != a.ID || board[1].MapperID != b.ID || board[2].MapperID != d.ID || board[3].MapperID != other.ID {
		t.Fatalf("leaderboard: %+v", board)
	}
	for _, r := range board {
		switch r.MapperID {
		case a.ID:
			if len(r.Earned) != 1 || r.Earned[0].Cents != 42 {
				t.Errorf("alice opted in to show earnings: %+v", r)
			}
		case b.ID:
			if r.Earned != nil {
				t.Errorf("bob's earnings shown without opt-in: %+v", r)
			}
		case c.ID:
			// One wrong graded vote: (2 + 0) / 5 = 0.4, below olga's 0.5
			// without any.
			if r.Rank != 5 || r.Reputation > 0.41 || r.Accuracy != 0 {
				t.Errorf("carol: %+v", r)
			}
		}
	}
	status, err := w.svc.Status(w.ctx, w.project.ID, nil)
	if err != nil || len(status) != 1 || !status[0].WrittenBack || status[0].State != crowd.StateResolved || status[0].Votes != 4 {
		t.Fatalf("crowd status: %+v %v", status, err)
	}
	w.checkLedger(t)
}

func TestEscalationToExpertsAndOverride(t *testing.T) {
	w := newWorld(t)
	its := w.items(t, 0.3, "X1")
	task := w.submit(t, its["X1"].ID)[0].TaskID
	answers := []crowd.VoteInput{
		{Action: crowd.ActionApprove}, {Action: crowd.ActionApprove},
		{Action: crowd.ActionOverride, ConceptID: 4000, ConceptName: "Prediabetes", VocabularyID: "SNOMED", DomainID: "Condition"},
		{Action: crowd.ActionOverride, ConceptID: 4000, ConceptName: "Prediabetes", VocabularyID: "SNOMED", DomainID: "Condition"},
		{Action: crowd.ActionReject},
	}
	for i, in := range answers {
		r := w.vote(t, w.mapper(t, fmt.Sprint("m", i), mapper.StatusApproved, ""), task, in)
		if i == len(answers)-1 && r.Task.State != crowd.StateEscalated {
			t.Fatalf("2:2:1 after five votes: %+v", r.Task)
		}
	}
	late := w.mapper(t, "late", mapper.StatusApproved, "")
	if feed, _ := w.svc.Feed(w.ctx, late.ID, 10); len(feed) != 0 {
		t.Fatalf("an escalated task in a regular mapper's feed: %+v", feed)
	}
	if _, err := w.svc.Vote(w.ctx, late.ID, task, crowd.VoteInput{Action: crowd.ActionApprove}); !errors.Is(err, crowd.ErrClosed) {
		t.Fatalf("a regular vote on an escalated task: %v", err)
	}
	x1, x2 := w.mapper(t, "expert1", mapper.StatusApproved, "expert"), w.mapper(t, "expert2", mapper.StatusApproved, "expert")
	if feed, _ := w.svc.Feed(w.ctx, x1.ID, 10); len(feed) != 1 {
		t.Fatalf("expert's feed: %+v", feed)
	}
	override := crowd.VoteInput{Action: crowd.ActionOverride, ConceptID: 4000, ConceptName: "Prediabetes", VocabularyID: "SNOMED", DomainID: "Condition"}
	// Weights: everyone 0.1 (no graded votes), experts × 3. After one
	// expert: 4000 holds 0.5 of 0.8 = 62.5 %; after two: 0.8 of 1.1 = 73 %.
	if r := w.vote(t, x1, task, override); r.Task.State != crowd.StateEscalated || !r.Vote.Expert {
		t.Fatalf("after one expert: %+v", r)
	}
	r := w.vote(t, x2, task, override)
	if r.Task.State != crowd.StateResolved || r.Task.Resolution.ConceptID != 4000 {
		t.Fatalf("after two experts: %+v", r.Task)
	}
	it, _ := w.jobs.ItemByID(w.ctx, w.project.ID, its["X1"].ID)
	if it.Review != mappingjob.ReviewOverridden || it.ConceptID != 4000 || it.TargetName != "Prediabetes" || it.Method != mappingjob.MethodCrowd {
		t.Fatalf("item: %+v", it)
	}
	// Expert tier pays 20 more: 20 + round(30 × 0.7) + 20 = 61, + 10 bonus.
	bal, _ := w.svc.Balance(w.ctx, x2.ID)
	if len(bal) != 1 || bal[0].Cents != 71 {
		t.Fatalf("expert's balance %+v", bal)
	}
	w.checkLedger(t)
}

func TestReviewerFirstLeavesTheItemAlone(t *testing.T) {
	w := newWorld(t)
	its := w.items(t, 0.5, "R1")
	task := w.submit(t, its["R1"].ID)[0].TaskID
	if _, err := w.jobs.Decide(w.ctx, w.project.ID, mappingjob.Decision{ItemID: its["R1"].ID, Review: mappingjob.ReviewRejected, Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		w.vote(t, w.mapper(t, fmt.Sprint("v", i), mapper.StatusApproved, ""), task, crowd.VoteInput{Action: crowd.ActionApprove})
	}
	got, _ := w.store.Task(w.ctx, task)
	if got.State != crowd.StateResolved || got.WrittenBack == nil || got.WriteBackNote == "" {
		t.Fatalf("task: %+v", got)
	}
	it, _ := w.jobs.ItemByID(w.ctx, w.project.ID, its["R1"].ID)
	if it.Review != mappingjob.ReviewRejected || it.Method != mappingjob.MethodUnmapped {
		t.Fatalf("the crowd overwrote a reviewer: %+v", it)
	}
	// Submitting a decided item is refused, naming it.
	if _, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, ItemIDs: []int64{its["R1"].ID}}); !errors.Is(err, crowd.ErrInvalid) {
		t.Fatalf("submit a decided item: %v", err)
	}
}

func TestSubmitTheReviewBand(t *testing.T) {
	w := newWorld(t)
	w.items(t, 0.5, "B1", "B2")
	w.items(t, 0.95, "H1")
	st, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, MinConfidence: 0.3, MaxConfidence: 0.9})
	if err != nil || len(st) != 2 {
		t.Fatalf("band submission: %+v %v", st, err)
	}
	if _, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, ItemIDs: []int64{999999}}); !errors.Is(err, crowd.ErrNotFound) {
		t.Fatalf("unknown item: %v", err)
	}
	if _, err := w.svc.Submit(w.ctx, crowd.Submission{OrganizationID: w.org.ID, ProjectID: w.project.ID, MinConfidence: 0.9, MaxConfidence: 0.3}); !errors.Is(err, crowd.ErrInvalid) {
		t.Fatalf("inverted band: %v", err)
	}
}

func TestCalibrationTasksAreMixedInAndGradedAtOnce(t *testing.T) {
	w := newWorld(t)
	its := w.items(t, 0.5, "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8")
	var ids []int64
	for _, it := range its {
		ids = append(ids, it.ID)
	}
	w.submit(t, ids...)
	cal, err := w.svc.AddCalibration(w.ctx, crowd.Task{Code: "K1", Description: "known", Candidates: candidates}, crowd.Answer{ConceptID: 201254})
	if err != nil {
		t.Fatal(err)
	}
	m := w.mapper(t, "m", mapper.StatusApproved, "")
	feed, err := w.svc.Feed(w.ctx, m.ID, 5)
	if err != nil || len(feed) != 5 {
		t.Fatalf("feed %+v %v", feed, err)
	}
	found := false
	for _, t2 := range feed {
		if t2.Known != nil {
			t.Fatal("the feed shows a calibration answer")
		}
		found = found || t2.ID == cal.ID
	}
	if !found {
		t.Fatalf("no calibration task in a feed of 5: %+v", feed)
	}
	view, _ := w.svc.Task(w.ctx, m.ID, cal.ID)
	if view.Known != nil {
		t.Fatal("the vote page shows a calibration answer")
	}
	r := w.vote(t, m, cal.ID, crowd.VoteInput{Action: crowd.ActionReject, ConceptID: 201254})
	if r.Vote.Correct == nil || !*r.Vote.Correct {
		t.Fatalf("calibration vote not graded right: %+v", r.Vote)
	}
	wrong := w.mapper(t, "w", mapper.StatusApproved, "")
	r = w.vote(t, wrong, cal.ID, crowd.VoteInput{Action: crowd.ActionApprove})
	if r.Vote.Correct == nil || *r.Vote.Correct {
		t.Fatalf("calibration vote not graded wrong: %+v", r.Vote)
	}
	// The calibration task never resolves: everyone can be tested on it.
	if r.Task.State != crowd.StateOpen {
		t.Fatalf("calibration task state %s", r.Task.State)
	}
	s, _ := w.svc.Stats(w.ctx, m.ID)
	// A calibration vote counts 2: (2 + 2) / (4 + 2) = 0.667.
	if s.Skill.Graded != 1 || s.Skill.P < 0.66 || s.Skill.P > 0.67 {
		t.Fatalf("skill after one right calibration vote: %+v", s.Skill)
	}
	// Four more calibration tasks missed: 0 of 5 right is flagged.
	for i := 0; i < 4; i++ {
		c, err := w.svc.AddCalibration(w.ctx, crowd.Task{Code: fmt.Sprint("K", i+2), Candidates: candidates}, crowd.Answer{ConceptID: 201254})
		if err != nil {
			t.Fatal(err)
		}
		w.vote(t, wrong, c.ID, crowd.VoteInput{Action: crowd.ActionApprove})
	}
	flags, err := w.svc.Flags(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || flags[0].MapperID != wrong.ID || flags[0].Kind != crowd.FlagPoorCalibration {
		t.Fatalf("flags: %+v", flags)
	}
}

func TestAnomalyFlags(t *testing.T) {
	w := newWorld(t)
	var ids []int64
	for i := 0; i < 16; i++ {
		for _, it := range w.items(t, 0.5, fmt.Sprint("F", i)) {
			ids = append(ids, it.ID)
		}
	}
	sts := w.submit(t, ids...)
	fast := w.mapper(t, "fast", mapper.StatusApproved, "")
	for _, st := range sts {
		if _, err := w.svc.Task(w.ctx, fast.ID, st.TaskID); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Second)
		if _, err := w.svc.Vote(w.ctx, fast.ID, st.TaskID, crowd.VoteInput{Action: crowd.ActionApprove}); err != nil {
			t.Fatal(err)
		}
	}
	flags, err := w.svc.Flags(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[crowd.FlagKind]bool{}
	for _, f := range flags {
		if f.MapperID != fast.ID {
			t.Errorf("flag on another mapper: %+v", f)
		}
		kinds[f.Kind] = true
	}
	if !kinds[crowd.FlagFastVotes] || !kinds[crowd.FlagConstantAnswers] {
		t.Fatalf("flags: %+v", flags)
	}
}

// TestLedgerProperty appends random credits and debits from concurrent
// goroutines: the running balance always equals the sum of the entries,
// never goes negative, and a refused debit writes nothing.
func TestLedgerProperty(t *testing.T) {
	w := newWorld(t)
	var ms []mapper.Mapper
	for i := 0; i < 3; i++ {
		ms = append(ms, w.mapper(t, fmt.Sprint("l", i), mapper.StatusApproved, ""))
	}
	var wg sync.WaitGroup
	var refused, accepted sync.Map
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for i := 0; i < 60; i++ {
				m := ms[rng.Intn(len(ms))]
				cur := []string{"usd", "thb"}[rng.Intn(2)]
				var e crowd.Entry
				if rng.Intn(3) == 0 {
					// A debit needs a payout row to point at.
					id := fmt.Sprintf("po_%024x", rng.Int63())
					if _, err := w.pool.Exec(w.ctx, `insert into crowd_payouts (id, batch_id, mapper_id, currency, cents, stripe_account_id, idempotency_key, status)
						values ($1, 'b', $2, $3, 1, 'acct', $1, 'paid')`, id, m.ID, cur); err != nil {
						t.Error(err)
						return
					}
					e = crowd.Entry{MapperID: m.ID, Currency: cur, Kind: crowd.EntryPayout, Cents: -(1 + rng.Int63n(150)), PayoutID: id}
				} else {
					e = crowd.Entry{MapperID: m.ID, Currency: cur, Kind: crowd.EntryVoteReward, Cents: 1 + rng.Int63n(60), TaskID: seed*1000 + int64(i)}
				}
				err := w.store.Append(w.ctx, []crowd.Entry{e})
				switch {
				case err == nil:
					accepted.Store(fmt.Sprint(seed, i), e)
				case errors.Is(err, crowd.ErrInsufficientBalance):
					refused.Store(fmt.Sprint(seed, i), e)
				default:
					t.Errorf("append %+v: %v", e, err)
				}
			}
		}(int64(g + 1))
	}
	wg.Wait()
	w.checkLedger(t)
	nAcc, nRef, debits := 0, 0, 0
	accepted.Range(func(_, v any) bool {
		nAcc++
		if v.(crowd.Entry).Kind == crowd.EntryPayout {
			debits++
		}
		return true
	})
	refused.Range(func(_, _ any) bool { nRef++; return true })
	var rows int
	if err := w.pool.QueryRow(w.ctx, `select count(*) from crowd_ledger`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != nAcc {
		t.Fatalf("%d ledger rows, %d accepted appends (%d refused)", rows, nAcc, nRef)
	}
	if nRef == 0 || debits == 0 {
		t.Fatalf("%d debits accepted, %d refused: the property was not exercised both ways", debits, nRef)
	}
	// Append-only.
	if _, err := w.pool.Exec(w.ctx, `update crowd_ledger set cents = cents + 1`); err == nil {
		t.Fatal("the ledger took an update")
	}
	if _, err := w.pool.Exec(w.ctx, `delete from crowd_ledger`); err == nil {
		t.Fatal("the ledger took a delete")
	}
	// A batch with one bad entry writes none.
	before := rows
	err := w.store.Append(w.ctx, []crowd.Entry{
		{MapperID: ms[0].ID, Currency: "usd", Kind: crowd.EntryVoteReward, Cents: 5, TaskID: 1},
		{MapperID: ms[0].ID, Currency: "usd", Kind: crowd.EntryVoteReward, Cents: -5, TaskID: 2},
	})
	_ = w.pool.QueryRow(w.ctx, `select count(*) from crowd_ledger`).Scan(&rows)
	if !errors.Is(err, crowd.ErrInvalid) || rows != before {
		t.Fatalf("half-bad batch: %v, rows %d → %d", err, before, rows)
	}
}

// failingItems is the real item store whose crowd write-backs fail while
// down is set: the process stopping between a vote and its write-back.
type failingItems struct {
	*mappingjobstore.Store
	down bool
}

func (f *failingItems) ResolveByCrowd(ctx context.Context, project string, r mappingjob.CrowdResolution) (mappingjob.Item, error) {
	if f.down {
		return mappingjob.Item{}, errors.New("connection reset")
	}
	return f.Store.ResolveByCrowd(ctx, project, r)
}

func TestUnwrittenResolutionIsWrittenByALaterVote(t *testing.T) {
	w := newWorld(t)
	items := &failingItems{Store: w.jobs, down: true}
	svc, err := crowd.NewService(w.store, w.mappers, items, crowd.Config{Now: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	its := w.items(t, 0.5, "W1", "W2")
	sts := w.submit(t, its["W1"].ID, its["W2"].ID)
	var ms []mapper.Mapper
	for i := 0; i < 3; i++ {
		ms = append(ms, w.mapper(t, fmt.Sprint("w", i), mapper.StatusApproved, ""))
		w.vote(t, ms[i], sts[0].TaskID, crowd.VoteInput{Action: crowd.ActionApprove})
	}
	got, _ := w.store.Task(w.ctx, sts[0].TaskID)
	if got.State != crowd.StateResolved || got.WrittenBack != nil {
		t.Fatalf("task with the item store down: %+v", got)
	}
	if it, _ := w.jobs.ItemByID(w.ctx, w.project.ID, its["W1"].ID); it.Method == mappingjob.MethodCrowd {
		t.Fatal("written back while the store was down")
	}
	items.down = false
	w.vote(t, ms[0], sts[1].TaskID, crowd.VoteInput{Action: crowd.ActionApprove})
	got, _ = w.store.Task(w.ctx, sts[0].TaskID)
	it, _ := w.jobs.ItemByID(w.ctx, w.project.ID, its["W1"].ID)
	if got.WrittenBack == nil || it.Method != mappingjob.MethodCrowd || it.Review != mappingjob.ReviewApproved {
		t.Fatalf("after a later vote: task %+v, item %+v", got, it)
	}
}

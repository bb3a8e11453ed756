package crowd

import (
	"errors"
	"math"
	"math/rand"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

func TestConsensusWorkedExamples(t *testing.T) {
	r := DefaultRules()
	ln3, ln9 := math.Log(3), math.Log(9) // skills 0.75 and 0.9
	cases := []struct {
		name      string
		ballots   []Ballot
		state     State
		answer    int32
		agreement float64
	}{
		{"two votes are too few however they agree",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}}, StateOpen, 10, 1},
		{"three agreeing votes resolve",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}, {"c", Answer{10}, 1, false}}, StateResolved, 10, 1},
		// 2 of 3 votes is 67 %, under 70 %; weighted, the two strong
		// voters hold 2·ln9 / (2·ln9 + 0.1) = 97.8 %.
		{"reputation weighting: two experts outweigh a newcomer",
			[]Ballot{{"b", Answer{10}, ln9, false}, {"c", Answer{10}, ln9, false}, {"d", Answer{20}, 0, false}},
			StateResolved, 10, 2 * ln9 / (2*ln9 + MinWeight)},
		{"unweighted two against one stays open",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}, {"c", Answer{20}, 1, false}}, StateOpen, 10, 2.0 / 3},
		// ln3 + ln3 = ln9: an even split.
		{"one strong voter balances two average ones",
			[]Ballot{{"a", Answer{10}, ln3, false}, {"b", Answer{10}, ln3, false}, {"c", Answer{20}, ln9, false}}, StateOpen, 10, 0.5},
		{"five votes without 70 % escalate",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}, {"c", Answer{10}, 1, false}, {"d", Answer{20}, 1, false}, {"e", Answer{20}, 1, false}},
			StateEscalated, 10, 0.6},
		// The expert's 1 counts 3: concept 10 holds 6 of 8 = 75 %.
		{"an expert settles an escalated task",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}, {"c", Answer{10}, 1, false}, {"d", Answer{20}, 1, false}, {"e", Answer{20}, 1, false}, {"x", Answer{10}, 1, true}},
			StateResolved, 10, 0.75},
		// Concept 20 gets 2 + 3 = 5 of 8 = 62.5 %: still escalated.
		{"an expert siding with the minority keeps it escalated",
			[]Ballot{{"a", Answer{10}, 1, false}, {"b", Answer{10}, 1, false}, {"c", Answer{10}, 1, false}, {"d", Answer{20}, 1, false}, {"e", Answer{20}, 1, false}, {"x", Answer{20}, 1, true}},
			StateEscalated, 20, 0.625},
		{"no valid mapping is an answer too",
			[]Ballot{{"a", Answer{0}, 1, false}, {"b", Answer{0}, 1, false}, {"c", Answer{0}, 1, false}}, StateResolved, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Consensus(r, c.ballots)
			if out.State != c.state || out.Answer.ConceptID != c.answer || !near(out.Agreement, c.agreement) {
				t.Fatalf("got %s %d %.4f, want %s %d %.4f", out.State, out.Answer.ConceptID, out.Agreement, c.state, c.answer, c.agreement)
			}
			// Order does not matter.
			rev := append([]Ballot(nil), c.ballots...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			if again := Consensus(r, rev); again != out {
				t.Fatalf("reversed ballots: %+v, want %+v", again, out)
			}
		})
	}
}

func TestConsensusTieGoesToLowerConcept(t *testing.T) {
	r := DefaultRules()
	out := Consensus(r, []Ballot{{"a", Answer{20}, 1, false}, {"b", Answer{10}, 1, false}})
	if out.Answer.ConceptID != 10 || out.State != StateOpen {
		t.Fatalf("%+v", out)
	}
}

func TestRulesValidate(t *testing.T) {
	for _, r := range []Rules{
		{MinVotes: 0, Threshold: 0.7, MaxVotes: 5, ExpertWeight: 3},
		{MinVotes: 3, Threshold: 0.5, MaxVotes: 5, ExpertWeight: 3},
		{MinVotes: 3, Threshold: 0.7, MaxVotes: 2, ExpertWeight: 3},
		{MinVotes: 3, Threshold: 0.7, MaxVotes: 5, ExpertWeight: 0.5},
	} {
		if err := r.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", r, err)
		}
	}
	if err := DefaultRules().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSkillWorkedExamples(t *testing.T) {
	p := DefaultSkillParams()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

	fresh := EstimateSkill(p, nil, now)
	if fresh.P != 0.5 || fresh.Weight != MinWeight || TierOf(fresh, "") != TierBronze {
		t.Fatalf("no evidence: %+v", fresh)
	}

	// 8 of 10 calibration votes right today, each counting 2:
	// (2 + 16) / (4 + 20) = 0.75, weight ln 3.
	var obs []Observation
	for i := 0; i < 10; i++ {
		obs = append(obs, Observation{Correct: i < 8, Calibration: true, At: now})
	}
	s := EstimateSkill(p, obs, now)
	if !near(s.P, 0.75) || !near(s.Weight, math.Log(3)) || s.Accuracy != 0.8 || s.Graded != 10 {
		t.Fatalf("calibration: %+v", s)
	}

	// Recency: a wrong consensus vote 30 days old counts ½, a right one
	// today 1: (2 + 1) / (4 + 1.5) = 0.5454.
	s = EstimateSkill(p, []Observation{{Correct: false, At: now.AddDate(0, 0, -30)}, {Correct: true, At: now}}, now)
	if !near(s.P, 3/5.5) {
		t.Fatalf("recency: %+v", s)
	}
	// The same votes the other way round in time: (2 + 0.5) / 5.5.
	s = EstimateSkill(p, []Observation{{Correct: true, At: now.AddDate(0, 0, -30)}, {Correct: false, At: now}}, now)
	if !near(s.P, 2.5/5.5) {
		t.Fatalf("recency reversed: %+v", s)
	}
}

func TestTiers(t *testing.T) {
	cases := []struct {
		s        Skill
		override string
		want     Tier
	}{
		{Skill{P: 0.92, Graded: 60}, "", TierExpert},
		{Skill{P: 0.92, Graded: 40}, "", TierGold},
		{Skill{P: 0.7, Graded: 12}, "", TierSilver},
		{Skill{P: 0.7, Graded: 9}, "", TierBronze},
		{Skill{P: 0.5, Graded: 0}, "gold", TierGold},
		{Skill{P: 0.92, Graded: 60}, "bogus", TierExpert},
	}
	for _, c := range cases {
		if got := TierOf(c.s, c.override); got != c.want {
			t.Errorf("TierOf(%+v, %q) = %s, want %s", c.s, c.override, got, c.want)
		}
	}
}

func TestRewardsWorkedExamples(t *testing.T) {
	r := DefaultRewardRates()
	// 20 base + round(30 × 0.1) + 5 standard = 28.
	if got := r.VoteReward(0.9, TierSilver, 100); got != 28 {
		t.Errorf("confident item, standard: %d", got)
	}
	// (20 + 24 + 20) × 1.5 = 96: low confidence pays more, the expert
	// tier and a 150 % rate more still.
	if got := r.VoteReward(0.2, TierExpert, 150); got != 96 {
		t.Errorf("hard item, expert at 150 %%: %d", got)
	}
	if got := r.VoteReward(1.7, TierBronze, 0); got != 20 {
		t.Errorf("confidence clamps to 1, rate 0 reads 100: %d", got)
	}
	if got := r.Bonus(150); got != 15 {
		t.Errorf("bonus at 150 %%: %d", got)
	}
	if err := (RewardRates{Currency: "dollars"}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad currency: %v", err)
	}
}

// TestLedgerPropertyNeverNegative applies random credits and debits
// through CheckEntry: an accepted sequence never has a negative balance,
// and Balances is the sum of the accepted entries per currency.
func TestLedgerPropertyNeverNegative(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	kinds := []EntryKind{EntryVoteReward, EntryConsensusBonus, EntryPayout, EntryPayoutReversal}
	currencies := []string{"usd", "thb", "eur"}
	for run := 0; run < 200; run++ {
		running := map[string]int64{}
		var accepted []Entry
		for i := 0; i < 100; i++ {
			e := Entry{MapperID: "m", Currency: currencies[rng.Intn(3)], Kind: kinds[rng.Intn(4)], Cents: rng.Int63n(400) - 200}
			if err := CheckEntry(running[e.Currency], e); err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInsufficientBalance) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			running[e.Currency] += e.Cents
			if running[e.Currency] < 0 {
				t.Fatalf("run %d: balance %d after %+v", run, running[e.Currency], e)
			}
			accepted = append(accepted, e)
		}
		for _, m := range Balances(accepted) {
			if m.Cents != running[m.Currency] {
				t.Fatalf("run %d: Balances %s = %d, running %d", run, m.Currency, m.Cents, running[m.Currency])
			}
		}
	}
}

func TestCheckEntryRefuses(t *testing.T) {
	cases := []struct {
		balance int64
		e       Entry
		want    error
	}{
		{100, Entry{Currency: "usd", Kind: EntryPayout, Cents: -101}, ErrInsufficientBalance},
		{100, Entry{Currency: "usd", Kind: EntryPayout, Cents: 5}, ErrInvalid},
		{100, Entry{Currency: "usd", Kind: EntryVoteReward, Cents: -5}, ErrInvalid},
		{100, Entry{Currency: "usd", Kind: "gift", Cents: 5}, ErrInvalid},
		{100, Entry{Currency: "us", Kind: EntryVoteReward, Cents: 5}, ErrInvalid},
	}
	for _, c := range cases {
		if err := CheckEntry(c.balance, c.e); !errors.Is(err, c.want) {
			t.Errorf("%+v on %d: %v, want %v", c.e, c.balance, err, c.want)
		}
	}
	if err := CheckEntry(100, Entry{Currency: "usd", Kind: EntryPayout, Cents: -100}); err != nil {
		t.Errorf("paying out the whole balance: %v", err)
	}
}

func TestAnomalies(t *testing.T) {
	r := DefaultAnomalyRules()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var fast, constant, normal []VoteTrace
	actions := []Action{ActionApprove, ActionReject, ActionOverride}
	for i := 0; i < 16; i++ {
		at := now.Add(time.Duration(i) * time.Minute)
		fast = append(fast, VoteTrace{Action: actions[i%3], Elapsed: time.Second, At: at})
		constant = append(constant, VoteTrace{Action: ActionApprove, Elapsed: 20 * time.Second, At: at})
		normal = append(normal, VoteTrace{Action: actions[i%2], Elapsed: time.Duration(5+i) * time.Second, At: at})
	}
	if f := Anomalies(r, "m", fast); len(f) != 1 || f[0].Kind != FlagFastVotes {
		t.Errorf("fast: %+v", f)
	}
	if f := Anomalies(r, "m", constant); len(f) != 1 || f[0].Kind != FlagConstantAnswers {
		t.Errorf("constant: %+v", f)
	}
	if f := Anomalies(r, "m", normal); len(f) != 0 {
		t.Errorf("normal: %+v", f)
	}
	if f := Anomalies(r, "m", constant[:10]); len(f) != 0 {
		t.Errorf("ten same answers is not yet a pattern: %+v", f)
	}
}

func TestPoorCalibration(t *testing.T) {
	r := DefaultAnomalyRules()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var obs []Observation
	for i := 0; i < 6; i++ {
		obs = append(obs, Observation{Correct: i < 2, Calibration: true, At: now})
		obs = append(obs, Observation{Correct: true, At: now}) // consensus votes do not count
	}
	if f, ok := PoorCalibration(r, "m", obs); !ok || f.Kind != FlagPoorCalibration || f.Detail != "2 of 6 calibration tasks right (known answers)" {
		t.Fatalf("2 of 6: %+v %v", f, ok)
	}
	if _, ok := PoorCalibration(r, "m", obs[:8]); ok {
		t.Fatal("4 calibration votes are too few to judge")
	}
	obs[4].Correct, obs[6].Correct = true, true // 4 of 6
	if _, ok := PoorCalibration(r, "m", obs); ok {
		t.Fatal("4 of 6 right is not poor")
	}
}

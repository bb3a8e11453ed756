package crowd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mappingjob"
)

// Store is the crowd's storage (crowdstore.Store). Implementations are
// safe for concurrent use; every method that writes does so in one
// transaction.
type Store interface {
	// CreateTasks stores tasks; an item already sent to the crowd keeps
	// its task (the existing one comes back, unchanged). IDs, State open
	// and CreatedAt are assigned.
	CreateTasks(ctx context.Context, tasks []Task) ([]Task, error)
	// Task returns task id, or ErrNotFound.
	Task(ctx context.Context, id int64) (Task, error)
	// Feed returns up to q.Limit tasks q.MapperID may vote on now: not
	// voted on by them, open (escalated too when q.Expert), matching
	// q.Vocabularies or q.Domains when either is set; q.Calibration
	// calibration tasks among them when the mapper has any left.
	Feed(ctx context.Context, q FeedQuery) ([]Task, error)
	// Opened records the first time mapperID opened task id (the start of
	// a vote's elapsed time); later calls keep the first.
	Opened(ctx context.Context, mapperID string, task int64, at time.Time) error
	// Cast records v in one transaction: it locks v's task, reads its
	// votes, and calls settle with the task and every vote including v
	// (v.ID 0); then writes v, the task's new state and the entries settle
	// returns (each checked with CheckEntry against the running balance),
	// and grades the votes settle grades. A second vote of the same mapper
	// on the task is ErrAlreadyVoted (a unique index decides); settle's
	// error aborts everything.
	Cast(ctx context.Context, v Vote, settle func(Task, []Vote) (Settlement, error)) (Vote, Task, error)
	// Append appends entries to the ledger in one transaction, each
	// checked with CheckEntry against its running balance: all are
	// written, or none (ErrInsufficientBalance, ErrInvalid).
	Append(ctx context.Context, entries []Entry) error
	// TaskVotes returns task's votes, oldest first.
	TaskVotes(ctx context.Context, task int64) ([]Vote, error)
	// Votes returns mapperID's latest votes, newest first, at most limit.
	Votes(ctx context.Context, mapperID string, limit int) ([]Vote, error)
	// VoteCounts returns every mapper's number of votes.
	VoteCounts(ctx context.Context) (map[string]int, error)
	// Graded returns every graded vote per mapper (mapperID "" for all),
	// as observations.
	Graded(ctx context.Context, mapperID string) (map[string][]Observation, error)
	// Ledger returns mapperID's entries, newest first, at most limit.
	Ledger(ctx context.Context, mapperID string, limit int) ([]Entry, error)
	// Balances returns mapperID's balances per currency (the running
	// totals, equal to the sum of the entries).
	Balances(ctx context.Context, mapperID string) ([]Money, error)
	// Earned returns every mapper's total credits (rewards and bonuses)
	// per currency.
	Earned(ctx context.Context) (map[string][]Money, error)
	// ItemStatuses returns the crowd status of project's items that were
	// sent (all of them when ids is empty).
	ItemStatuses(ctx context.Context, project string, ids []int64) ([]ItemStatus, error)
	// UnwrittenResolutions returns resolved project tasks whose
	// resolution has not reached the item yet, oldest first.
	UnwrittenResolutions(ctx context.Context, limit int) ([]Task, error)
	// MarkWrittenBack records that task id's resolution reached its item,
	// or (note set) why the item was left alone.
	MarkWrittenBack(ctx context.Context, id int64, note string, at time.Time) error
	// AllBalances returns every positive balance, by mapper and currency.
	AllBalances(ctx context.Context) ([]MapperBalance, error)
	// Payouts lists payouts newest first, of batch or of mapperID when
	// set, at most limit.
	Payouts(ctx context.Context, batch, mapperID string, limit int) ([]Payout, error)
	// OpenPayouts returns every pending or processing payout, oldest first.
	OpenPayouts(ctx context.Context) ([]Payout, error)
	// PreparePayout records p for the whole balance of p.MapperID in
	// p.Currency and debits it, in one transaction, when the balance
	// reaches min (false otherwise). An unfinished payout of the same
	// mapper and currency comes back instead (true). The idempotency key
	// is derived from the last ledger entry the payout pays.
	PreparePayout(ctx context.Context, p Payout, min int64) (Payout, bool, error)
	// Payout returns payout id, or ErrNotFound.
	Payout(ctx context.Context, id string) (Payout, error)
	// StartTransfer moves payout id to processing and counts the attempt;
	// a paid or failed payout comes back unchanged.
	StartTransfer(ctx context.Context, id string) (Payout, error)
	// FinishPayout records a processing payout's end: paid with its
	// transfer, or failed with the reason and a reversal entry crediting
	// the amount back, in one transaction. A finished payout comes back
	// unchanged.
	FinishPayout(ctx context.Context, id string, status PayoutStatus, transferID, failure string, at time.Time) (Payout, error)
	// ShowEarnings reads and SetShowEarnings sets a mapper's leaderboard
	// opt-in.
	ShowEarnings(ctx context.Context) (map[string]bool, error)
	SetShowEarnings(ctx context.Context, mapperID string, show bool) error
}

// FeedQuery is what Store.Feed selects by.
type FeedQuery struct {
	MapperID     string
	Vocabularies []string
	Domains      []string
	Expert       bool
	Limit        int
	Calibration  int
}

// Settlement is what a vote changes, as Service computes it inside
// Store.Cast: the task's state, the grades of its votes (by mapper), and
// the ledger entries to append.
type Settlement struct {
	State      State
	Resolution *Answer
	Agreement  float64
	Grades     map[string]bool
	Entries    []Entry
	Vote       Vote // the new vote, with its weight and expert mark set
}

// Mappers is where mapper profiles are read (mapperstore.Store).
type Mappers interface {
	Mapper(ctx context.Context, id string) (mapper.Mapper, error)
	Mappers(ctx context.Context, states ...mapper.Status) ([]mapper.Mapper, error)
}

// Items reads and decides project mapping items (mappingjobstore.Store).
type Items interface {
	ItemByID(ctx context.Context, project string, id int64) (mappingjob.Item, error)
	// ResolveByCrowd records the crowd's resolution on the item (method
	// crowd, provenance, audit event) unless a reviewer decided it first
	// (mappingjob.ErrConflict).
	ResolveByCrowd(ctx context.Context, project string, r mappingjob.CrowdResolution) (mappingjob.Item, error)
	// OpenItems lists project's undecided items whose confidence lies in
	// [min, max].
	OpenItems(ctx context.Context, project string, min, max float64) ([]mappingjob.Item, error)
}

// Config holds the crowd's rules; zero fields take the defaults.
type Config struct {
	Consensus Rules
	Skill     SkillParams
	Rewards   RewardRates
	Anomalies AnomalyRules
	// CalibrationEvery puts one calibration task in every so many feed
	// tasks (default 5).
	CalibrationEvery int
	// Now is the clock (time.Now when nil; tests set it).
	Now func() time.Time
}

// Service is the crowd's operations, for the Mapper web app, the Cloud
// API and the payout activities. It is safe for concurrent use.
type Service struct {
	store   Store
	mappers Mappers
	items   Items
	cfg     Config
	now     func() time.Time
}

// NewService returns the service over its store, the mapper profiles and
// the project items; cfg's zero fields take the defaults. An invalid rule
// is an error wrapping ErrInvalid.
func NewService(store Store, mappers Mappers, items Items, cfg Config) (*Service, error) {
	if cfg.Consensus == (Rules{}) {
		cfg.Consensus = DefaultRules()
	}
	if cfg.Skill == (SkillParams{}) {
		cfg.Skill = DefaultSkillParams()
	}
	if cfg.Rewards.Currency == "" {
		cfg.Rewards = DefaultRewardRates()
	}
	if cfg.Anomalies == (AnomalyRules{}) {
		cfg.Anomalies = DefaultAnomalyRules()
	}
	if cfg.CalibrationEvery <= 0 {
		cfg.CalibrationEvery = 5
	}
	if err := cfg.Consensus.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Rewards.Validate(); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, mappers: mappers, items: items, cfg: cfg, now: now}, nil
}

// voter returns mapperID's profile, skill and tier; a mapper who may not
// vote is ErrForbidden.
func (s *Service) voter(ctx context.Context, mapperID string) (mapper.Mapper, Skill, Tier, error) {
	m, err := s.mappers.Mapper(ctx, mapperID)
	if errors.Is(err, mapper.ErrNotFound) {
		return m, Skill{}, "", fmt.Errorf("%w: mapper %s", ErrNotFound, mapperID)
	}
	if err != nil {
		return m, Skill{}, "", err
	}
	if !m.CanVote() {
		return m, Skill{}, "", fmt.Errorf("%w: mapper %s is %s; only approved mappers vote", ErrForbidden, mapperID, m.Status)
	}
	obs, err := s.store.Graded(ctx, mapperID)
	if err != nil {
		return m, Skill{}, "", err
	}
	sk := EstimateSkill(s.cfg.Skill, obs[mapperID], s.now())
	return m, sk, TierOf(sk, m.Tier), nil
}

// Feed returns up to limit tasks for mapperID (default 20): open tasks
// they have not voted on, matched to their declared expertise (every task
// when they declared none), escalated tasks too for experts, with about
// one calibration task in Config.CalibrationEvery. ErrForbidden for a
// mapper who is not approved.
func (s *Service) Feed(ctx context.Context, mapperID string, limit int) ([]Task, error) {
	m, _, tier, err := s.voter(ctx, mapperID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	cal := limit / s.cfg.CalibrationEvery
	if cal == 0 {
		cal = 1
	}
	tasks, err := s.store.Feed(ctx, FeedQuery{MapperID: mapperID, Vocabularies: lower(m.Expertise.Vocabularies),
		Domains: lower(m.Expertise.Domains), Expert: tier == TierExpert, Limit: limit, Calibration: cal})
	if err != nil {
		return nil, err
	}
	for i := range tasks {
		tasks[i].Known = nil
	}
	return tasks, nil
}

// Task returns task id for mapperID's vote page and records when they
// first opened it (the floor of the fast-vote flag reads it). A
// calibration task comes back without its known answer, looking like any
// other. ErrNotFound for an unknown task, ErrForbidden for a mapper who
// is not approved.
func (s *Service) Task(ctx context.Context, mapperID string, id int64) (Task, error) {
	if _, _, _, err := s.voter(ctx, mapperID); err != nil {
		return Task{}, err
	}
	t, err := s.store.Task(ctx, id)
	if err != nil {
		return Task{}, err
	}
	if err := s.store.Opened(ctx, mapperID, id, s.now()); err != nil {
		return Task{}, err
	}
	t.Known = nil
	return t, nil
}

// VoteResult is what a vote did: the vote as stored, the task as it now
// stands and the cents it earned at once.
type VoteResult struct {
	Vote   Vote
	Task   Task
	Reward Money
}

// Vote records mapperID's vote on task id. The vote is weighted by the
// mapper's skill; on an escalated task only experts vote and their weight
// is multiplied. The vote earns its reward at once (RewardRates.
// VoteReward on the task's confidence and the mapper's tier and rate);
// when it settles the task, every vote is graded against the resolution
// and the agreeing voters get the consensus bonus; a calibration task
// grades and pays the bonus at once against its known answer. A resolved
// project task then writes back to its item; each vote also retries up to
// five earlier resolutions that did not reach their items (WriteBack).
//
// Errors: ErrInvalid for an action that does not fit the task (an
// override without concept, a rejection choosing a concept that is not a
// candidate), ErrForbidden for a mapper who is not approved, ErrNotFound
// for an unknown task, ErrClosed for a resolved task (or an escalated one
// and a non-expert), ErrAlreadyVoted for a second vote.
func (s *Service) Vote(ctx context.Context, mapperID string, id int64, in VoteInput) (VoteResult, error) {
	m, skill, tier, err := s.voter(ctx, mapperID)
	if err != nil {
		return VoteResult{}, err
	}
	t, err := s.store.Task(ctx, id)
	if err != nil {
		return VoteResult{}, err
	}
	v, err := voteOf(t, in)
	if err != nil {
		return VoteResult{}, err
	}
	now := s.now()
	v.TaskID, v.MapperID, v.At, v.Weight = id, mapperID, now, skill.Weight
	var reward Money
	settle := func(cur Task, votes []Vote) (Settlement, error) {
		switch {
		case cur.State == StateResolved:
			return Settlement{}, fmt.Errorf("%w: task %d is resolved", ErrClosed, cur.ID)
		case cur.State == StateEscalated && tier != TierExpert:
			return Settlement{}, fmt.Errorf("%w: task %d is escalated to expert reviewers", ErrClosed, cur.ID)
		}
		nv := v
		nv.Expert = cur.State == StateEscalated
		votes[len(votes)-1] = nv
		st := Settlement{Vote: nv, State: cur.State, Grades: map[string]bool{}}
		reward = Money{Currency: s.cfg.Rewards.Currency, Cents: s.cfg.Rewards.VoteReward(cur.Confidence, tier, m.RatePercent)}
		st.Entries = append(st.Entries, Entry{MapperID: mapperID, Currency: reward.Currency, Kind: EntryVoteReward, Cents: reward.Cents, TaskID: cur.ID, At: now})
		if cur.Calibration {
			ok := cur.Known != nil && nv.Answer() == *cur.Known
			st.Grades[mapperID] = ok
			if ok {
				st.Entries = append(st.Entries, s.bonus(ctx, mapperID, cur.ID, now))
			}
			return st, nil
		}
		ballots := make([]Ballot, len(votes))
		for i, x := range votes {
			ballots[i] = Ballot{MapperID: x.MapperID, Answer: x.Answer(), Weight: x.Weight, Expert: x.Expert}
		}
		out := Consensus(s.cfg.Consensus, ballots)
		st.State, st.Agreement = out.State, out.Agreement
		if out.State != StateResolved {
			return st, nil
		}
		res := out.Answer
		st.Resolution = &res
		for _, x := range votes {
			ok := x.Answer() == res
			st.Grades[x.MapperID] = ok
			if ok {
				st.Entries = append(st.Entries, s.bonus(ctx, x.MapperID, cur.ID, now))
			}
		}
		return st, nil
	}
	saved, task, err := s.store.Cast(ctx, v, settle)
	if err != nil {
		return VoteResult{}, err
	}
	if task.State == StateResolved && !task.Calibration {
		// The vote stands whatever happens here: a resolution not written
		// back (an error, a process stopped) is retried below by the next
		// votes.
		_ = s.writeBack(ctx, task)
		if t2, err := s.store.Task(ctx, task.ID); err == nil {
			task = t2
		}
	}
	_, _ = s.WriteBack(ctx, 5)
	task.Known = nil
	return VoteResult{Vote: saved, Task: task, Reward: reward}, nil
}

// bonus is the consensus bonus entry of mapperID on task, at their rate
// (the standard rate if the profile cannot be read: the bonus is owed
// either way).
func (s *Service) bonus(ctx context.Context, mapperID string, task int64, at time.Time) Entry {
	rate := 100
	if m, err := s.mappers.Mapper(ctx, mapperID); err == nil {
		rate = m.RatePercent
	}
	return Entry{MapperID: mapperID, Currency: s.cfg.Rewards.Currency, Kind: EntryConsensusBonus, Cents: s.cfg.Rewards.Bonus(rate), TaskID: task, At: at}
}

// voteOf checks in against t and returns the vote it makes.
func voteOf(t Task, in VoteInput) (Vote, error) {
	v := Vote{Action: in.Action}
	switch in.Action {
	case ActionApprove:
		if len(t.Candidates) == 0 {
			return v, fmt.Errorf("%w: task %d has no candidate to approve; reject or override it", ErrInvalid, t.ID)
		}
		c := t.Candidates[0]
		v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = c.ConceptID, c.ConceptName, c.VocabularyID, c.DomainID
	case ActionReject:
		if in.ConceptID == 0 {
			return v, nil
		}
		for i, c := range t.Candidates {
			if c.ConceptID == in.ConceptID && i > 0 {
				v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = c.ConceptID, c.ConceptName, c.VocabularyID, c.DomainID
				return v, nil
			}
		}
		return v, fmt.Errorf("%w: concept %d is not another candidate of task %d (override to name a concept outside them)", ErrInvalid, in.ConceptID, t.ID)
	case ActionOverride:
		if in.ConceptID <= 0 {
			return v, fmt.Errorf("%w: an override needs a concept id", ErrInvalid)
		}
		v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = in.ConceptID, in.ConceptName, in.VocabularyID, in.DomainID
	default:
		return v, fmt.Errorf("%w: action %q is not approve, reject or override", ErrInvalid, in.Action)
	}
	return v, nil
}

// writeBack records t's resolution on its item: approved (the rank-1
// candidate), overridden (another concept) or rejected (no valid
// mapping), method crowd, the crowd's provenance, an audit event by
// "crowd". An item a reviewer decided first is left alone, and the note
// says so.
func (s *Service) writeBack(ctx context.Context, t Task) error {
	if t.Resolution == nil || t.ProjectID == "" {
		return nil
	}
	r := mappingjob.CrowdResolution{ItemID: t.ItemID, ConceptID: t.Resolution.ConceptID,
		Provenance: mappingjob.Provenance{"method": "crowd", "crowd_task_id": t.ID, "votes": t.Votes,
			"agreement": t.Agreement, "resolved_at": t.ResolvedAt}}
	if r.ConceptID != 0 {
		// The name, vocabulary and domain come from a vote that named it.
		votes, err := s.store.TaskVotes(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, v := range votes {
			if v.ConceptID == r.ConceptID {
				r.ConceptName, r.VocabularyID, r.DomainID = v.ConceptName, v.VocabularyID, v.DomainID
				break
			}
		}
	}
	_, err := s.items.ResolveByCrowd(ctx, t.ProjectID, r)
	note := ""
	switch {
	case errors.Is(err, mappingjob.ErrConflict):
		note = "a reviewer decided the item before the crowd: left as decided"
	case errors.Is(err, mappingjob.ErrNotFound):
		note = "the item no longer exists"
	case err != nil:
		return err
	}
	return s.store.MarkWrittenBack(ctx, t.ID, note, s.now())
}

// WriteBack retries resolutions that have not reached their items yet
// (the process stopped between the vote and the write), at most limit of
// them, and returns how many it settled.
func (s *Service) WriteBack(ctx context.Context, limit int) (int, error) {
	tasks, err := s.store.UnwrittenResolutions(ctx, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		if err := s.writeBack(ctx, t); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// AddCalibration stores a calibration task: a code with its candidates
// and the known answer (known 0: no valid mapping), mixed into the feed
// and graded at once. ErrInvalid without a code.
func (s *Service) AddCalibration(ctx context.Context, t Task, known Answer) (Task, error) {
	t.OrganizationID, t.ProjectID, t.ItemID, t.Calibration, t.Known = "", "", 0, true, &known
	if t.Vocabularies == nil && t.Domains == nil {
		probe := TaskOf("", "", mappingjob.Item{Candidates: t.Candidates})
		t.Vocabularies, t.Domains = probe.Vocabularies, probe.Domains
	}
	out, err := s.store.CreateTasks(ctx, []Task{t})
	if err != nil {
		return Task{}, err
	}
	return out[0], nil
}

// Stats returns mapperID's standing (any status: a suspended mapper still
// sees their earnings).
func (s *Service) Stats(ctx context.Context, mapperID string) (MapperStats, error) {
	m, err := s.mappers.Mapper(ctx, mapperID)
	if errors.Is(err, mapper.ErrNotFound) {
		return MapperStats{}, fmt.Errorf("%w: mapper %s", ErrNotFound, mapperID)
	}
	if err != nil {
		return MapperStats{}, err
	}
	obs, err := s.store.Graded(ctx, mapperID)
	if err != nil {
		return MapperStats{}, err
	}
	votes, err := s.store.Votes(ctx, mapperID, 1<<30)
	if err != nil {
		return MapperStats{}, err
	}
	earned, err := s.store.Earned(ctx)
	if err != nil {
		return MapperStats{}, err
	}
	show, err := s.store.ShowEarnings(ctx)
	if err != nil {
		return MapperStats{}, err
	}
	sk := EstimateSkill(s.cfg.Skill, obs[mapperID], s.now())
	return MapperStats{MapperID: mapperID, DisplayName: m.DisplayName, Votes: len(votes), Skill: sk,
		Tier: TierOf(sk, m.Tier), Earned: earned[mapperID], ShowEarnings: show[mapperID]}, nil
}

// Leaderboard ranks approved mappers by reputation (skill, to three
// decimals: a few seconds of recency decay do not reorder equals), then
// votes, then display name, at most limit rows (default 50). Earnings show only
// for mappers who opted in (SetShowEarnings).
func (s *Service) Leaderboard(ctx context.Context, limit int) ([]LeaderboardRow, error) {
	if limit <= 0 {
		limit = 50
	}
	ms, err := s.mappers.Mappers(ctx, mapper.StatusApproved)
	if err != nil {
		return nil, err
	}
	obs, err := s.store.Graded(ctx, "")
	if err != nil {
		return nil, err
	}
	earned, err := s.store.Earned(ctx)
	if err != nil {
		return nil, err
	}
	show, err := s.store.ShowEarnings(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.VoteCounts(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	rows := make([]LeaderboardRow, 0, len(ms))
	for _, m := range ms {
		sk := EstimateSkill(s.cfg.Skill, obs[m.ID], now)
		r := LeaderboardRow{MapperID: m.ID, DisplayName: m.DisplayName, Votes: counts[m.ID], Accuracy: sk.Accuracy,
			Reputation: math.Round(sk.P*1000) / 1000, Tier: TierOf(sk, m.Tier)}
		if show[m.ID] {
			r.Earned = earned[m.ID]
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Reputation != b.Reputation {
			return a.Reputation > b.Reputation
		}
		if a.Votes != b.Votes {
			return a.Votes > b.Votes
		}
		return a.DisplayName < b.DisplayName
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	for i := range rows {
		rows[i].Rank = i + 1
	}
	return rows, nil
}

// SetShowEarnings records mapperID's opt-in to show earnings on the
// leaderboard.
func (s *Service) SetShowEarnings(ctx context.Context, mapperID string, show bool) error {
	return s.store.SetShowEarnings(ctx, mapperID, show)
}

// Balance returns mapperID's balances per currency: the sum of their
// ledger entries.
func (s *Service) Balance(ctx context.Context, mapperID string) ([]Money, error) {
	return s.store.Balances(ctx, mapperID)
}

// Ledger returns mapperID's latest ledger entries, newest first, at most
// limit (default 50).
func (s *Service) Ledger(ctx context.Context, mapperID string, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 50
	}
	return s.store.Ledger(ctx, mapperID, limit)
}

// Flags returns the anomaly flags of every approved mapper's latest votes
// (AnomalyRules) and of their calibration record (PoorCalibration), for
// the admin page.
func (s *Service) Flags(ctx context.Context) ([]Flag, error) {
	ms, err := s.mappers.Mappers(ctx, mapper.StatusApproved)
	if err != nil {
		return nil, err
	}
	obs, err := s.store.Graded(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Flag
	for _, m := range ms {
		votes, err := s.store.Votes(ctx, m.ID, s.cfg.Anomalies.Window)
		if err != nil {
			return nil, err
		}
		traces := make([]VoteTrace, len(votes))
		for i, v := range votes { // newest first → oldest first
			traces[len(votes)-1-i] = VoteTrace{Action: v.Action, Elapsed: v.Elapsed, At: v.At}
		}
		out = append(out, Anomalies(s.cfg.Anomalies, m.ID, traces)...)
		if f, ok := PoorCalibration(s.cfg.Anomalies, m.ID, obs[m.ID]); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

func lower(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

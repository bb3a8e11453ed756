// Package crowd is Portiere Mapper's crowd review: tasks made from a
// project's mapping items (and calibration tasks with known answers), one
// vote per mapper per task, reputation-weighted consensus with escalation
// to experts, reputation (a one-coin Dawid–Skene skill, recency-weighted),
// tiers, anomaly flags, rewards and the append-only ledger in integer
// cents per currency, balances derived from it, payouts and the
// leaderboard.
//
// The pure rules live in consensus.go, reputation.go, rewards.go,
// ledger.go and anomaly.go; Service (service.go) is what the Mapper web
// app, the Cloud API and the payout activities call; Store is its
// storage, implemented in PostgreSQL by crowdstore. A mapper's identity,
// status, expertise, tier override and rate come from package mapper.
// A resolved task writes back to its project's mapping item through the
// ItemWriter port (mappingjobstore), with method crowd, provenance and an
// audit event.
package crowd

import (
	"errors"
	"time"

	"github.com/portiere/portiere/mappingjob"
)

// Sentinel errors; Service and Store errors wrap one of them.
var (
	// ErrNotFound: no such task, mapper or payout (or one the caller may
	// not see).
	ErrNotFound = errors.New("crowd: not found")
	// ErrInvalid: the input breaks a rule; the message says which.
	ErrInvalid = errors.New("crowd: invalid")
	// ErrAlreadyVoted: the mapper voted on the task already (one vote per
	// mapper per task, enforced by the database).
	ErrAlreadyVoted = errors.New("crowd: already voted on this task")
	// ErrClosed: the task is resolved, or escalated to experts and the
	// mapper is not one.
	ErrClosed = errors.New("crowd: the task takes no more votes from this mapper")
	// ErrForbidden: the mapper may not vote (not approved, suspended).
	ErrForbidden = errors.New("crowd: forbidden")
	// ErrInsufficientBalance: a debit larger than the balance.
	ErrInsufficientBalance = errors.New("crowd: insufficient balance")
)

// Task is one mapping question put to the crowd: a project's mapping item
// (ProjectID, ItemID) or a calibration task (Calibration, with its known
// answer, which mappers never see).
type Task struct {
	ID             int64
	OrganizationID string // "" for calibration tasks
	ProjectID      string
	ItemID         int64
	Source         string
	Code           string
	Description    string
	SourceColumn   string
	// Context is what the source row says beside the code (specimen,
	// unit, domain, category …), for the vote page.
	Context map[string]string
	// Candidates are the engine's, ranked, with confidence and
	// explanation; Confidence is the automated confidence of the item.
	Candidates []mappingjob.Candidate
	Confidence float64
	// Vocabularies and Domains are the candidates', what the feed matches
	// against a mapper's expertise.
	Vocabularies []string
	Domains      []string
	Calibration  bool
	Known        *Answer // the calibration answer; nil otherwise
	State        State
	Resolution   *Answer
	Agreement    float64
	Votes        int
	CreatedAt    time.Time
	ResolvedAt   *time.Time
	SubmittedBy  string // who sent it (an actor of the audit trail)
	// WrittenBack is when the resolution reached the project's item; nil
	// while it has not (or for calibration tasks). WriteBackNote says why
	// an item was left alone (a reviewer decided it first).
	WrittenBack   *time.Time
	WriteBackNote string
}

// Vote is one mapper's vote on a task.
type Vote struct {
	ID       int64
	TaskID   int64
	MapperID string
	Action   Action
	// ConceptID is the concept the vote names: the rank-1 candidate for an
	// approval, another candidate for a rejection that chose one (0 for a
	// plain rejection), the searched concept for an override; with its
	// name, vocabulary and domain.
	ConceptID    int32
	ConceptName  string
	VocabularyID string
	DomainID     string
	Weight       float64 // the voter's weight when the vote was cast
	Expert       bool    // cast by an expert on an escalated task
	Elapsed      time.Duration
	Correct      *bool // graded at resolution (or at once on calibration tasks)
	At           time.Time
}

// Answer returns what v says the code maps to.
func (v Vote) Answer() Answer { return Answer{ConceptID: v.ConceptID} }

// VoteInput is what a mapper submits on the vote page.
type VoteInput struct {
	Action Action
	// ConceptID: for a rejection, the other candidate chosen (0: none);
	// for an override, the concept found by search, with its name,
	// vocabulary and domain (the web app reads them from the
	// vocabulary). Ignored for an approval.
	ConceptID    int32
	ConceptName  string
	VocabularyID string
	DomainID     string
}

// Submission is an organization's request to send project items to the
// crowd: ItemIDs, or (when empty) every open item whose confidence lies in
// [MinConfidence, MaxConfidence] — the project's review band.
type Submission struct {
	OrganizationID string
	ProjectID      string
	ItemIDs        []int64
	MinConfidence  float64
	MaxConfidence  float64
	SubmittedBy    string // the actor, for the audit trail
}

// ItemStatus is the crowd status of one submitted item, for the
// organization.
type ItemStatus struct {
	ItemID      int64
	TaskID      int64
	State       State
	Votes       int
	Agreement   float64
	Resolution  *Answer
	ResolvedAt  *time.Time
	WrittenBack bool
}

// MapperStats is one mapper's standing: skill, tier, votes and earnings.
type MapperStats struct {
	MapperID     string
	DisplayName  string
	Votes        int
	Skill        Skill
	Tier         Tier
	Earned       []Money // every credit ever, per currency
	ShowEarnings bool
}

// LeaderboardRow is one line of the leaderboard; Earned is nil unless the
// mapper opted in to show it.
type LeaderboardRow struct {
	Rank        int
	MapperID    string
	DisplayName string
	Votes       int
	Accuracy    float64
	Reputation  float64
	Tier        Tier
	Earned      []Money
}

package crowd

import (
	"fmt"
	"math"
	"sort"
)

// Action is what a mapper did on a task's proposed mapping.
type Action string

// The vote actions, the guide's three: approve the rank-1 candidate,
// reject it (optionally choosing another candidate), override with a
// concept found by search.
const (
	ActionApprove  Action = "approve"
	ActionReject   Action = "reject"
	ActionOverride Action = "override"
)

// Answer is what a vote says the code maps to: ConceptID 0 means "no valid
// mapping" (a rejection without another candidate). Votes agree when their
// answers have the same ConceptID, whatever action reached it: an approval
// of candidate 1 and a rejection choosing candidate 1 cannot happen
// together, but an override naming the top candidate's concept agrees with
// an approval.
type Answer struct {
	ConceptID int32
}

// Ballot is one vote as consensus weighs it.
type Ballot struct {
	MapperID string
	Answer   Answer
	// Weight is the voter's reputation weight (Skill.Weight); Expert marks
	// a vote cast by an expert reviewer on an escalated task, multiplied by
	// Rules.ExpertWeight.
	Weight float64
	Expert bool
}

// Rules are the consensus parameters. The zero value is not valid; use
// DefaultRules and change what differs.
type Rules struct {
	// MinVotes is the fewest votes that can resolve a task.
	MinVotes int
	// Threshold is the share of the total weight the leading answer needs
	// (0.7: 70 %).
	Threshold float64
	// MaxVotes is how many regular votes a task takes before, still
	// without agreement, it escalates to expert reviewers.
	MaxVotes int
	// ExpertWeight multiplies an expert's weight on an escalated task.
	ExpertWeight float64
}

// DefaultRules: three votes at least, 70 % agreement, escalation after five
// votes without it, experts' votes count three times.
func DefaultRules() Rules {
	return Rules{MinVotes: 3, Threshold: 0.7, MaxVotes: 5, ExpertWeight: 3}
}

// Validate reports the first rule that cannot work.
func (r Rules) Validate() error {
	switch {
	case r.MinVotes < 1:
		return fmt.Errorf("%w: consensus needs at least one vote (min votes %d)", ErrInvalid, r.MinVotes)
	case r.Threshold <= 0.5 || r.Threshold > 1:
		return fmt.Errorf("%w: agreement threshold %.2f must be above 0.5 and at most 1 (two answers could both win otherwise)", ErrInvalid, r.Threshold)
	case r.MaxVotes < r.MinVotes:
		return fmt.Errorf("%w: max votes %d is below min votes %d", ErrInvalid, r.MaxVotes, r.MinVotes)
	case r.ExpertWeight < 1:
		return fmt.Errorf("%w: expert weight %.2f is below 1", ErrInvalid, r.ExpertWeight)
	}
	return nil
}

// State is where a task stands.
type State string

// The task states. Open tasks take votes from any eligible mapper;
// escalated ones only from experts; resolved ones none.
const (
	StateOpen      State = "open"
	StateEscalated State = "escalated"
	StateResolved  State = "resolved"
)

// Outcome is the consensus of a task's ballots.
type Outcome struct {
	State State
	// Answer is the leading answer (the resolution once State is
	// resolved); Agreement its share of the total weight.
	Answer    Answer
	Agreement float64
	Votes     int // every ballot
	Experts   int // expert ballots among them
}

// Consensus weighs ballots under r. A task resolves once it has at least
// MinVotes ballots and one answer holds at least Threshold of the total
// weight; a task with MaxVotes regular ballots and no such answer is
// escalated, and then resolves the same way with experts' weights
// multiplied. Ties of weight (within 1e-9) go to the lower concept id so the outcome
// does not depend on ballot order. Consensus is pure.
func Consensus(r Rules, ballots []Ballot) Outcome {
	out := Outcome{State: StateOpen, Votes: len(ballots)}
	// Summing in one order (by mapper) keeps the floating-point total,
	// and so the outcome, independent of the order ballots came in.
	ballots = append([]Ballot(nil), ballots...)
	sort.Slice(ballots, func(i, j int) bool { return ballots[i].MapperID < ballots[j].MapperID })
	weights := map[int32]float64{}
	var total float64
	regular := 0
	for _, b := range ballots {
		w := b.Weight
		if w < MinWeight {
			w = MinWeight
		}
		if b.Expert {
			w *= r.ExpertWeight
			out.Experts++
		} else {
			regular++
		}
		weights[b.Answer.ConceptID] += w
		total += w
	}
	if total == 0 {
		return out
	}
	ids := make([]int32, 0, len(weights))
	for id := range weights {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if math.Abs(weights[ids[i]]-weights[ids[j]]) > 1e-9 {
			return weights[ids[i]] > weights[ids[j]]
		}
		return ids[i] < ids[j]
	})
	out.Answer = Answer{ConceptID: ids[0]}
	out.Agreement = weights[ids[0]] / total
	switch {
	case len(ballots) >= r.MinVotes && out.Agreement >= r.Threshold-1e-9:
		out.State = StateResolved
	case regular >= r.MaxVotes || out.Experts > 0:
		out.State = StateEscalated
	}
	return out
}

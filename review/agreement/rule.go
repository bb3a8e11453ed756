package agreement

import (
	"errors"
	"fmt"
)

// ErrInvalidDecision is returned by Resolve for a decision without a
// reviewer, with an unknown action, or accepting a concept without naming it.
var ErrInvalidDecision = errors.New("agreement: invalid decision")

// Action is what a reviewer did to a mapping item.
type Action string

// The review actions.
const (
	// ActionApprove accepts the proposed concept.
	ActionApprove Action = "approve"
	// ActionReject says the proposed concept is wrong.
	ActionReject Action = "reject"
	// ActionOverride accepts a concept the reviewer chose instead.
	ActionOverride Action = "override"
)

// State is where an item stands under a project's review rule.
type State string

// The review states Resolve returns.
const (
	// StateUndecided: nobody has decided the item yet.
	StateUndecided State = "undecided"
	// StateFinal: the decision stands (Outcome.Action and ConceptID say which).
	StateFinal State = "final"
	// StatePendingSecondReview: one reviewer accepted a concept and the rule
	// needs a second, different reviewer to agree.
	StatePendingSecondReview State = "pending_second_review"
	// StateDisagreement: two reviewers' latest decisions differ; an
	// adjudication (or a reviewer changing their mind) resolves it.
	StateDisagreement State = "disagreement"
)

// Decision is one recorded review decision on an item. Resolve expects
// decisions oldest first.
type Decision struct {
	Reviewer string
	Action   Action
	// ConceptID is the accepted concept for approve and override; for a
	// rejection it may name the rejected concept and is not compared.
	ConceptID int64
	// Adjudication marks a decision taken to settle the item by someone
	// entitled to (a project admin): it is final whatever the rule.
	Adjudication bool
}

// Rule is a project's review rule.
type Rule struct {
	// SecondReviewer requires an acceptance (approve or override) to be
	// confirmed by a second, different reviewer before it is final.
	SecondReviewer bool
}

// Outcome is the result of applying a Rule to an item's decisions.
type Outcome struct {
	State State
	// Action and ConceptID are the decision that stands when State is
	// StateFinal, and the first reviewer's proposal when it is
	// StatePendingSecondReview.
	Action    Action
	ConceptID int64
	// Reviewers are the reviewers whose latest decisions produced the state,
	// in the order of their latest decision.
	Reviewers []string
}

// Resolve applies rule to the decisions recorded on one item (oldest first)
// and reports the item's state. It is a pure function and safe for
// concurrent use.
//
// Without the second-reviewer rule the latest decision is final. With it,
// only each reviewer's latest decision counts:
//   - one reviewer who accepted a concept leaves the item pending a second
//     reviewer; one reviewer who rejected makes the rejection final, because
//     a rejection only withdraws a mapping from exports and from the
//     organization's memory and so needs no confirmation;
//   - two or more reviewers make the item final when they all agree (all
//     reject, or all accept the same concept, whether by approve or
//     override; the earliest of them gives Action) and a disagreement
//     otherwise.
//
// The latest adjudication, if any, is final and decisions before it are not
// considered; decisions after it reopen the item under the rule. Resolve
// returns ErrInvalidDecision for a malformed decision.
func Resolve(rule Rule, decisions []Decision) (Outcome, error) {
	for i, d := range decisions {
		if err := d.validate(); err != nil {
			return Outcome{}, fmt.Errorf("%w: decision %d: %v", ErrInvalidDecision, i, err)
		}
	}
	start := 0
	var adjudicated *Decision
	for i := range decisions {
		if decisions[i].Adjudication {
			adjudicated = &decisions[i]
			start = i + 1
		}
	}
	rest := decisions[start:]
	if len(rest) == 0 {
		if adjudicated != nil {
			return finalOf(*adjudicated), nil
		}
		return Outcome{State: StateUndecided}, nil
	}
	if !rule.SecondReviewer {
		return finalOf(rest[len(rest)-1]), nil
	}

	latest := latestPerReviewer(rest)
	if adjudicated != nil {
		// Decisions after an adjudication are weighed against it, as if the
		// adjudicator were the first reviewer.
		latest = append([]Decision{*adjudicated}, dropReviewer(latest, adjudicated.Reviewer)...)
	}
	if len(latest) == 1 {
		d := latest[0]
		if d.Action == ActionReject {
			return finalOf(d), nil
		}
		return Outcome{State: StatePendingSecondReview, Action: d.Action, ConceptID: d.ConceptID, Reviewers: []string{d.Reviewer}}, nil
	}
	out := Outcome{Reviewers: make([]string, len(latest))}
	for i, d := range latest {
		out.Reviewers[i] = d.Reviewer
	}
	first := latest[0]
	for _, d := range latest[1:] {
		if !sameVerdict(first, d) {
			out.State = StateDisagreement
			return out, nil
		}
	}
	out.State = StateFinal
	out.Action = first.Action
	out.ConceptID = first.ConceptID
	return out, nil
}

func (d Decision) validate() error {
	if d.Reviewer == "" {
		return errors.New("no reviewer")
	}
	switch d.Action {
	case ActionApprove, ActionOverride:
		if d.ConceptID == 0 {
			return fmt.Errorf("%s without a concept", d.Action)
		}
	case ActionReject:
	default:
		return fmt.Errorf("unknown action %q", d.Action)
	}
	return nil
}

func finalOf(d Decision) Outcome {
	return Outcome{State: StateFinal, Action: d.Action, ConceptID: d.ConceptID, Reviewers: []string{d.Reviewer}}
}

// latestPerReviewer keeps each reviewer's last decision, ordered by when
// that last decision was made.
func latestPerReviewer(ds []Decision) []Decision {
	last := map[string]int{}
	for i, d := range ds {
		last[d.Reviewer] = i
	}
	var out []Decision
	for i, d := range ds {
		if last[d.Reviewer] == i {
			out = append(out, d)
		}
	}
	return out
}

func dropReviewer(ds []Decision, reviewer string) []Decision {
	var out []Decision
	for _, d := range ds {
		if d.Reviewer != reviewer {
			out = append(out, d)
		}
	}
	return out
}

func sameVerdict(a, b Decision) bool {
	if a.Action == ActionReject || b.Action == ActionReject {
		return a.Action == b.Action
	}
	return a.ConceptID == b.ConceptID
}

// Label is the category a decision counts as in Kappa: "reject" for a
// rejection and "accept:<concept id>" for an approval or override, so that
// kappa agrees with Resolve on what counts as the same verdict.
func (d Decision) Label() string {
	if d.Action == ActionReject {
		return string(ActionReject)
	}
	return fmt.Sprintf("accept:%d", d.ConceptID)
}

// Ratings turns one item's decisions (oldest first) into the ratings
// ProjectAgreement expects: each reviewer's latest decision, labelled with
// Label. Adjudications are left out, since an adjudicator settles a
// disagreement rather than rating the item independently.
func Ratings(item string, decisions []Decision) []Rating {
	var independent []Decision
	for _, d := range decisions {
		if !d.Adjudication {
			independent = append(independent, d)
		}
	}
	var out []Rating
	for _, d := range latestPerReviewer(independent) {
		out = append(out, Rating{Item: item, Reviewer: d.Reviewer, Label: d.Label()})
	}
	return out
}

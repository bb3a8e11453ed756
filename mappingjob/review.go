package mappingjob

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portiere/portiere/review/agreement"
)

// ErrSameReviewer: the second-reviewer rule needs a reviewer other than the
// one who gave the first decision.
var ErrSameReviewer = errors.New("mappingjob: the project's second-reviewer rule needs a second, different reviewer")

// Action is what a reviewer did to an item, as the audit trail records it.
type Action string

// The review actions. Approve, Reject and Override are decisions; Comment
// only adds a note to the trail.
const (
	ActionApprove  Action = "approve"
	ActionReject   Action = "reject"
	ActionOverride Action = "override"
	ActionComment  Action = "comment"
)

// ReviewState is where an item stands under its project's review rule.
type ReviewState string

// The review states. An item is open until someone decides it, awaiting a
// second reviewer when the rule asks for one, flagged when two reviewers
// disagree, and final otherwise.
const (
	StateOpen           ReviewState = "open"
	StateAwaitingSecond ReviewState = "awaiting_second_review"
	StateFlagged        ReviewState = "flagged"
	StateFinal          ReviewState = "final"
)

// Vote is one reviewer's decision kept on the item while the
// second-reviewer rule is not satisfied: the first reviewer's, and the
// second's when it disagrees. It is stored as JSON.
type Vote struct {
	Reviewer     string    `json:"reviewer"`
	Action       Action    `json:"action"`
	ConceptID    int32     `json:"concept_id"`
	ConceptName  string    `json:"concept_name"`
	VocabularyID string    `json:"vocabulary_id"`
	DomainID     string    `json:"domain_id"`
	Comment      string    `json:"comment"`
	At           time.Time `json:"at"`
}

// State reports the item's review state.
func (it Item) State() ReviewState {
	switch {
	case it.Flagged:
		return StateFlagged
	case it.FirstDecision != nil:
		return StateAwaitingSecond
	case it.Review == ReviewPending || it.Review == "":
		return StateOpen
	}
	return StateFinal
}

// Snapshot is the part of an item a decision changes, as the audit trail's
// before and after record it.
type Snapshot struct {
	ReviewDecision     ReviewStatus `json:"review_decision"`
	ReviewState        ReviewState  `json:"review_state"`
	Method             Method       `json:"method"`
	TargetConceptID    *int32       `json:"target_concept_id"`
	TargetConceptName  string       `json:"target_concept_name,omitempty"`
	TargetVocabularyID string       `json:"target_vocabulary_id,omitempty"`
	TargetDomainID     string       `json:"target_domain_id,omitempty"`
	FirstDecision      *Vote        `json:"first_decision,omitempty"`
	SecondDecision     *Vote        `json:"second_decision,omitempty"`
	Revision           int          `json:"revision"`
	// Adjudication marks a decision that settled the item whatever the
	// rule (a project admin's on a flagged item).
	Adjudication bool `json:"adjudication,omitempty"`
}

// SnapshotOf returns the snapshot of it.
func SnapshotOf(it Item) Snapshot {
	s := Snapshot{ReviewDecision: it.Review, ReviewState: it.State(), Method: it.Method,
		TargetConceptName: it.TargetName, TargetVocabularyID: it.TargetVocabulary, TargetDomainID: it.TargetDomain,
		FirstDecision: it.FirstDecision, SecondDecision: it.SecondDecision, Revision: it.Revision}
	if it.ConceptID != 0 {
		id := it.ConceptID
		s.TargetConceptID = &id
	}
	return s
}

// Event is one row of an item's audit trail.
type Event struct {
	ID       int64
	ItemKind string // "concept" or "schema"
	ItemID   int64
	Actor    string // a user id, an API key id ("key:…") or "operator"
	Action   string // approve, reject, override, comment, sync, ...
	// Before and After are the item's state around the action, as JSON
	// (null for a comment).
	Before, After json.RawMessage
	Comment       string
	At            time.Time
}

// The item kinds of the audit trail.
const (
	KindConcept = "concept"
	KindSchema  = "schema"
)

// Filter selects the open items a bulk approval takes: items nobody has
// decided yet (pending, not awaiting a second reviewer, not flagged) that
// have a concept to approve, narrowed by the set fields.
type Filter struct {
	Source        string   // the items' source (the SDK's mapping id)
	Method        Method   // inference's routing: auto, review, manual
	MinConfidence *float64 // inclusive
	MaxConfidence *float64 // inclusive
	Domain        string   // the target's domain
	Vocabulary    string   // the target's vocabulary
	// Text is found, case-insensitive, in the source code or description.
	Text string
}

// ActionOf is the audit action of review decision r: approve, reject or
// override ("" for any other status).
func ActionOf(r ReviewStatus) Action {
	switch r {
	case ReviewApproved:
		return ActionApprove
	case ReviewRejected:
		return ActionReject
	case ReviewOverridden:
		return ActionOverride
	}
	return ""
}

// SecondReviewRule says which decisions a project's second-reviewer
// setting (tenancy.SecondReviewer: none, overrides, all) sends to a second
// reviewer: every acceptance under "all", overrides under "overrides". A
// rejection alone is final under either (it only withdraws a mapping;
// agreement.Resolve).
func SecondReviewRule(setting string, action Action) bool {
	switch setting {
	case "all":
		return action == ActionApprove || action == ActionOverride
	case "overrides":
		return action == ActionOverride
	}
	return false
}

// Apply returns cur after decision d: the decision itself when it is final,
// or the item awaiting a second reviewer or flagged under the rule
// (agreement.Resolve decides); now stamps the vote. It is pure, and does
// not touch Revision, DecidedAt or ID (the store sets them).
//
// Errors: ErrInvalid for an approval of an item without a concept, an
// override without one or an unknown decision; ErrSameReviewer when d's
// actor gave the first decision the item awaits a second one for;
// ErrConflict for a non-adjudicating decision on a flagged item.
func Apply(cur Item, d Decision, now time.Time) (Item, Action, error) {
	next := cur
	v := Vote{Reviewer: d.Actor, Comment: d.Comment, At: now.UTC()}
	switch d.Review {
	case ReviewApproved:
		v.Action = ActionApprove
		v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = cur.ConceptID, cur.TargetName, cur.TargetVocabulary, cur.TargetDomain
		if v.ConceptID == 0 && len(cur.Candidates) > 0 {
			c := cur.Candidates[0]
			v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = c.ConceptID, c.ConceptName, c.VocabularyID, c.DomainID
		}
		if v.ConceptID == 0 {
			return cur, "", fmt.Errorf("%w: item %d has no target concept to approve (override it or reject it)", ErrInvalid, cur.ID)
		}
	case ReviewOverridden:
		if d.ConceptID <= 0 {
			return cur, "", fmt.Errorf("%w: an override needs a concept id", ErrInvalid)
		}
		v.Action = ActionOverride
		v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID = d.ConceptID, d.ConceptName, d.VocabularyID, d.DomainID
	case ReviewRejected:
		v.Action = ActionReject
	default:
		return cur, "", fmt.Errorf("%w: decision %q", ErrInvalid, d.Review)
	}
	if d.Actor == "" {
		return cur, "", fmt.Errorf("%w: a decision needs its reviewer", ErrInvalid)
	}

	switch {
	case cur.Flagged && d.Adjudication:
		return final(next, v, d), v.Action, nil
	case cur.Flagged:
		return cur, "", fmt.Errorf("%w: item %d is flagged: its two reviewers disagree, and a project admin's decision resolves it", ErrConflict, cur.ID)
	case cur.FirstDecision != nil:
		first := *cur.FirstDecision
		if first.Reviewer == v.Reviewer {
			return cur, "", fmt.Errorf("%w: %s gave the first decision on item %d (%s); another reviewer must confirm or dispute it",
				ErrSameReviewer, v.Reviewer, cur.ID, first.Action)
		}
		out, err := agreement.Resolve(agreement.Rule{SecondReviewer: true}, []agreement.Decision{ballot(first), ballot(v)})
		if err != nil {
			return cur, "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if out.State == agreement.StateFinal {
			// The two agree; the earliest decision says how (an override
			// confirmed by an approval stays an override).
			agreed := first
			agreed.Reviewer, agreed.Comment, agreed.At = v.Reviewer, v.Comment, v.At
			return final(next, agreed, d), v.Action, nil
		}
		next.Flagged, next.SecondDecision = true, &v
		return next, v.Action, nil
	}
	if !d.SecondReview {
		return final(next, v, d), v.Action, nil
	}
	out, err := agreement.Resolve(agreement.Rule{SecondReviewer: true}, []agreement.Decision{ballot(v)})
	if err != nil {
		return cur, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if out.State == agreement.StateFinal { // a rejection needs no confirmation
		return final(next, v, d), v.Action, nil
	}
	// Awaiting a second reviewer: the item shows the proposed target, so
	// the second reviewer's approval confirms what the first chose; it
	// stays pending (out of exports and the memory) until then.
	next.FirstDecision, next.SecondDecision, next.Flagged = &v, nil, false
	next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID
	next.Review = ReviewPending
	if v.Action == ActionOverride {
		next.Method = MethodOverride
	}
	return next, v.Action, nil
}

// final is cur decided by v: the doc's shapes (approve: method auto;
// reject: target cleared, method unmapped; override: method override).
func final(cur Item, v Vote, d Decision) Item {
	next := cur
	next.FirstDecision, next.SecondDecision, next.Flagged = nil, nil, false
	next.DecidedBy = d.DecidedBy
	switch v.Action {
	case ActionApprove:
		next.Review, next.Method = ReviewApproved, MethodAuto
		next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID
	case ActionOverride:
		next.Review, next.Method = ReviewOverridden, MethodOverride
		next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = v.ConceptID, v.ConceptName, v.VocabularyID, v.DomainID
	case ActionReject:
		next.Review, next.Method = ReviewRejected, MethodUnmapped
		next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = 0, "", "", ""
	}
	return next
}

// ballot is v as agreement's Decision.
func ballot(v Vote) agreement.Decision {
	a := agreement.ActionApprove
	switch v.Action {
	case ActionOverride:
		a = agreement.ActionOverride
	case ActionReject:
		a = agreement.ActionReject
	}
	return agreement.Decision{Reviewer: v.Reviewer, Action: a, ConceptID: int64(v.ConceptID)}
}

// Ratings turns a project's decision events (oldest first) into the
// ratings agreement.ProjectAgreement compares: each reviewer's latest
// decision per item, adjudications left out.
func Ratings(events []Event) []agreement.Rating {
	byItem := map[int64][]agreement.Decision{}
	var order []int64
	for _, e := range events {
		var a agreement.Action
		switch Action(e.Action) {
		case ActionApprove:
			a = agreement.ActionApprove
		case ActionOverride:
			a = agreement.ActionOverride
		case ActionReject:
			a = agreement.ActionReject
		default:
			continue
		}
		var after Snapshot
		_ = json.Unmarshal(e.After, &after)
		var concept int64
		switch {
		case a == agreement.ActionReject:
		case after.SecondDecision != nil && after.SecondDecision.Reviewer == e.Actor:
			concept = int64(after.SecondDecision.ConceptID)
		case after.TargetConceptID != nil:
			concept = int64(*after.TargetConceptID)
		}
		if a != agreement.ActionReject && concept == 0 {
			continue
		}
		if _, ok := byItem[e.ItemID]; !ok {
			order = append(order, e.ItemID)
		}
		byItem[e.ItemID] = append(byItem[e.ItemID], agreement.Decision{Reviewer: e.Actor, Action: a, ConceptID: concept, Adjudication: after.Adjudication})
	}
	var out []agreement.Rating
	for _, id := range order {
		out = append(out, agreement.Ratings(fmt.Sprint(id), byItem[id])...)
	}
	return out
}

// Accepted is an approved or overridden item as an export reads it: the
// item's source, code and target, the target's concept code from the
// vocabulary (FHIR needs it) and the deciding reviewer's email. Only the
// fields an export uses are set.
type Accepted struct {
	Item
	ConceptCode string
	Reviewer    string
}

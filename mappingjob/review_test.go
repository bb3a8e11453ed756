package mappingjob_test

import (
	"errors"
	"testing"
	"time"

	"github.com/portiere/portiere/mappingjob"
)

func proposed() mappingjob.Item {
	return mappingjob.Item{ID: 7, Code: "I10", ConceptID: 11, TargetName: "eleven", TargetVocabulary: "SNOMED", TargetDomain: "Condition",
		Method: mappingjob.MethodReview, InferenceMethod: mappingjob.MethodReview, Review: mappingjob.ReviewPending, Revision: 1,
		Candidates: []mappingjob.Candidate{{ConceptID: 11, ConceptName: "eleven", VocabularyID: "SNOMED", DomainID: "Condition"}}}
}

var now = time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)

func apply(t *testing.T, it mappingjob.Item, d mappingjob.Decision) mappingjob.Item {
	t.Helper()
	next, _, err := mappingjob.Apply(it, d, now)
	if err != nil {
		t.Fatalf("%+v: %v", d, err)
	}
	return next
}

func TestApplyWithoutRule(t *testing.T) {
	approved := apply(t, proposed(), mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "a", DecidedBy: "a"})
	if approved.State() != mappingjob.StateFinal || approved.Review != mappingjob.ReviewApproved || approved.Method != mappingjob.MethodAuto ||
		approved.ConceptID != 11 || approved.DecidedBy != "a" || approved.InferenceMethod != mappingjob.MethodReview {
		t.Errorf("approved %+v", approved)
	}
	rejected := apply(t, approved, mappingjob.Decision{Review: mappingjob.ReviewRejected, Actor: "b"})
	if rejected.Review != mappingjob.ReviewRejected || rejected.Method != mappingjob.MethodUnmapped || rejected.ConceptID != 0 || rejected.TargetName != "" {
		t.Errorf("rejected %+v", rejected)
	}
	// Approving a rejected item takes the rank-1 candidate again.
	if again := apply(t, rejected, mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "a"}); again.ConceptID != 11 || again.TargetName != "eleven" {
		t.Errorf("approved again %+v", again)
	}
	noTarget := proposed()
	noTarget.ConceptID, noTarget.Candidates = 0, nil
	for _, c := range []struct {
		it mappingjob.Item
		d  mappingjob.Decision
	}{
		{noTarget, mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "a"}},
		{proposed(), mappingjob.Decision{Review: mappingjob.ReviewOverridden, Actor: "a"}},
		{proposed(), mappingjob.Decision{Review: "maybe", Actor: "a"}},
		{proposed(), mappingjob.Decision{Review: mappingjob.ReviewApproved}},
	} {
		if _, _, err := mappingjob.Apply(c.it, c.d, now); !errors.Is(err, mappingjob.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c.d, err)
		}
	}
}

func TestApplySecondReviewer(t *testing.T) {
	override := mappingjob.Decision{Review: mappingjob.ReviewOverridden, ConceptID: 22, ConceptName: "twenty-two", VocabularyID: "LOINC", Actor: "a", SecondReview: true}
	first := apply(t, proposed(), override)
	if first.State() != mappingjob.StateAwaitingSecond || first.Review != mappingjob.ReviewPending || first.ConceptID != 22 ||
		first.FirstDecision == nil || first.FirstDecision.Reviewer != "a" || !first.FirstDecision.At.Equal(now) {
		t.Fatalf("first override %+v", first)
	}
	if _, _, err := mappingjob.Apply(first, mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "a"}, now); !errors.Is(err, mappingjob.ErrSameReviewer) {
		t.Fatalf("the same reviewer twice: %v", err)
	}
	// Agreement: an approval of what the first chose; the override stands.
	agreed := apply(t, first, mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "b", DecidedBy: "b"})
	if agreed.State() != mappingjob.StateFinal || agreed.Review != mappingjob.ReviewOverridden || agreed.Method != mappingjob.MethodOverride ||
		agreed.ConceptID != 22 || agreed.FirstDecision != nil || agreed.DecidedBy != "b" {
		t.Fatalf("agreed %+v", agreed)
	}
	// Disagreement: another concept flags the item, until an adjudication.
	flagged := apply(t, first, mappingjob.Decision{Review: mappingjob.ReviewOverridden, ConceptID: 33, Actor: "b"})
	if flagged.State() != mappingjob.StateFlagged || !flagged.Flagged || flagged.SecondDecision == nil || flagged.SecondDecision.ConceptID != 33 ||
		flagged.Review != mappingjob.ReviewPending {
		t.Fatalf("flagged %+v", flagged)
	}
	if _, _, err := mappingjob.Apply(flagged, mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "c"}, now); !errors.Is(err, mappingjob.ErrConflict) {
		t.Fatalf("a non-admin on a flagged item: %v", err)
	}
	settled := apply(t, flagged, mappingjob.Decision{Review: mappingjob.ReviewRejected, Actor: "admin", Adjudication: true})
	if settled.State() != mappingjob.StateFinal || settled.Review != mappingjob.ReviewRejected || settled.Flagged || settled.SecondDecision != nil {
		t.Fatalf("adjudicated %+v", settled)
	}
	// A rejection alone needs no confirmation; an adjudicator's first
	// decision on an unflagged item is an ordinary one.
	if r := apply(t, proposed(), mappingjob.Decision{Review: mappingjob.ReviewRejected, Actor: "a", SecondReview: true}); r.State() != mappingjob.StateFinal {
		t.Errorf("lone rejection %+v", r)
	}
	if r := apply(t, proposed(), mappingjob.Decision{Review: mappingjob.ReviewApproved, Actor: "admin", SecondReview: true, Adjudication: true}); r.State() != mappingjob.StateAwaitingSecond {
		t.Errorf("admin's first approval %+v", r)
	}
}

func TestSecondReviewRule(t *testing.T) {
	for _, c := range []struct {
		setting string
		action  mappingjob.Action
		want    bool
	}{
		{"none", mappingjob.ActionApprove, false}, {"", mappingjob.ActionOverride, false},
		{"overrides", mappingjob.ActionApprove, false}, {"overrides", mappingjob.ActionOverride, true},
		{"all", mappingjob.ActionApprove, true}, {"all", mappingjob.ActionOverride, true}, {"all", mappingjob.ActionReject, false},
	} {
		if got := mappingjob.SecondReviewRule(c.setting, c.action); got != c.want {
			t.Errorf("%s/%s: %v", c.setting, c.action, got)
		}
	}
}

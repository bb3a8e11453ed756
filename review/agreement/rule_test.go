package agreement

import (
	"errors"
	"reflect"
	"testing"
)

func TestResolve(t *testing.T) {
	second := Rule{SecondReviewer: true}
	single := Rule{}
	approve := func(who string, c int64) Decision {
		return Decision{Reviewer: who, Action: ActionApprove, ConceptID: c}
	}
	override := func(who string, c int64) Decision {
		return Decision{Reviewer: who, Action: ActionOverride, ConceptID: c}
	}
	reject := func(who string) Decision { return Decision{Reviewer: who, Action: ActionReject, ConceptID: 1} }
	adjudicate := func(d Decision) Decision { d.Adjudication = true; return d }

	tests := []struct {
		name string
		rule Rule
		ds   []Decision
		want Outcome
	}{
		{"nothing decided", second, nil, Outcome{State: StateUndecided}},
		{"single reviewer rule: latest wins", single, []Decision{approve("a", 10), override("b", 20)},
			Outcome{StateFinal, ActionOverride, 20, []string{"b"}}},
		{"first approval waits for a second reviewer", second, []Decision{approve("a", 10)},
			Outcome{StatePendingSecondReview, ActionApprove, 10, []string{"a"}}},
		{"same reviewer twice is still one reviewer", second, []Decision{approve("a", 10), approve("a", 10)},
			Outcome{StatePendingSecondReview, ActionApprove, 10, []string{"a"}}},
		{"second reviewer agrees", second, []Decision{approve("a", 10), approve("b", 10)},
			Outcome{StateFinal, ActionApprove, 10, []string{"a", "b"}}},
		{"override to the approved concept agrees", second, []Decision{approve("a", 10), override("b", 10)},
			Outcome{StateFinal, ActionApprove, 10, []string{"a", "b"}}},
		{"different concepts disagree", second, []Decision{approve("a", 10), override("b", 20)},
			Outcome{State: StateDisagreement, Reviewers: []string{"a", "b"}}},
		{"approve vs reject disagree", second, []Decision{approve("a", 10), reject("b")},
			Outcome{State: StateDisagreement, Reviewers: []string{"a", "b"}}},
		{"a single rejection is final", second, []Decision{reject("a")},
			Outcome{StateFinal, ActionReject, 1, []string{"a"}}},
		{"a rejection contradicted by a later approval", second, []Decision{reject("a"), approve("b", 10)},
			Outcome{State: StateDisagreement, Reviewers: []string{"a", "b"}}},
		{"reviewer changes mind to agree", second, []Decision{approve("a", 10), override("b", 20), override("a", 20)},
			Outcome{StateFinal, ActionOverride, 20, []string{"b", "a"}}},
		{"adjudication settles a disagreement", second, []Decision{approve("a", 10), reject("b"), adjudicate(approve("admin", 10))},
			Outcome{StateFinal, ActionApprove, 10, []string{"admin"}}},
		{"a decision after adjudication is weighed against it", second, []Decision{adjudicate(approve("admin", 10)), reject("c")},
			Outcome{State: StateDisagreement, Reviewers: []string{"admin", "c"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.rule, tc.ds)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveRejectsMalformed(t *testing.T) {
	for _, d := range []Decision{
		{Action: ActionApprove, ConceptID: 1},
		{Reviewer: "a", Action: "maybe"},
		{Reviewer: "a", Action: ActionOverride},
	} {
		if _, err := Resolve(Rule{SecondReviewer: true}, []Decision{d}); !errors.Is(err, ErrInvalidDecision) {
			t.Fatalf("%+v: err = %v", d, err)
		}
	}
}

func TestRatingsMatchResolve(t *testing.T) {
	items := map[string][]Decision{
		"i1": {{Reviewer: "a", Action: ActionApprove, ConceptID: 10}, {Reviewer: "b", Action: ActionOverride, ConceptID: 10}},
		"i2": {{Reviewer: "a", Action: ActionApprove, ConceptID: 10}, {Reviewer: "b", Action: ActionOverride, ConceptID: 20}},
		"i3": {{Reviewer: "a", Action: ActionReject, ConceptID: 7}, {Reviewer: "b", Action: ActionReject, ConceptID: 8},
			{Reviewer: "admin", Action: ActionApprove, ConceptID: 9, Adjudication: true}},
	}
	var ratings []Rating
	for item, ds := range items {
		ratings = append(ratings, Ratings(item, ds)...)
	}
	pairs := ProjectAgreement(ratings)
	if len(pairs) != 1 || pairs[0].ReviewerA != "a" || pairs[0].ReviewerB != "b" || pairs[0].Items != 3 {
		t.Fatalf("pairs %+v", pairs)
	}
	// a and b agree on i1 (same concept by approve and override) and i3
	// (both reject), not on i2: p_o = 2/3.
	if !near(pairs[0].Observed, 2.0/3) {
		t.Fatalf("observed %v", pairs[0].Observed)
	}
	for item, ds := range items {
		out, _ := Resolve(Rule{SecondReviewer: true}, ds[:2])
		agree := ds[0].Label() == ds[1].Label()
		if (out.State == StateFinal) != agree {
			t.Errorf("%s: Resolve %s but labels agree=%v", item, out.State, agree)
		}
	}
}

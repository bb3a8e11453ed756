package agreement_test

import (
	"fmt"

	"github.com/portiere/portiere/review/agreement"
)

func ExampleResolve() {
	rule := agreement.Rule{SecondReviewer: true}
	first := agreement.Decision{Reviewer: "ana", Action: agreement.ActionApprove, ConceptID: 201826}
	second := agreement.Decision{Reviewer: "ben", Action: agreement.ActionOverride, ConceptID: 201826}

	out, _ := agreement.Resolve(rule, []agreement.Decision{first})
	fmt.Println(out.State)
	out, _ = agreement.Resolve(rule, []agreement.Decision{first, second})
	fmt.Println(out.State, out.Action, out.ConceptID)
	// Output:
	// pending_second_review
	// final approve 201826
}

func ExampleKappa() {
	a := []string{"approve", "approve", "reject", "approve"}
	b := []string{"approve", "reject", "reject", "approve"}
	r, _ := agreement.Kappa(a, b)
	fmt.Printf("p_o=%.2f p_e=%.2f kappa=%.2f\n", r.Observed, r.Expected, r.Kappa)
	// Output: p_o=0.75 p_e=0.50 kappa=0.50
}

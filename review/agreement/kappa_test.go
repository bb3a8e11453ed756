package agreement

import (
	"errors"
	"math"
	"testing"
)

// labels expands a contingency table (rows: reviewer A's category, columns:
// reviewer B's) into two paired label slices.
func labels(cats []string, table [][]int) (a, b []string) {
	for i, row := range table {
		for j, n := range row {
			for range n {
				a = append(a, cats[i])
				b = append(b, cats[j])
			}
		}
	}
	return a, b
}

func near(got, want float64) bool { return math.Abs(got-want) < 5e-5 }

func TestKappaWorkedExamples(t *testing.T) {
	yn := []string{"yes", "no"}
	tests := []struct {
		name                  string
		cats                  []string
		table                 [][]int
		observed, expected, k float64
	}{
		// Cohen's kappa, Wikipedia "Simple example": 50 grant proposals,
		// both yes 20, A yes/B no 5, A no/B yes 10, both no 15:
		// p_o = 0.7, p_e = 0.5, kappa = 0.4.
		{"wikipedia simple example", yn, [][]int{{20, 5}, {10, 15}}, 0.7, 0.5, 0.4},
		// Wikipedia "Same percentages but different numbers": both tables
		// agree on 60 of 100 items yet give kappa 0.1304 and 0.2593 because
		// the marginals differ (p_e 0.54 and 0.46).
		{"wikipedia same percentages, first", yn, [][]int{{45, 15}, {25, 15}}, 0.6, 0.54, 0.1304},
		{"wikipedia same percentages, second", yn, [][]int{{25, 35}, {5, 35}}, 0.6, 0.46, 0.2593},
		// Three categories, computed by hand: p_o = 79/100; marginals A
		// (30, 40, 30), B (30, 37, 33); p_e = .09 + .148 + .099 = .337;
		// kappa = .453 / .663.
		{"three review actions", []string{"approve", "reject", "override"},
			[][]int{{25, 2, 3}, {4, 30, 6}, {1, 5, 24}}, 0.79, 0.337, 0.453 / 0.663},
		// Systematic disagreement is below chance: kappa = -1.
		{"complete disagreement", yn, [][]int{{0, 5}, {5, 0}}, 0, 0.5, -1},
		{"perfect agreement", yn, [][]int{{7, 0}, {0, 3}}, 1, 0.58, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := labels(tc.cats, tc.table)
			r, err := Kappa(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Observed, tc.observed) || !near(r.Expected, tc.expected) || !near(r.Kappa, tc.k) {
				t.Fatalf("got p_o=%.4f p_e=%.4f kappa=%.4f, want %.4f %.4f %.4f", r.Observed, r.Expected, r.Kappa, tc.observed, tc.expected, tc.k)
			}
			if r.Items != len(a) {
				t.Fatalf("Items = %d, want %d", r.Items, len(a))
			}
		})
	}
}

func TestKappaErrors(t *testing.T) {
	if _, err := Kappa([]string{"a"}, nil); !errors.Is(err, ErrLengthMismatch) {
		t.Fatalf("length mismatch: %v", err)
	}
	if _, err := Kappa(nil, nil); !errors.Is(err, ErrNoSharedItems) {
		t.Fatalf("empty: %v", err)
	}
	r, err := Kappa([]string{"approve", "approve"}, []string{"approve", "approve"})
	if !errors.Is(err, ErrKappaUndefined) || r.Observed != 1 || r.Items != 2 {
		t.Fatalf("single category: %+v %v", r, err)
	}
}

func TestProjectAgreement(t *testing.T) {
	ratings := []Rating{
		{"i1", "bob", "approve"}, {"i1", "alice", "approve"},
		{"i2", "bob", "reject"}, {"i2", "alice", "approve"},
		{"i3", "bob", "reject"}, {"i3", "alice", "reject"},
		{"i4", "alice", "reject"}, {"i4", "alice", "approve"}, // alice changed her mind: last counts
		{"i4", "bob", "approve"},
		{"i5", "carol", "approve"}, // carol shares nothing with anyone
		{"i9", "dave", "approve"}, {"i9", "alice", "approve"},
	}
	pairs := ProjectAgreement(ratings)
	if len(pairs) != 2 {
		t.Fatalf("got %d pairs, want 2: %+v", len(pairs), pairs)
	}
	ab := pairs[0]
	if ab.ReviewerA != "alice" || ab.ReviewerB != "bob" || ab.Items != 4 {
		t.Fatalf("first pair %+v", ab)
	}
	// alice: approve, approve, reject, approve; bob: approve, reject, reject,
	// approve. p_o = 3/4; p_e = (3/4)(1/2) + (1/4)(1/2) = 1/2; kappa = 0.5.
	if !near(ab.Observed, 0.75) || !near(ab.Kappa, 0.5) || ab.Undefined {
		t.Fatalf("alice/bob %+v", ab)
	}
	ad := pairs[1]
	if ad.ReviewerA != "alice" || ad.ReviewerB != "dave" || !ad.Undefined || ad.Observed != 1 {
		t.Fatalf("alice/dave %+v", ad)
	}
}

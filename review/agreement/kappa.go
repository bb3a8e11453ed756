package agreement

import (
	"errors"
	"fmt"
	"sort"
)

// ErrNoSharedItems is returned when two reviewers have no item in common, so
// no agreement can be computed.
var ErrNoSharedItems = errors.New("agreement: reviewers share no items")

// ErrLengthMismatch is returned by Kappa when the two label slices differ in
// length.
var ErrLengthMismatch = errors.New("agreement: label slices differ in length")

// ErrKappaUndefined is returned when chance agreement is 1: both reviewers
// used one and the same category for every item, so kappa is 0/0. The
// Result returned with it still carries Items and Observed.
var ErrKappaUndefined = errors.New("agreement: kappa undefined, both reviewers used a single identical category")

// Result is Cohen's kappa for two reviewers.
type Result struct {
	// Items is the number of items both reviewers labelled.
	Items int
	// Observed is the proportion of items with the same label (p_o).
	Observed float64
	// Expected is the agreement expected by chance from each reviewer's
	// label frequencies (p_e).
	Expected float64
	// Kappa is (p_o - p_e) / (1 - p_e); it is 1 for perfect agreement, 0 for
	// agreement no better than chance and negative below chance.
	Kappa float64
}

// Kappa computes Cohen's (unweighted) kappa for two reviewers, where a[i]
// and b[i] are their labels for the same item i. Labels are compared as
// exact strings; any number of categories is allowed.
//
// It returns ErrLengthMismatch if the slices differ in length,
// ErrNoSharedItems if they are empty, and ErrKappaUndefined (with a Result
// whose Kappa is 0) when chance agreement is 1.
func Kappa(a, b []string) (Result, error) {
	if len(a) != len(b) {
		return Result{}, fmt.Errorf("%w: %d and %d", ErrLengthMismatch, len(a), len(b))
	}
	n := len(a)
	if n == 0 {
		return Result{}, ErrNoSharedItems
	}
	countA := map[string]int{}
	countB := map[string]int{}
	same := 0
	for i := range a {
		countA[a[i]]++
		countB[b[i]]++
		if a[i] == b[i] {
			same++
		}
	}
	r := Result{Items: n, Observed: float64(same) / float64(n)}
	for label, ca := range countA {
		r.Expected += float64(ca) / float64(n) * float64(countB[label]) / float64(n)
	}
	if r.Expected >= 1 {
		return r, ErrKappaUndefined
	}
	r.Kappa = (r.Observed - r.Expected) / (1 - r.Expected)
	return r, nil
}

// Rating is one reviewer's label for one item, for example the action a
// reviewer took ("approve", "reject", "override:4329847").
type Rating struct {
	Item     string
	Reviewer string
	Label    string
}

// Pair is the agreement between two reviewers over the items they share.
// ReviewerA sorts before ReviewerB.
type Pair struct {
	ReviewerA string
	ReviewerB string
	Result
	// Undefined is true when kappa is 0/0 (see ErrKappaUndefined); Kappa is
	// then 0 and only Observed is meaningful.
	Undefined bool
}

// ProjectAgreement computes Cohen's kappa for every pair of reviewers that
// labelled at least one item in common, ordered by reviewer names. When a
// reviewer rated an item more than once, the last rating in ratings counts.
// Pairs without shared items are left out; an empty result means no two
// reviewers overlapped.
func ProjectAgreement(ratings []Rating) []Pair {
	byReviewer := map[string]map[string]string{}
	for _, r := range ratings {
		m := byReviewer[r.Reviewer]
		if m == nil {
			m = map[string]string{}
			byReviewer[r.Reviewer] = m
		}
		m[r.Item] = r.Label
	}
	reviewers := make([]string, 0, len(byReviewer))
	for name := range byReviewer {
		reviewers = append(reviewers, name)
	}
	sort.Strings(reviewers)

	var pairs []Pair
	for i, ra := range reviewers {
		for _, rb := range reviewers[i+1:] {
			items := sharedItems(byReviewer[ra], byReviewer[rb])
			if len(items) == 0 {
				continue
			}
			a := make([]string, len(items))
			b := make([]string, len(items))
			for k, item := range items {
				a[k] = byReviewer[ra][item]
				b[k] = byReviewer[rb][item]
			}
			res, err := Kappa(a, b)
			pairs = append(pairs, Pair{ReviewerA: ra, ReviewerB: rb, Result: res, Undefined: errors.Is(err, ErrKappaUndefined)})
		}
	}
	return pairs
}

func sharedItems(a, b map[string]string) []string {
	var items []string
	for item := range a {
		if _, ok := b[item]; ok {
			items = append(items, item)
		}
	}
	sort.Strings(items)
	return items
}

package search_test

import (
	"os"
	"testing"

	"github.com/portiere/portiere/search"
)

// TestFusionLeaveOneSetOut evaluates the fusion weights this round added —
// the kind prior and the agreement with the parsed parts (lab specimen, drug ingredient) — leave-one-set-out: for
// each gold set, the pair is chosen on a grid by the mean top-1 of the other
// sets and scored on the held-out one, beside the shipped defaults (chosen
// the same way on all sets). Runs with PORTIERE_LOSO=1 (make bench);
// lexical unless PORTIERE_DENSE is set.
func TestFusionLeaveOneSetOut(t *testing.T) {
	if os.Getenv("PORTIERE_LOSO") == "" {
		t.Skip("set PORTIERE_LOSO=1")
	}
	corpus := loadDevCorpus(t)
	opts := search.Options{}
	if os.Getenv("PORTIERE_DENSE") != "" {
		opts.Dense = devDenseTier(t, corpus)
	}
	base := search.NewEngine(corpus, opts)
	rows := make([][]goldRow, len(goldSets))
	for i, gs := range goldSets {
		rows[i] = readGold(t, gs.file)
	}
	kinds := []float64{0, 0.05, 0.10, 0.20, 0.30}
	partsGrid := []float64{0, 0.04, 0.08, 0.15, 0.25}
	type point struct{ kind, parts float64 }
	top1 := map[point][]float64{}
	for _, k := range kinds {
		for _, s := range partsGrid {
			w := search.DefaultWeights
			w.Kind, w.Parts = k, s
			e := base.WithWeights(w)
			p := point{k, s}
			for i, gs := range goldSets {
				top1[p] = append(top1[p], measure(t, e, gs, rows[i], nil).top1)
			}
		}
	}
	best := func(skip int) point {
		var bp point
		bv := -1.0
		for _, k := range kinds {
			for _, s := range partsGrid {
				p := point{k, s}
				sum, n := 0.0, 0
				for i, v := range top1[p] {
					if i != skip {
						sum += v
						n++
					}
				}
				if sum/float64(n) > bv+1e-9 {
					bp, bv = p, sum/float64(n)
				}
			}
		}
		return bp
	}
	all := best(-1)
	shipped := point{search.DefaultWeights.Kind, search.DefaultWeights.Parts}
	t.Logf("fusion weights: best on all sets kind=%.2f parts=%.2f; shipped kind=%.2f parts=%.2f; none kind=0 parts=0",
		all.kind, all.parts, shipped.kind, shipped.parts)
	for i, gs := range goldSets {
		p := best(i)
		t.Logf("loso %-14s fitted on the others kind=%.2f parts=%.2f → held-out top1=%.3f | shipped top1=%.3f | without (0,0) top1=%.3f",
			gs.name, p.kind, p.parts, top1[p][i], top1[shipped][i], top1[point{0, 0}][i])
	}
}

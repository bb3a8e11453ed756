package search_test

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/portiere/portiere/search"
)

const nFeat = search.NumCalibrationFeatures

// calRow is one gold term as the confidence model sees it.
type calRow struct {
	x        [nFeat]float64
	right    bool    // the top candidate is a gold target
	rule     bool    // confidence comes from a rule (code, unit), not the model
	ruleConf float64 // that confidence
	autoOK   bool    // the engine allows "auto" at all (known kind, no conflict)
	kind     search.TermKind
}

// calibrationRows runs every gold set through e.
func calibrationRows(t *testing.T, e *search.Engine) [][]calRow {
	out := make([][]calRow, len(goldSets))
	for i, gs := range goldSets {
		for _, g := range readGold(t, gs.file) {
			res, err := e.Search(context.Background(), search.Query{Text: g.text, Limit: 10, Filter: gs.filter})
			if err != nil || len(res.Candidates) == 0 {
				continue
			}
			r := calRow{x: search.CalibrationFeatures(res.Candidates), right: g.targets[res.Candidates[0].Concept.ID],
				autoOK: res.Kind != search.TermUnknown && !res.Conflict, kind: res.Kind}
			r.ruleConf, r.rule = search.RuleConfidence(res.Candidates)
			out[i] = append(out[i], r)
		}
	}
	return out
}

// autoFigures is the share and precision of "auto" on rows under model w.
func autoFigures(rows []calRow, w [nFeat + 1]float64, shift map[search.TermKind]float64, threshold float64) (share, precision float64, n int) {
	right := 0
	for _, r := range rows {
		c := r.ruleConf
		if !r.rule {
			c = predictShift(w, r.x, shift[r.kind])
		}
		if c >= threshold && r.autoOK {
			n++
			if r.right {
				right++
			}
		}
	}
	return float64(n) / math.Max(1, float64(len(rows))), float64(right) / math.Max(1, float64(n)), n
}

func fitRows(sets [][]calRow, skip int) [nFeat + 1]float64 {
	var xs [][nFeat]float64
	var ys []float64
	for i, rows := range sets {
		if i == skip {
			continue
		}
		for _, r := range rows {
			if r.rule {
				continue
			}
			xs = append(xs, r.x)
			y := 0.0
			if r.right {
				y = 1
			}
			ys = append(ys, y)
		}
	}
	return fitLogistic(xs, ys, 3000, 0.5, 1e-3)
}

// TestCalibrate fits the confidence model — logistic regression of "the top
// candidate is right" on search.CalibrationFeatures — and reports, per gold
// set, the share and precision of the "auto" route twice: with the model
// fitted on the other sets only (leave-one-set-out: what to expect on
// unseen data) and with the model fitted on all sets (the shipped
// coefficients it prints for defaultCalibration).
func TestCalibrate(t *testing.T) {
	if os.Getenv("PORTIERE_CALIBRATE") == "" {
		t.Skip("set PORTIERE_CALIBRATE=1")
	}
	corpus := loadDevCorpus(t)
	// The engine as deployed: hybrid, with the hash embedder.
	e := search.NewEngine(corpus, search.Options{Dense: devDenseTier(t, corpus)})
	sets := calibrationRows(t, e)
	const thr, target = 0.95, 0.99
	all := fitRows(sets, -1)
	allShift := fitKindShift(sets, -1, all, thr, target)
	t.Logf("defaultCalibration = %#v", search.CalibrationFrom(all))
	t.Logf("KindShift = %#v", allShift)
	for i, gs := range goldSets {
		loso := fitRows(sets, i)
		losoShift := fitKindShift(sets, i, loso, thr, target)
		s1, p1, n1 := autoFigures(sets[i], loso, losoShift, thr)
		s2, p2, n2 := autoFigures(sets[i], all, allShift, thr)
		t.Logf("confidence %-14s leave-one-set-out: auto %4d (%.1f%%) precision %.3f | fitted on all: auto %4d (%.1f%%) precision %.3f",
			gs.name, n1, 100*s1, p1, n2, 100*s2, p2)
	}
}

// fitKindShift finds, per kind of term, the largest shift (from +3 down) of
// the model's log-odds at which "auto" reaches the target precision on each
// training set's rows of that kind (groups of 20 rows or more). A kind
// without such a group takes the largest shift any kind needed, and no
// kind seen in fewer than two sets is shifted up.
func fitKindShift(sets [][]calRow, skip int, w [nFeat + 1]float64, thr, target float64) map[search.TermKind]float64 {
	shift := map[search.TermKind]float64{}
	groups := map[search.TermKind]int{}
	worst := 3.0
	for i, rows := range sets {
		if i == skip {
			continue
		}
		byKind := map[search.TermKind][]calRow{}
		for _, r := range rows {
			if !r.rule && r.autoOK {
				byKind[r.kind] = append(byKind[r.kind], r)
			}
		}
		for k, rows := range byKind {
			if len(rows) < 20 {
				continue
			}
			s := 3.0
			for ; s > -8; s -= 0.05 {
				n, right := 0, 0
				for _, r := range rows {
					if predictShift(w, r.x, s) >= thr {
						n++
						if r.right {
							right++
						}
					}
				}
				if n == 0 || float64(right)/float64(n) >= target {
					break
				}
			}
			s = math.Round(s*100) / 100
			groups[k]++
			if cur, ok := shift[k]; !ok || s < cur {
				shift[k] = s
			}
			worst = math.Min(worst, s)
		}
	}
	for _, k := range []search.TermKind{search.TermLab, search.TermDrug, search.TermDiagnosis, search.TermProcedure, search.TermUnit} {
		if _, ok := shift[k]; !ok {
			shift[k] = worst
		}
		if groups[k] < 2 && shift[k] > 0 {
			// Raising confidence needs a kind seen in two sets: one set's
			// conventions (how broad its gold codes are) do not transfer.
			shift[k] = 0
		}
	}
	return shift
}

func predict(w [nFeat + 1]float64, x [nFeat]float64) float64 { return predictShift(w, x, 0) }

func predictShift(w [nFeat + 1]float64, x [nFeat]float64, shift float64) float64 {
	z := w[nFeat] + shift
	for i := range x {
		z += w[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// fitLogistic is batch gradient descent with L2 regularisation: small data,
// a few features, no library needed.
func fitLogistic(xs [][nFeat]float64, ys []float64, iters int, lr, l2 float64) [nFeat + 1]float64 {
	var w [nFeat + 1]float64
	n := float64(len(xs))
	for it := 0; it < iters; it++ {
		var g [nFeat + 1]float64
		for i, x := range xs {
			d := predict(w, x) - ys[i]
			for j := range x {
				g[j] += d * x[j]
			}
			g[nFeat] += d
		}
		for j := 0; j < nFeat; j++ {
			w[j] -= lr * (g[j]/n + l2*w[j])
		}
		w[nFeat] -= lr * g[nFeat] / n
	}
	return w
}

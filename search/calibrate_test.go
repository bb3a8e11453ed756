package search_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/portiere/portiere/search"
)

// TestCalibrate fits the confidence model — logistic regression of "the top
// candidate is right" on search.CalibrationFeatures — over the three
// development gold sets, and prints the coefficients to paste into
// defaultCalibration, with the precision of the "auto" route they give.
func TestCalibrate(t *testing.T) {
	if os.Getenv("PORTIERE_CALIBRATE") == "" {
		t.Skip("set PORTIERE_CALIBRATE=1")
	}
	corpus := loadDevCorpus(t)
	// The engine as deployed: hybrid, with the hash embedder.
	e := search.NewEngine(corpus, search.Options{Dense: devDenseTier(t, corpus)})
	var xs [][5]float64
	var ys []float64
	for _, gs := range goldSets {
		for _, g := range readGold(t, gs.file) {
			res, err := e.Search(context.Background(), search.Query{Text: g.text, Limit: 10, Filter: gs.filter})
			if err != nil || len(res.Candidates) == 0 || res.Candidates[0].Evidence.Code {
				continue
			}
			xs = append(xs, search.CalibrationFeatures(res.Candidates))
			y := 0.0
			if g.targets[res.Candidates[0].Concept.ID] {
				y = 1
			}
			ys = append(ys, y)
		}
	}
	w := fitLogistic(xs, ys, 3000, 0.5, 1e-3)
	cal := search.CalibrationFrom(w)
	t.Logf("defaultCalibration = %#v", cal)
	for _, thr := range []float64{0.7, 0.9, 0.95} {
		n, right := 0, 0
		for i, x := range xs {
			if predict(w, x) >= thr {
				n++
				if ys[i] == 1 {
					right++
				}
			}
		}
		t.Logf("confidence ≥ %.2f: %d of %d terms (%.1f%%), precision %.3f", thr, n, len(xs), 100*float64(n)/float64(len(xs)), float64(right)/math.Max(1, float64(n)))
	}
	fmt.Println()
}

func predict(w [6]float64, x [5]float64) float64 {
	z := w[5]
	for i := range x {
		z += w[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// fitLogistic is batch gradient descent with L2 regularisation: small data,
// five features, no library needed.
func fitLogistic(xs [][5]float64, ys []float64, iters int, lr, l2 float64) [6]float64 {
	var w [6]float64
	n := float64(len(xs))
	for it := 0; it < iters; it++ {
		var g [6]float64
		for i, x := range xs {
			d := predict(w, x) - ys[i]
			for j := range x {
				g[j] += d * x[j]
			}
			g[5] += d
		}
		for j := 0; j < 5; j++ {
			w[j] -= lr * (g[j]/n + l2*w[j])
		}
		w[5] -= lr * g[5] / n
	}
	return w
}

package search

import "math"

// Route is what to do with a mapping given its confidence.
type Route string

// Routes.
const (
	RouteAuto   Route = "auto"   // accept without review
	RouteReview Route = "review" // a person confirms
	RouteManual Route = "manual" // a person maps it
)

// Thresholds split confidence into routes.
type Thresholds struct {
	Auto   float64 // confidence ≥ Auto → auto (default 0.95)
	Review float64 // confidence ≥ Review → review (default 0.70)
}

func (t Thresholds) withDefaults() Thresholds {
	if t.Auto == 0 {
		t.Auto = 0.95
	}
	if t.Review == 0 {
		t.Review = 0.70
	}
	return t
}

// Route returns the route for confidence c.
func (t Thresholds) Route(c float64) Route {
	t = t.withDefaults()
	switch {
	case c >= t.Auto:
		return RouteAuto
	case c >= t.Review:
		return RouteReview
	}
	return RouteManual
}

// Calibration maps the evidence about the best candidate to the probability
// that it is right: a logistic model over a few features, fitted on the
// development gold sets (see docs/benchmarks.md for how).
type Calibration struct {
	Bias, Score, Margin, Qcov, Dcov, Dense float64
}

// defaultCalibration was fitted by TestCalibrate
// (PORTIERE_CALIBRATE=1 go test ./search -run Calibrate -v) on the three
// development gold sets with the default engine.
var defaultCalibration = Calibration{Bias: -4.522, Score: 2.198, Margin: 3.942, Qcov: 2.914, Dcov: 1.348, Dense: -0.066}

// CalibrationFeatures are the inputs of the confidence model for a ranked
// candidate list: the best score, its margin over the second, and the best
// candidate's query coverage, text coverage and dense similarity.
func CalibrationFeatures(cands []Candidate) [5]float64 {
	top := cands[0]
	margin := top.Score
	if len(cands) > 1 {
		margin = top.Score - cands[1].Score
	}
	return [5]float64{top.Score, margin, top.Evidence.QueryCoverage, top.Evidence.TextCoverage, top.Evidence.Dense}
}

// Coefficients returns the model as a vector in CalibrationFeatures order,
// bias last.
func (c Calibration) Coefficients() [6]float64 {
	return [6]float64{c.Score, c.Margin, c.Qcov, c.Dcov, c.Dense, c.Bias}
}

// CalibrationFrom builds a Calibration from Coefficients' vector.
func CalibrationFrom(v [6]float64) Calibration {
	return Calibration{Score: v[0], Margin: v[1], Qcov: v[2], Dcov: v[3], Dense: v[4], Bias: v[5]}
}

func (c Calibration) confidence(cands []Candidate) float64 {
	if len(cands) == 0 {
		return 0
	}
	if cands[0].Evidence.Code {
		return 0.99 // the query is the concept's code
	}
	x := CalibrationFeatures(cands)
	w := c.Coefficients()
	z := w[5]
	for i := range x {
		z += w[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

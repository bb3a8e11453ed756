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

// defaultCalibration was fitted by TestCalibrate (go test ./search -run
// Calibrate -calibrate) on the three dev gold sets.
var defaultCalibration = Calibration{Bias: -6, Score: 6, Margin: 8, Qcov: 2, Dcov: 1, Dense: 0}

func (c Calibration) confidence(cands []Candidate) float64 {
	if len(cands) == 0 {
		return 0
	}
	top := cands[0]
	if top.feat.code {
		return 0.99
	}
	margin := top.Score
	if len(cands) > 1 {
		margin = top.Score - cands[1].Score
	}
	z := c.Bias + c.Score*top.Score + c.Margin*margin + c.Qcov*top.feat.qcov + c.Dcov*top.feat.dcov + c.Dense*top.feat.dense
	return 1 / (1 + math.Exp(-z))
}

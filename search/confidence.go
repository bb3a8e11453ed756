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
	Bias, Score, Margin, Qcov, Dcov, Dense, Kind, Parts float64
	// KindShift is added to the model's log-odds per kind of term: the
	// model is fitted on all kinds together, and a kind whose "auto" would
	// miss the precision target is shifted down until it meets it (see
	// TestCalibrate). Kinds not listed are not shifted.
	KindShift map[TermKind]float64
}

// defaultCalibration was fitted by TestCalibrate
// (PORTIERE_CALIBRATE=1 go test ./search -run Calibrate -v) on the five
// development gold sets with the default engine; its leave-one-set-out
// figures are in docs/benchmarks.md.
var defaultCalibration = Calibration{Bias: -4.425, Score: 2.261, Margin: 4.260, Qcov: 2.535, Dcov: 1.521, Dense: -0.345, Kind: -0.277, Parts: 0.225,
	KindShift: map[TermKind]float64{TermDiagnosis: -1.45, TermDrug: 1.05, TermLab: 0, TermProcedure: 0, TermUnit: -1.45}}

// NumCalibrationFeatures is the length of CalibrationFeatures' vector.
const NumCalibrationFeatures = 7

// CalibrationFeatures are the inputs of the confidence model for a ranked
// candidate list: the best score, its margin over the second, and the best
// candidate's query coverage, text coverage, dense similarity, agreement
// with the query's kind and agreement with the term's parsed parts.
func CalibrationFeatures(cands []Candidate) [NumCalibrationFeatures]float64 {
	top := cands[0]
	margin := top.Score
	if len(cands) > 1 {
		margin = top.Score - cands[1].Score
	}
	return [NumCalibrationFeatures]float64{top.Score, margin, top.Evidence.QueryCoverage, top.Evidence.TextCoverage,
		top.Evidence.Dense, top.Evidence.KindPrior, top.Evidence.Parts}
}

// Coefficients returns the model as a vector in CalibrationFeatures order,
// bias last.
func (c Calibration) Coefficients() [NumCalibrationFeatures + 1]float64 {
	return [NumCalibrationFeatures + 1]float64{c.Score, c.Margin, c.Qcov, c.Dcov, c.Dense, c.Kind, c.Parts, c.Bias}
}

// CalibrationFrom builds a Calibration from Coefficients' vector.
func CalibrationFrom(v [NumCalibrationFeatures + 1]float64) Calibration {
	return Calibration{Score: v[0], Margin: v[1], Qcov: v[2], Dcov: v[3], Dense: v[4], Kind: v[5], Parts: v[6], Bias: v[7]}
}

// RuleConfidence reports the confidence of a candidate list that the
// calibration model does not score: an exact code, or a unit string whose
// meaning one UCUM concept has. ok is false for everything else.
func RuleConfidence(cands []Candidate) (conf float64, ok bool) {
	if len(cands) == 0 {
		return 0, false
	}
	top := cands[0].Evidence
	switch {
	case top.Code:
		return 0.99, true // the query is the concept's code
	case top.Unit.Rank == 1:
		// One concept means this unit; several (a spelling tie) or UCUM's
		// case-insensitive reading only ("K/L") leave a person to confirm.
		if top.Unit.Candidates == 1 && !top.Unit.CaseFolded {
			return 0.97, true
		}
		return 0.85, true
	}
	return 0, false
}

func (c Calibration) confidence(cands []Candidate, kind TermKind) float64 {
	if len(cands) == 0 {
		return 0
	}
	if conf, ok := RuleConfidence(cands); ok {
		return conf
	}
	x := CalibrationFeatures(cands)
	w := c.Coefficients()
	z := w[NumCalibrationFeatures] + c.KindShift[kind]
	for i := range x {
		z += w[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

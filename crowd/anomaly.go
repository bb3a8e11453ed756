package crowd

import (
	"fmt"
	"time"
)

// FlagKind names a suspicious voting pattern.
type FlagKind string

// The anomaly flags admins see.
const (
	// FlagFastVotes: many recent votes came faster than a reader can
	// read a task.
	FlagFastVotes FlagKind = "fast_votes"
	// FlagConstantAnswers: the recent votes are all the same action
	// (always approve, always reject): a pattern, not judgment.
	FlagConstantAnswers FlagKind = "constant_answers"
	// FlagPoorCalibration: the mapper misses most calibration tasks, whose
	// answers are known; the guide asks for a review of their status.
	FlagPoorCalibration FlagKind = "poor_calibration"
)

// Flag is one anomaly of one mapper, for admins to review.
type Flag struct {
	MapperID string
	Kind     FlagKind
	Detail   string
	At       time.Time // the latest vote it looked at
}

// VoteTrace is what anomaly detection reads of a vote: its action and how
// long the mapper had the task open before voting (0: unknown).
type VoteTrace struct {
	Action  Action
	Elapsed time.Duration
	At      time.Time
}

// AnomalyRules are the detection thresholds.
type AnomalyRules struct {
	// Window is how many of the latest votes are looked at.
	Window int
	// FastFloor is the shortest believable time on a task; FastShare the
	// share of the window's timed votes under it that raises a flag.
	FastFloor time.Duration
	FastShare float64
	// ConstantMin is the fewest votes of the window, all one action, that
	// raise a flag.
	ConstantMin int
	// CalibrationMin graded calibration votes with accuracy below
	// CalibrationFloor raise a flag.
	CalibrationMin   int
	CalibrationFloor float64
}

// DefaultAnomalyRules: the latest 20 votes; half of them under 3 seconds,
// or 15 or more all the same action; under half of 5 or more calibration
// tasks right.
func DefaultAnomalyRules() AnomalyRules {
	return AnomalyRules{Window: 20, FastFloor: 3 * time.Second, FastShare: 0.5, ConstantMin: 15, CalibrationMin: 5, CalibrationFloor: 0.5}
}

// PoorCalibration reports a flag when a mapper's graded calibration votes
// (among obs) number at least r.CalibrationMin and fewer than
// r.CalibrationFloor of them are right. It is pure.
func PoorCalibration(r AnomalyRules, mapperID string, obs []Observation) (Flag, bool) {
	n, right := 0, 0
	var last time.Time
	for _, o := range obs {
		if !o.Calibration {
			continue
		}
		n++
		if o.Correct {
			right++
		}
		if o.At.After(last) {
			last = o.At
		}
	}
	if r.CalibrationMin <= 0 || n < r.CalibrationMin || float64(right) >= r.CalibrationFloor*float64(n) {
		return Flag{}, false
	}
	return Flag{MapperID: mapperID, Kind: FlagPoorCalibration, At: last,
		Detail: fmt.Sprintf("%d of %d calibration tasks right (known answers)", right, n)}, true
}

// Anomalies returns the flags votes (one mapper's, oldest first) raise
// under r. It is pure.
func Anomalies(r AnomalyRules, mapperID string, votes []VoteTrace) []Flag {
	if len(votes) > r.Window && r.Window > 0 {
		votes = votes[len(votes)-r.Window:]
	}
	if len(votes) == 0 {
		return nil
	}
	last := votes[len(votes)-1].At
	var flags []Flag
	timed, fast := 0, 0
	for _, v := range votes {
		if v.Elapsed > 0 {
			timed++
			if v.Elapsed < r.FastFloor {
				fast++
			}
		}
	}
	if timed > 0 && fast >= 3 && float64(fast) >= r.FastShare*float64(timed) {
		flags = append(flags, Flag{MapperID: mapperID, Kind: FlagFastVotes, At: last,
			Detail: fmt.Sprintf("%d of the latest %d timed votes took under %s", fast, timed, r.FastFloor)})
	}
	if r.ConstantMin > 0 && len(votes) >= r.ConstantMin {
		same := true
		for _, v := range votes[1:] {
			if v.Action != votes[0].Action {
				same = false
				break
			}
		}
		if same {
			flags = append(flags, Flag{MapperID: mapperID, Kind: FlagConstantAnswers, At: last,
				Detail: fmt.Sprintf("the latest %d votes are all %q", len(votes), votes[0].Action)})
		}
	}
	return flags
}

package crowd

import (
	"math"
	"time"
)

// Observation is one graded vote of a mapper: on a calibration task
// (graded against its known answer) or on a resolved task (graded against
// the consensus it reached).
type Observation struct {
	Correct     bool
	Calibration bool
	At          time.Time
}

// SkillParams shape the reputation estimate.
type SkillParams struct {
	// PriorCorrect and PriorWrong are the Beta prior's pseudo-counts: a
	// mapper with no graded votes has skill PriorCorrect/(PriorCorrect+
	// PriorWrong) and moves away from it as evidence comes in.
	PriorCorrect, PriorWrong float64
	// HalfLife is the age at which an observation counts half (recency
	// weighting); 0 weighs every observation the same.
	HalfLife time.Duration
	// CalibrationWeight is how much more a calibration vote counts than
	// agreement with consensus (a known answer is stronger evidence than a
	// crowd's).
	CalibrationWeight float64
}

// DefaultSkillParams: prior 2 right and 2 wrong (skill 0.5), half-life 30
// days, calibration votes count twice.
func DefaultSkillParams() SkillParams {
	return SkillParams{PriorCorrect: 2, PriorWrong: 2, HalfLife: 30 * 24 * time.Hour, CalibrationWeight: 2}
}

// The bounds of a vote's weight: a new or poor mapper still counts a
// little (MinWeight), and no one mapper outweighs a crowd on their own
// (MaxWeight, skill 0.99).
const (
	MinWeight = 0.1
	MaxWeight = 4.6
)

// Skill is a mapper's estimated probability of answering a task right,
// the one-coin Dawid–Skene model's single parameter per worker (the same
// accuracy whatever the true answer), estimated from their graded votes
// given the known answers and the consensus (the model's M-step with the
// consensus as labels), recency-weighted.
type Skill struct {
	P        float64 // posterior mean skill, 0..1
	Graded   int     // graded votes seen
	Correct  int     // of which correct
	Weight   float64 // vote weight: the log-odds of P, clamped
	Accuracy float64 // Correct/Graded, unweighted (0 with none), for display
}

// EstimateSkill returns the skill that obs show at now under p. Weights
// decay as 0.5^(age/HalfLife); the estimate is the Beta posterior mean
// (PriorCorrect + Σ w·correct) / (PriorCorrect + PriorWrong + Σ w). The
// vote weight is ln(P/(1-P)), the one-coin model's log-likelihood ratio of
// a vote, clamped to [MinWeight, MaxWeight]. It is pure.
func EstimateSkill(p SkillParams, obs []Observation, now time.Time) Skill {
	right, all := p.PriorCorrect, p.PriorCorrect+p.PriorWrong
	s := Skill{}
	for _, o := range obs {
		w := 1.0
		if o.Calibration && p.CalibrationWeight > 0 {
			w = p.CalibrationWeight
		}
		if p.HalfLife > 0 {
			age := now.Sub(o.At)
			if age < 0 {
				age = 0
			}
			w *= math.Pow(0.5, float64(age)/float64(p.HalfLife))
		}
		all += w
		s.Graded++
		if o.Correct {
			right += w
			s.Correct++
		}
	}
	if all > 0 {
		s.P = right / all
	} else {
		s.P = 0.5
	}
	if s.Graded > 0 {
		s.Accuracy = float64(s.Correct) / float64(s.Graded)
	}
	s.Weight = WeightOf(s.P)
	return s
}

// WeightOf is the vote weight of skill p: ln(p/(1-p)) clamped to
// [MinWeight, MaxWeight] (a skill at or below chance still counts
// MinWeight, so a task of new mappers can resolve).
func WeightOf(p float64) float64 {
	if p >= 0.99 {
		return MaxWeight
	}
	if p <= 0.5 {
		return MinWeight
	}
	w := math.Log(p / (1 - p))
	return math.Max(MinWeight, math.Min(MaxWeight, w))
}

// Tier groups mappers by reputation; higher tiers earn more per vote and
// experts take escalated tasks.
type Tier string

// The tiers, lowest first (the names of mapper.Tiers, an admin's override).
const (
	TierBronze Tier = "bronze"
	TierSilver Tier = "silver"
	TierGold   Tier = "gold"
	TierExpert Tier = "expert"
)

// Valid reports whether t is a tier.
func (t Tier) Valid() bool {
	switch t {
	case TierBronze, TierSilver, TierGold, TierExpert:
		return true
	}
	return false
}

// tierRules: the skill and graded votes each tier needs, highest first.
var tierRules = []struct {
	tier   Tier
	skill  float64
	graded int
}{
	{TierExpert, 0.9, 50},
	{TierGold, 0.8, 25},
	{TierSilver, 0.65, 10},
}

// TierOf is the tier s earns: expert from skill 0.9 over 50 graded votes,
// gold 0.8 over 25, silver 0.65 over 10, bronze otherwise. An admin's
// override (mapper.Mapper.Tier) comes first: override, when valid, is the
// answer.
func TierOf(s Skill, override string) Tier {
	if t := Tier(override); t.Valid() {
		return t
	}
	for _, r := range tierRules {
		if s.P >= r.skill && s.Graded >= r.graded {
			return r.tier
		}
	}
	return TierBronze
}

package crowd

import (
	"fmt"
	"math"
)

// RewardRates are the per-vote reward's parts, in integer cents of
// Currency.
type RewardRates struct {
	Currency string // ISO 4217, lower case ("usd")
	Base     int64  // every vote
	// Complexity is paid in full for an automated confidence of 0 and not
	// at all for 1: lower confidence is harder work.
	Complexity int64
	// Tier is the extra per vote by tier.
	Tier map[Tier]int64
	// ConsensusBonus is paid when the vote matches the resolution (or a
	// calibration task's known answer).
	ConsensusBonus int64
}

// DefaultRewardRates: 20 ¢ a vote, up to 30 ¢ for complexity, 0/5/10/20 ¢
// by tier, a 10 ¢ consensus bonus, in US dollars.
func DefaultRewardRates() RewardRates {
	return RewardRates{Currency: "usd", Base: 20, Complexity: 30,
		Tier:           map[Tier]int64{TierBronze: 0, TierSilver: 5, TierGold: 10, TierExpert: 20},
		ConsensusBonus: 10}
}

// Validate reports a rate that cannot be paid.
func (r RewardRates) Validate() error {
	if len(r.Currency) != 3 {
		return fmt.Errorf("%w: reward currency %q is not an ISO 4217 code", ErrInvalid, r.Currency)
	}
	if r.Base < 0 || r.Complexity < 0 || r.ConsensusBonus < 0 {
		return fmt.Errorf("%w: reward rates must not be negative", ErrInvalid)
	}
	for t, c := range r.Tier {
		if c < 0 {
			return fmt.Errorf("%w: tier %s rate %d is negative", ErrInvalid, t, c)
		}
	}
	return nil
}

// VoteReward is the reward for one vote, credited when it is cast: base +
// complexity × (1 − confidence), rounded to the cent + the tier's extra,
// all scaled by ratePercent (the mapper's rate, 100 = standard; 0 is read
// as 100). confidence is clamped to [0, 1].
func (r RewardRates) VoteReward(confidence float64, tier Tier, ratePercent int) int64 {
	c := math.Max(0, math.Min(1, confidence))
	cents := r.Base + int64(math.Round(float64(r.Complexity)*(1-c))) + r.Tier[tier]
	return scale(cents, ratePercent)
}

// Bonus is the consensus bonus scaled by ratePercent.
func (r RewardRates) Bonus(ratePercent int) int64 { return scale(r.ConsensusBonus, ratePercent) }

func scale(cents int64, ratePercent int) int64 {
	if ratePercent <= 0 {
		ratePercent = 100
	}
	return (cents*int64(ratePercent) + 50) / 100
}

package crowd_test

import (
	"fmt"
	"math"
	"time"

	"github.com/portiere/portiere/crowd"
)

// Three votes, two for concept 201826 by skilled mappers (skill 0.9) and
// one for 201254 by a newcomer: weighted, 97.8 % agree, and the task
// resolves although only two of three voters agree.
func ExampleConsensus() {
	w := crowd.WeightOf(0.9) // ln 9
	out := crowd.Consensus(crowd.DefaultRules(), []crowd.Ballot{
		{MapperID: "a", Answer: crowd.Answer{ConceptID: 201826}, Weight: w},
		{MapperID: "b", Answer: crowd.Answer{ConceptID: 201826}, Weight: w},
		{MapperID: "c", Answer: crowd.Answer{ConceptID: 201254}, Weight: crowd.WeightOf(0.5)},
	})
	fmt.Printf("%s %d %.1f%%\n", out.State, out.Answer.ConceptID, 100*out.Agreement)
	// Output: resolved 201826 97.8%
}

// Eight of ten calibration votes right today: skill (2 + 16) / (4 + 20).
func ExampleEstimateSkill() {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var obs []crowd.Observation
	for i := 0; i < 10; i++ {
		obs = append(obs, crowd.Observation{Correct: i < 8, Calibration: true, At: now})
	}
	s := crowd.EstimateSkill(crowd.DefaultSkillParams(), obs, now)
	fmt.Printf("skill %.2f, weight %.3f (ln 3 = %.3f), tier %s\n", s.P, s.Weight, math.Log(3), crowd.TierOf(s, ""))
	// Output: skill 0.75, weight 1.099 (ln 3 = 1.099), tier silver
}

package mappingjob

import (
	"fmt"
	"time"
)

// CrowdActor is the audit trail's actor of a crowd resolution.
const CrowdActor = "crowd"

// CrowdResolution is the Portiere Mapper crowd's consensus on an item:
// ConceptID the agreed target (0: no valid mapping), with its name,
// vocabulary and domain, and Provenance (task, votes, agreement) kept
// under the item's provenance key "crowd".
type CrowdResolution struct {
	ItemID       int64
	ConceptID    int32
	ConceptName  string
	VocabularyID string
	DomainID     string
	Provenance   Provenance
}

// ApplyCrowd returns cur decided by r, and the audit action: the item's
// own target (or rank-1 candidate) agreed is an approval, another concept
// an override, no concept a rejection; the method is MethodCrowd either
// way and the crowd's provenance is added under "crowd". It is pure; the
// store sets Revision and DecidedAt.
//
// Errors: ErrConflict when a reviewer got there first (the item is not
// open: decided, awaiting a second reviewer or flagged) — the crowd never
// overwrites a person's decision.
func ApplyCrowd(cur Item, r CrowdResolution, now time.Time) (Item, Action, error) {
	if cur.State() != StateOpen {
		return cur, "", fmt.Errorf("%w: item %d is %s; the crowd's resolution does not replace a reviewer's decision", ErrConflict, cur.ID, cur.State())
	}
	next := cur
	proposed := cur.ConceptID
	if proposed == 0 && len(cur.Candidates) > 0 {
		proposed = cur.Candidates[0].ConceptID
	}
	var action Action
	switch {
	case r.ConceptID == 0:
		action, next.Review = ActionReject, ReviewRejected
		next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = 0, "", "", ""
	case r.ConceptID == proposed:
		action, next.Review = ActionApprove, ReviewApproved
		next.ConceptID = r.ConceptID
		if r.ConceptName != "" {
			next.TargetName, next.TargetVocabulary, next.TargetDomain = r.ConceptName, r.VocabularyID, r.DomainID
		}
	default:
		action, next.Review = ActionOverride, ReviewOverridden
		next.ConceptID, next.TargetName, next.TargetVocabulary, next.TargetDomain = r.ConceptID, r.ConceptName, r.VocabularyID, r.DomainID
	}
	next.Method = MethodCrowd
	next.DecidedBy = ""
	prov := Provenance{}
	for k, v := range cur.Provenance {
		prov[k] = v
	}
	crowd := Provenance{"decided_at": now.UTC()}
	for k, v := range r.Provenance {
		crowd[k] = v
	}
	prov["crowd"] = crowd
	next.Provenance = prov
	return next, action, nil
}

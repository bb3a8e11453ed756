package mappingjob_test

import (
	"errors"
	"testing"

	"github.com/portiere/portiere/mappingjob"
)

func TestApplyCrowd(t *testing.T) {
	prov := mappingjob.Provenance{"crowd_task_id": int64(4)}
	cases := []struct {
		name    string
		r       mappingjob.CrowdResolution
		review  mappingjob.ReviewStatus
		action  mappingjob.Action
		concept int32
	}{
		{"the proposed target agreed", mappingjob.CrowdResolution{ConceptID: 11, Provenance: prov}, mappingjob.ReviewApproved, mappingjob.ActionApprove, 11},
		{"another concept", mappingjob.CrowdResolution{ConceptID: 22, ConceptName: "twenty-two", VocabularyID: "SNOMED", DomainID: "Condition", Provenance: prov},
			mappingjob.ReviewOverridden, mappingjob.ActionOverride, 22},
		{"no valid mapping", mappingjob.CrowdResolution{Provenance: prov}, mappingjob.ReviewRejected, mappingjob.ActionReject, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := proposed()
			cur.Provenance = mappingjob.Provenance{"engine_version": "v1"}
			next, action, err := mappingjob.ApplyCrowd(cur, c.r, now)
			if err != nil {
				t.Fatal(err)
			}
			if next.Review != c.review || action != c.action || next.ConceptID != c.concept || next.Method != mappingjob.MethodCrowd {
				t.Fatalf("%+v %s", next, action)
			}
			crowd, _ := next.Provenance["crowd"].(mappingjob.Provenance)
			if next.Provenance["engine_version"] != "v1" || crowd["crowd_task_id"] != int64(4) || crowd["decided_at"] == nil {
				t.Fatalf("provenance %+v", next.Provenance)
			}
			if cur.Provenance["crowd"] != nil {
				t.Fatal("ApplyCrowd changed its input's provenance")
			}
		})
	}
	decided := apply(t, proposed(), mappingjob.Decision{Review: mappingjob.ReviewRejected, Actor: "a", DecidedBy: "a"})
	if _, _, err := mappingjob.ApplyCrowd(decided, mappingjob.CrowdResolution{ConceptID: 11}, now); !errors.Is(err, mappingjob.ErrConflict) {
		t.Fatalf("over a reviewer's decision: %v", err)
	}
}

package mappingjob

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The memory of reviewed decisions: an organization's approved and
// overridden items, across its projects, found again by source code and
// description. A new mapping (POST /concepts/map, a bulk mapping) recalls
// the memory before search and proposes the reviewed concept ahead of the
// engine's candidates. The memory is the items' current state: a decision
// later rejected is no longer recalled, and one organization never
// recalls another's.

// MemoryKey is what the memory is looked up by: a source code and its
// description, compared normalised (trimmed, runs of white space as one
// space, lower case; the store applies the normalisation).
type MemoryKey struct {
	Code, Description string
}

// MemoryScope says whose memory to read: OrganizationID's, or, when it is
// empty, that of the organization owning ProjectID. Both empty reads
// nothing (the operator token has no organization).
type MemoryScope struct {
	OrganizationID string
	ProjectID      string
}

// Recollection is a reviewed decision found in the memory.
type Recollection struct {
	ItemID      int64 // the reviewed item
	ProjectID   string
	ProjectName string
	// Candidate is the reviewed concept, its class and standard flag as
	// the vocabulary has them now.
	Candidate Candidate
	Review    ReviewStatus // approved or overridden
	DecidedBy string       // the reviewer's user id; "" when unknown
	Reviewer  string       // the reviewer's email, or DecidedBy when unknown
	DecidedAt *time.Time
}

// Memory recalls an organization's reviewed decisions. Implementations
// are safe for concurrent use.
type Memory interface {
	// Recall returns one entry per key: the most recently decided
	// approved or overridden item of the scope's organization whose
	// normalised code and description are the key's, or nil.
	Recall(ctx context.Context, scope MemoryScope, keys []MemoryKey) ([]*Recollection, error)
}

// MemoryKeys are the keys of codes, in order.
func MemoryKeys(codes []SourceCode) []MemoryKey {
	keys := make([]MemoryKey, len(codes))
	for i, c := range codes {
		keys[i] = MemoryKey{Code: c.Code, Description: c.Description}
	}
	return keys
}

// ProvenanceMemory is the provenance "method" of an item proposed from
// the memory. The item's Method stays one of the SDK's values (auto): the
// SDK refuses any other.
const ProvenanceMemory = "memory"

// Fits reports whether r may be proposed for a code searched with
// vocabularies and domains (empty: any). A nil r fits nothing.
func (r *Recollection) Fits(vocabularies, domains []string) bool {
	if r == nil {
		return false
	}
	in := func(v string, list []string) bool {
		return len(list) == 0 || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	return in(r.Candidate.VocabularyID, vocabularies) && in(r.Candidate.DomainID, domains)
}

// Apply returns it with r's concept proposed ahead of search: the target
// and first candidate are the reviewed concept (score 1), the engine's
// candidates follow without it, the confidence is 1 and the method auto;
// provenance gains method "memory", the project, reviewer and date of the
// decision. An error of the search is dropped: the memory answered. A nil
// r returns it unchanged.
func (r *Recollection) Apply(it Item) Item {
	if r == nil {
		return it
	}
	c := r.Candidate
	c.Score, c.RRFScore, c.CrossEncoderScore = 1, nil, nil
	c.Explanation, _ = json.Marshal(map[string]any{"memory": true, "mapping_id": strconv.FormatInt(r.ItemID, 10), "project": r.ProjectID})
	cands := make([]Candidate, 0, len(it.Candidates)+1)
	cands = append(cands, c)
	for _, o := range it.Candidates {
		if o.ConceptID != c.ConceptID {
			cands = append(cands, o)
		}
	}
	it.Candidates = cands
	it.ConceptID, it.TargetName, it.TargetVocabulary, it.TargetDomain = c.ConceptID, c.ConceptName, c.VocabularyID, c.DomainID
	it.Confidence, it.Method, it.InferenceMethod, it.Error = 1, MethodAuto, MethodAuto, ""
	prov := make(Provenance, len(it.Provenance)+7)
	for k, v := range it.Provenance {
		prov[k] = v
	}
	prov["method"] = ProvenanceMemory
	prov["project"] = r.ProjectID
	prov["project_name"] = r.ProjectName
	prov["mapping_id"] = strconv.FormatInt(r.ItemID, 10)
	prov["reviewer"] = r.Reviewer
	prov["review_decision"] = string(r.Review)
	if r.DecidedAt != nil {
		prov["decided_at"] = r.DecidedAt.UTC().Format(time.RFC3339)
	} else {
		prov["decided_at"] = nil
	}
	it.Provenance = prov
	return it
}

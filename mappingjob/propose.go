package mappingjob

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/portiere/portiere/mapping"
	"github.com/portiere/portiere/search"
)

// Explanation is the engine's account of one candidate, stored in
// Candidate.Explanation: its ranks and scores in the lexical and dense
// tiers, the text and field that matched, and the non-standard concept
// the match went through ("Maps to"), if any.
type Explanation struct {
	LexicalRank    int     `json:"lexical_rank,omitempty"`
	LexicalScore   float64 `json:"lexical_score,omitempty"`
	DenseRank      int     `json:"dense_rank,omitempty"`
	DenseScore     float64 `json:"dense_score,omitempty"`
	MatchedText    string  `json:"matched_text,omitempty"`
	MatchedField   string  `json:"matched_field,omitempty"`
	MappedFrom     *int32  `json:"mapped_from,omitempty"`
	MappedFromName string  `json:"mapped_from_name,omitempty"`
}

// CandidateOf is c in the SDK's ConceptCandidate shape, with the engine's
// explanation. A concept that is not standard has StandardConcept "" (the
// SDK requires a string).
func CandidateOf(c search.Candidate) Candidate {
	con := c.Concept
	ex := Explanation{
		LexicalRank: c.LexicalRank, LexicalScore: c.LexicalScore, DenseRank: c.DenseRank, DenseScore: c.DenseScore,
		MatchedText: c.MatchedText, MatchedField: c.MatchedField,
	}
	if c.Via != nil {
		id := c.Via.ID
		ex.MappedFrom, ex.MappedFromName = &id, c.Via.Name
	}
	raw, _ := json.Marshal(ex) // a struct of numbers and strings always marshals
	return Candidate{
		ConceptID: con.ID, ConceptName: con.Name, VocabularyID: con.Vocabulary, DomainID: con.Domain,
		ConceptClassID: con.Class, StandardConcept: con.Standard, Score: c.Score, Explanation: raw,
	}
}

// MethodOf is the method of an item the engine routed to r.
func MethodOf(r search.Route) Method {
	switch r {
	case search.RouteAuto:
		return MethodAuto
	case search.RouteReview:
		return MethodReview
	}
	return MethodManual
}

// ProposalOf is the item search proposes for c from m: the rank-1
// candidate as target, the candidates with their explanations, the
// confidence and the routed method; a term that could not be searched is
// a manual item with Error set. Provenance is left for the caller.
func ProposalOf(c SourceCode, m mapping.Mapping) Item {
	it := Item{
		Source: c.Source, Code: c.Code, Description: c.Description,
		Confidence: m.Confidence, Method: MethodOf(m.Status),
	}
	if m.Err != nil {
		it.Error = m.Err.Error()
		it.Method = MethodManual
		it.InferenceMethod = MethodManual
		return it
	}
	it.InferenceMethod = it.Method
	it.Candidates = make([]Candidate, len(m.Candidates))
	for i, cand := range m.Candidates {
		it.Candidates[i] = CandidateOf(cand)
	}
	if len(m.Candidates) > 0 {
		top := it.Candidates[0]
		it.ConceptID, it.TargetName, it.TargetVocabulary, it.TargetDomain = top.ConceptID, top.ConceptName, top.VocabularyID, top.DomainID
	}
	return it
}

// Term is the term the engine searches for c, at line in its input: its
// description (or code) with the row's context. The source's domain hint
// stands in for a missing category: the engine reads OMOP domain names
// (Measurement, Drug, Condition, Procedure) as categories, a soft
// preference, where a domain filter would hide the right concept behind a
// wrong hint. Bulk mapping and Propose both search with it, so a code maps
// the same way through either.
func (c SourceCode) Term(line int) mapping.SourceTerm {
	category := c.Category
	if category == "" {
		category = c.DomainHint
	}
	return mapping.SourceTerm{
		Line: line, Code: c.Code, Description: c.Description, Vocabularies: c.Vocabularies, Domains: c.Domains,
		Context: search.Context{Category: category, Specimen: c.Specimen, Unit: c.Unit},
	}
}

// Propose maps codes with e (mapping.Map with opts) and, for each code
// that scope's memory of reviewed decisions recalls and whose reviewed
// concept fits the code's vocabularies and domains (else opts.Filter's),
// proposes that concept ahead of search (Recollection.Apply). Items come
// back in the order of codes, not stored; each code is searched with its
// context (Term). The engine's per-term errors are on the items (Error
// set, method manual), except an unknown vocabulary in the filter,
// returned as *search.UnknownVocabularyError; an error of the memory is
// returned.
func Propose(ctx context.Context, e *search.Engine, mem Memory, scope MemoryScope, codes []SourceCode, opts mapping.Options) ([]Item, error) {
	var recalled []*Recollection
	if mem != nil {
		var err error
		if recalled, err = mem.Recall(ctx, scope, MemoryKeys(codes)); err != nil {
			return nil, err
		}
	}
	terms := make([]mapping.SourceTerm, len(codes))
	for i, c := range codes {
		terms[i] = c.Term(i + 1)
	}
	ms := mapping.Map(ctx, e, terms, opts)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	items := make([]Item, len(codes))
	for i, m := range ms {
		var uv *search.UnknownVocabularyError
		if errors.As(m.Err, &uv) {
			return nil, uv
		}
		items[i] = ProposalOf(codes[i], m)
		if recalled != nil {
			vocabularies, domains := opts.Filter.Vocabularies, opts.Filter.Domains
			if len(codes[i].Vocabularies) > 0 {
				vocabularies = codes[i].Vocabularies
			}
			if len(codes[i].Domains) > 0 {
				domains = codes[i].Domains
			}
			if r := recalled[i]; r.Fits(vocabularies, domains) {
				if con, ok := e.Corpus().Lookup(r.Candidate.ConceptID); ok {
					// The vocabulary the engine serves knows the concept's
					// class and standard flag even when the database's
					// concept table was never loaded (tests, a dev stack).
					r.Candidate.ConceptClassID, r.Candidate.StandardConcept = con.Class, con.Standard
				}
				items[i] = r.Apply(items[i])
			}
		}
	}
	return items, nil
}

// Explain decodes c's Explanation; ok is false when the candidate has
// none (an SDK push may carry none, or another shape).
func (c Candidate) Explain() (e Explanation, ok bool) {
	if len(c.Explanation) == 0 {
		return e, false
	}
	return e, json.Unmarshal(c.Explanation, &e) == nil
}

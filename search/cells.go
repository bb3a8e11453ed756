package search

import (
	"context"
	"sort"
	"strings"
)

// cellSeparators join several fields or several problems in one exported
// cell, tried in this order. A bare "/" is not one: it is part of drug
// combinations, LOINC ratios and "and/or".
var cellSeparators = []string{";", `\`, " - ", " / "}

// splitCell splits a cell such as "Urea - blood", "Urinalysis - Protein"
// or "Essential hypertension; Type 2 diabetes mellitus" at the first
// separator it holds. Parts naming a specimen, a category or (after the
// first part) a unit become ctx (each only when empty). It splits only when
// the parts stand alone: a single term is left beside context parts, or
// every remaining part reads as a term of a known kind by itself. So
// "Exploration of peripheral nerve; median" (a qualifier) and drug
// packages ("amoxicillin; 500mg; oral") stay whole. ok is false when the
// cell is not split.
func (e *Engine) splitCell(text string, ctx Context) (terms []string, out Context, ok bool) {
	sep := ""
	for _, s := range cellSeparators {
		if strings.Contains(text, s) {
			sep = s
			break
		}
	}
	if sep == "" {
		return nil, ctx, false
	}
	if k, _ := e.classify(text); k == TermDrug || e.isUnit(text) {
		return nil, ctx, false
	}
	out = ctx
	contextParts := 0
	for i, part := range strings.Split(text, sep) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if e.asContext(part, &out, i > 0) {
			contextParts++
		} else {
			terms = append(terms, part)
		}
	}
	switch {
	case len(terms) == 1 && contextParts > 0:
		return terms, out, true
	case len(terms) >= 2:
		for _, t := range terms {
			// A body site qualifies the part before it ("...; radial").
			if k, _ := e.classify(t); k == TermUnknown || k == TermSite {
				return nil, ctx, false
			}
		}
		return terms, out, true
	}
	return nil, ctx, false
}

// searchParts answers a cell of several terms ("Asthmatic bronchitis;
// Essential hypertension"): each part is searched with the cell's context
// and the candidates are ranked together by score, a concept once. One
// cell, several things: the result is never routed "auto".
func (e *Engine) searchParts(ctx context.Context, q Query, parts []string) (Result, error) {
	var all Result
	seen := map[int32]bool{}
	for i, p := range parts {
		sub := q
		sub.Text = p
		res, err := e.Search(ctx, sub)
		if err != nil {
			return Result{}, err
		}
		if i == 0 {
			all.Kind, all.Confidence = res.Kind, res.Confidence
		}
		all.Conflict = all.Conflict || res.Conflict
		all.Confidence = min(all.Confidence, res.Confidence)
		for _, c := range res.Candidates {
			if !seen[c.Concept.ID] {
				seen[c.Concept.ID] = true
				all.Candidates = append(all.Candidates, c)
			}
		}
	}
	sort.SliceStable(all.Candidates, func(i, j int) bool { return all.Candidates[i].Score > all.Candidates[j].Score })
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	if len(all.Candidates) > limit {
		all.Candidates = all.Candidates[:limit]
	}
	all.Parts = parts
	all.Route = all.RouteWith(e.opts.Thresholds)
	if len(all.Candidates) == 0 {
		all.Route = RouteManual
	}
	return all, nil
}

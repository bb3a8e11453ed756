package search

import "sort"

// Mined term associations.
//
// A vocabulary says the same thing in several ways: a concept's name and
// its synonyms, and a source concept's name and the names of the standard
// concepts it "Maps to" (an ICD-9 procedure and its SNOMED equivalent).
// Where two such texts differ by a word or two, those words are probably
// interchangeable ("chlamydia" / "chlamydial", "renal" / "kidney",
// "excision" / "removal"). Counting such differences across the whole
// vocabulary gives related-term expansions that fit the vocabulary being
// searched rather than a fixed list.
const (
	minedMaxDiff  = 1   // texts may differ by at most this many terms on each side
	minedMinCount = 2   // a pair must be seen this often
	minedMinShare = 0.3 // and in this share of the alignments of its rarer term
	minedPerTerm  = 4   // expansions kept per term
	minedWeight   = 0.7 // discount of a mined expansion
	minedMaxTexts = 16  // texts per concept compared pairwise
)

// mineRelated returns, for each term, the terms it is interchangeable with.
func (ix *BM25Index) mineRelated() map[uint32][]expansion {
	pairs := map[[2]uint32]int{}
	occurs := map[uint32]int{}
	align := func(a, b []uint32) {
		onlyA, onlyB := difference(a, b), difference(b, a)
		if len(onlyA) == 0 || len(onlyB) == 0 || len(onlyA) > minedMaxDiff || len(onlyB) > minedMaxDiff {
			return
		}
		for _, x := range onlyA {
			occurs[x]++
		}
		for _, y := range onlyB {
			occurs[y]++
		}
		for _, x := range onlyA {
			for _, y := range onlyB {
				if x != y && !isNumber(ix.terms[x]) && !isNumber(ix.terms[y]) {
					pairs[[2]uint32{x, y}]++
					pairs[[2]uint32{y, x}]++
				}
			}
		}
	}
	c := ix.corpus
	for o := range c.Concepts {
		first := ix.firstText[o]
		end := uint32(len(ix.texts))
		if o+1 < len(c.Concepts) {
			end = ix.firstText[o+1]
		}
		end = min(end, first+minedMaxTexts)
		for d1 := first; d1 < end; d1++ {
			for d2 := d1 + 1; d2 < end; d2++ {
				align(ix.textTerms(d1), ix.textTerms(d2))
			}
		}
		for _, t := range c.mapsTo[int32(o)] {
			align(ix.textTerms(first), ix.textTerms(ix.firstText[t]))
		}
	}
	out := map[uint32][]expansion{}
	for p, n := range pairs {
		if n < minedMinCount {
			continue
		}
		rarer := min(occurs[p[0]], occurs[p[1]])
		if float64(n) < minedMinShare*float64(rarer) {
			continue
		}
		out[p[0]] = append(out[p[0]], expansion{id: p[1], weight: float32(n)})
	}
	for t, es := range out {
		sort.Slice(es, func(i, j int) bool {
			if es[i].weight != es[j].weight {
				return es[i].weight > es[j].weight
			}
			return es[i].id < es[j].id
		})
		if len(es) > minedPerTerm {
			es = es[:minedPerTerm]
		}
		for i := range es {
			es[i].weight = minedWeight
		}
		out[t] = es
	}
	return out
}

// difference returns the terms of a not in b.
func difference(a, b []uint32) []uint32 {
	var out []uint32
outer:
	for _, x := range a {
		for _, y := range b {
			if x == y {
				continue outer
			}
		}
		for _, y := range out {
			if x == y {
				continue outer
			}
		}
		out = append(out, x)
	}
	return out
}

package search

import "math"

// Evidence is what made a candidate score as it did, each value in [0, 1].
type Evidence struct {
	QueryCoverage float64 // share of the query's information (IDF) the text matches
	TextCoverage  float64 // share of the text's information the query matches
	BM25Relative  float64 // BM25 relative to the best lexical hit of the query
	Dense         float64 // cosine similarity of the embeddings
	Numbers       float64 // share of the query's numbers the text contains (1 without numbers)
	OffType       float64 // 1 when the query names an operation and the concept is no procedure
	Code          bool    // the query is this concept's code
	KindPrior     float64 // +1 the concept is of the query's kind (a LOINC test for a lab name), -1 plainly not, 0 unknown
	// Parts is how the candidate agrees with the parts parsed from the
	// term: a lab name's specimen, scale and analyte (labEvidence), a
	// drug's ingredients (a candidate naming none of them: -2).
	Parts float64
	Unit  UnitEvidence

	slots uint64 // bit i: query slot i matched (the first 64)
}

// UnitEvidence says how a query parsed as a unit matched a UCUM concept.
type UnitEvidence struct {
	Rank       int  // 1-based rank among the UCUM concepts meaning the query's unit; 0 when none
	Candidates int  // how many UCUM concepts mean it
	CaseFolded bool // only UCUM's case-insensitive reading matched ("MG/DL", "ku/L")
}

// Weights of the weighted fusion. The defaults express a simple prior — a
// good answer covers the query and says little else — rather than a fit to
// any test set.
type Weights struct {
	QueryCoverage float64 // share of the query matched
	TextCoverage  float64 // share of the candidate text matched
	BM25          float64 // BM25 relative to the best hit
	Dense         float64 // embedding cosine
	Numbers       float64 // penalty per share of query numbers missing
	Intent        float64 // penalty for a concept of another kind than the query asks for
	Kind          float64 // per unit of KindPrior
	Parts         float64 // per unit of Evidence.Parts
}

// DefaultWeights are used when Options.Weights is zero.
var DefaultWeights = Weights{QueryCoverage: 0.45, TextCoverage: 0.25, BM25: 0.10, Dense: 0.20, Numbers: 0.15, Intent: 0.08, Kind: 0.20, Parts: 0.08}

func (w Weights) combine(f Evidence, withDense bool) float64 {
	s := w.QueryCoverage*f.QueryCoverage + w.TextCoverage*f.TextCoverage + w.BM25*f.BM25Relative + w.Numbers*(f.Numbers-1) -
		w.Intent*f.OffType + w.Kind*f.KindPrior + w.Parts*f.Parts
	if withDense {
		s += w.Dense * f.Dense
	} else {
		s *= 1 / (1 - w.Dense)
	}
	return s
}

// queryInfo is what coverage needs to know about the query.
type queryInfo struct {
	slotIDF  []float32 // information of each distinct query term
	totalIDF float32
	numbers  map[uint32]bool // numeric query terms present in the index
	nNumbers int             // numeric query terms, present or not
}

func (ix *BM25Index) queryInfo(terms []string, qterms []queryTerm, slots int) queryInfo {
	qi := queryInfo{slotIDF: make([]float32, slots), numbers: map[uint32]bool{}}
	maxIDF := float32(math.Log(1 + float64(len(ix.texts))))
	for i := range qi.slotIDF {
		qi.slotIDF[i] = maxIDF // unknown terms carry full information, unmatched
	}
	seenSlot := make([]bool, slots)
	for _, qt := range qterms {
		if !seenSlot[qt.slot] || ix.idf[qt.id] > qi.slotIDF[qt.slot] {
			qi.slotIDF[qt.slot] = ix.idf[qt.id]
		}
		seenSlot[qt.slot] = true
		if isNumber(ix.terms[qt.id]) {
			qi.numbers[qt.id] = true
		}
	}
	seen := map[string]bool{}
	for _, t := range terms {
		if isNumber(t) && !seen[t] {
			seen[t] = true
			qi.nNumbers++
		}
	}
	for _, v := range qi.slotIDF {
		qi.totalIDF += v
	}
	return qi
}

// features measures how well text d covers the query and vice versa.
func (ix *BM25Index) features(qi queryInfo, qterms []queryTerm, d uint32) Evidence {
	dterms := ix.textTerms(d)
	in := func(id uint32) bool {
		for _, t := range dterms {
			if t == id {
				return true
			}
		}
		return false
	}
	slotHit := make([]float32, len(qi.slotIDF))
	matched := map[uint32]bool{}
	for _, qt := range qterms {
		if in(qt.id) {
			matched[qt.id] = true
			if qt.weight > slotHit[qt.slot] {
				slotHit[qt.slot] = qt.weight
			}
		}
	}
	var f Evidence
	var got float32

	for s, w := range slotHit {
		got += w * qi.slotIDF[s]
		if w > 0 && s < 64 {
			f.slots |= 1 << s
		}
	}
	if qi.totalIDF > 0 {
		f.QueryCoverage = float64(got / qi.totalIDF)
	}
	var dTotal, dGot float32
	for _, t := range dterms {
		dTotal += ix.idf[t]
		if matched[t] {
			dGot += ix.idf[t]
		}
	}
	if dTotal > 0 {
		f.TextCoverage = float64(dGot / dTotal)
	}
	// A candidate with other numbers than the query's (another strength,
	// another type) conflicts; one without numbers is only less specific
	// ("aminophylline Oral Tablet" for "aminophylline 150 mg oral").
	f.Numbers = 1
	if qi.nNumbers > 0 {
		n, textNumbers := 0, 0
		for id := range qi.numbers {
			if matched[id] {
				n++
			}
		}
		for _, t := range dterms {
			if isNumber(ix.terms[t]) {
				textNumbers++
			}
		}
		missing := 1 - float64(n)/float64(qi.nNumbers)
		if textNumbers == 0 {
			missing /= 3
		}
		f.Numbers = 1 - missing
	}
	return f
}

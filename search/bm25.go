package search

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Text kinds: which text of a concept matched.
const (
	KindName    uint8 = 0
	KindSynonym uint8 = 1
)

// BM25 parameters. b is below the usual 0.75 because concept names are short
// and their lengths carry little information.
const (
	bm25K1 = 1.2
	bm25B  = 0.5
)

// textRef is one indexed text: a concept's name or one of its synonyms.
type textRef struct {
	concept int32
	syn     int32 // index into Synonyms, or -1 for the name
	terms   [2]uint32
}

// BM25Index is the embedded lexical index: BM25 over the analysed terms of
// every concept name and synonym, with misspelling-tolerant expansion of
// query terms the vocabulary does not contain. Search is safe for
// concurrent use once built.
type BM25Index struct {
	an        *Analyzer
	corpus    *Corpus
	texts     []textRef
	firstText []uint32  // concept ordinal → its first text (the name)
	termBuf   []uint32  // texts' term ids, sliced by textRef.terms
	norm      []float32 // per text: k1*(1-b+b*len/avg)

	dict     map[string]uint32
	terms    []string
	df       []uint32
	idf      []float32
	postings [][]uint32 // term → texts containing it (ascending, one entry per text)
	tfs      [][]uint8  // term → term frequency in the text at the same position

	grams   map[string][]uint32    // character trigram → terms, for fuzzy expansion
	byText  []uint32               // term ids in lexical order, for prefix expansion
	related map[string][]expansion // query term → related index terms (routes → dose forms)
	mined   map[uint32][]expansion // index term → interchangeable terms learnt from the vocabulary

	variantCache sync.Map           // index term id → []expansion, see variants
	codes        map[string][]int32 // upper-cased concept_code → ordinals

	// scratch holds per-query score arrays. A channel rather than a
	// sync.Pool: the pool empties at every GC, and reallocating an array
	// the size of the vocabulary per query costs more than the search.
	scratch chan *accumulator
}

type accumulator struct {
	score   []float32
	touched []uint32
}

// NewBM25Index analyses and indexes every text of c.
func NewBM25Index(c *Corpus, an *Analyzer) *BM25Index {
	ix := &BM25Index{an: an, corpus: c, dict: map[string]uint32{}, codes: map[string][]int32{}}
	var total int
	add := func(concept, syn int32, text string) {
		start := uint32(len(ix.termBuf))
		seen := map[uint32]bool{}
		for _, t := range an.Terms(text) {
			id, ok := ix.dict[t]
			if !ok {
				id = uint32(len(ix.terms))
				ix.dict[t] = id
				ix.terms = append(ix.terms, t)
				ix.df = append(ix.df, 0)
				ix.postings = append(ix.postings, nil)
				ix.tfs = append(ix.tfs, nil)
			}
			ix.termBuf = append(ix.termBuf, id)
			doc := uint32(len(ix.texts))
			if !seen[id] {
				seen[id] = true
				ix.df[id]++
				ix.postings[id] = append(ix.postings[id], doc)
				ix.tfs[id] = append(ix.tfs[id], 1)
			} else if p := ix.tfs[id]; p[len(p)-1] < 255 {
				p[len(p)-1]++
			}
		}
		end := uint32(len(ix.termBuf))
		total += int(end - start)
		ix.texts = append(ix.texts, textRef{concept: concept, syn: syn, terms: [2]uint32{start, end}})
	}
	for o := range c.Concepts {
		con := &c.Concepts[o]
		ix.firstText = append(ix.firstText, uint32(len(ix.texts)))
		add(int32(o), -1, con.Name)
		for s, syn := range con.Synonyms {
			add(int32(o), int32(s), syn)
		}
		if con.Code != "" {
			code := strings.ToUpper(con.Code)
			ix.codes[code] = append(ix.codes[code], int32(o))
		}
	}
	n := float64(len(ix.texts))
	avg := float64(total) / math.Max(n, 1)
	ix.norm = make([]float32, len(ix.texts))
	for i, t := range ix.texts {
		l := float64(t.terms[1] - t.terms[0])
		ix.norm[i] = float32(bm25K1 * (1 - bm25B + bm25B*l/math.Max(avg, 1)))
	}
	ix.idf = make([]float32, len(ix.terms))
	for id, df := range ix.df {
		ix.idf[id] = float32(math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5)))
	}
	ix.byText = make([]uint32, 0, len(ix.terms))
	for id, t := range ix.terms {
		if !isNumber(t) {
			ix.byText = append(ix.byText, uint32(id))
		}
	}
	slices.SortFunc(ix.byText, func(a, b uint32) int { return strings.Compare(ix.terms[a], ix.terms[b]) })
	ix.grams = map[string][]uint32{}
	for id, t := range ix.terms {
		if len(t) < 4 || isNumber(t) {
			continue
		}
		for _, g := range trigrams(t) {
			ix.grams[g] = append(ix.grams[g], uint32(id))
		}
	}
	ix.related = map[string][]expansion{}
	related := func(yield func(string, []string) bool) {
		for w, r := range relatedWords {
			if !yield(w, r) {
				return
			}
		}
		for w, r := range clinicalAbbreviations {
			if !yield(w, r) {
				return
			}
		}
	}
	for word, rel := range related {
		from := an.Terms(word)
		if len(from) != 1 {
			continue
		}
		for _, r := range rel {
			for _, to := range an.Terms(r) {
				if id, ok := ix.dict[to]; ok {
					ix.related[from[0]] = append(ix.related[from[0]], expansion{id: id, weight: 0.8})
				}
			}
		}
	}
	// Roots of one-word procedures and the organs they name, both ways.
	// Roots are already stems (the analyzer emits them as split), organs
	// are analysed.
	for root, organs := range combiningForms {
		rootID, ok := ix.dict[root]
		if !ok {
			continue
		}
		for _, organ := range organs {
			for _, t := range an.Terms(organ) {
				if id, ok := ix.dict[t]; ok && id != rootID {
					ix.related[root] = append(ix.related[root], expansion{id: id, weight: 0.8})
					ix.related[t] = append(ix.related[t], expansion{id: rootID, weight: 0.8})
				}
			}
		}
	}
	// The lists above come from map iteration: in id order, a query's
	// scores are summed in the same order on every run (float addition is
	// not associative, and a last-bit difference can break a tie).
	for _, es := range ix.related {
		slices.SortFunc(es, func(a, b expansion) int { return cmp.Compare(a.id, b.id) })
	}
	ix.mined = ix.mineRelated()
	ix.scratch = make(chan *accumulator, 2*runtime.GOMAXPROCS(0))
	return ix
}

func isNumber(t string) bool { return t != "" && (t[0] >= '0' && t[0] <= '9') }

// trigrams of a word with boundary markers, deduplicated.
func trigrams(w string) []string {
	p := "^" + w + "$"
	out := make([]string, 0, len(p))
	seen := map[string]bool{}
	for i := 0; i+3 <= len(p); i++ {
		g := p[i : i+3]
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// queryTerm is one term the query is scored with.
type queryTerm struct {
	id     uint32
	weight float32 // 1 for exact terms, the similarity for expansions
	slot   int     // which analysed query term it stands for
}

// expand maps the analysed query terms to index terms: exact matches, or
// for terms the vocabulary lacks (misspellings, variants), the most similar
// index terms by trigram overlap.
func (ix *BM25Index) expand(terms []string) ([]queryTerm, int) {
	var out []queryTerm
	slots := 0
	seen := map[string]bool{}
	for _, t := range terms {
		if seen[t] {
			continue
		}
		seen[t] = true
		slot := slots
		slots++
		id, known := ix.dict[t]
		if known {
			out = append(out, queryTerm{id: id, weight: 1, slot: slot})
		}
		for _, r := range ix.related[t] {
			out = append(out, queryTerm{id: r.id, weight: r.weight, slot: slot})
		}
		if known {
			for _, r := range ix.mined[id] {
				out = append(out, queryTerm{id: r.id, weight: r.weight, slot: slot})
			}
		}
		// Unknown words are likely misspellings; known words may still have
		// close variants the vocabulary prefers ("aciclovir" / "acyclovir",
		// "scleral" / "sclera"), taken only when very similar.
		var similar []expansion
		if known {
			similar = ix.variants(id)
		} else {
			similar = ix.fuzzy(t, 2, 0.5)
			similar = append(similar, ix.completions(t, 2)...)
		}
		for _, e := range similar {
			if !known || e.id != id {
				out = append(out, queryTerm{id: e.id, weight: e.weight * fuzzyDiscount(known), slot: slot})
			}
		}
	}
	return out, slots
}

// completions returns the n most frequent index terms that t is a
// truncation of: local systems cut names to fit a field ("Potass",
// "Carboxyhemoglob", "Epineph"). Only words of five letters or more are
// completed; shorter ones are abbreviations, not truncations.
func (ix *BM25Index) completions(t string, n int) []expansion {
	if len(t) < 5 || isNumber(t) {
		return nil
	}
	i, _ := slices.BinarySearchFunc(ix.byText, t, func(id uint32, t string) int { return strings.Compare(ix.terms[id], t) })
	var cands []uint32
	for ; i < len(ix.byText) && strings.HasPrefix(ix.terms[ix.byText[i]], t); i++ {
		if len(cands) > 200 {
			return nil // a common stem, not a truncated word
		}
		cands = append(cands, ix.byText[i])
	}
	slices.SortFunc(cands, func(a, b uint32) int { return cmp.Or(cmp.Compare(ix.df[b], ix.df[a]), cmp.Compare(a, b)) })
	var out []expansion
	for _, id := range cands[:min(n, len(cands))] {
		out = append(out, expansion{id: id, weight: 0.9})
	}
	return out
}

func fuzzyDiscount(known bool) float32 {
	if known {
		return 0.8
	}
	return 1
}

// variants returns the close spellings of index term id (Dice ≥ 0.7),
// computed once per term: the dictionary is fixed, and bulk mapping asks
// for the same words again and again.
func (ix *BM25Index) variants(id uint32) []expansion {
	if v, ok := ix.variantCache.Load(id); ok {
		return v.([]expansion)
	}
	v := ix.fuzzy(ix.terms[id], 2, 0.7)
	ix.variantCache.Store(id, v)
	return v
}

type expansion struct {
	id     uint32
	weight float32
}

// fuzzy finds up to n index terms similar to t (Dice coefficient over
// boundary trigrams ≥ 0.5).
func (ix *BM25Index) fuzzy(t string, n int, minDice float32) []expansion {
	if len(t) < 4 || isNumber(t) {
		return nil
	}
	qg := trigrams(t)
	counts := make(map[uint32]int, 256)
	for _, g := range qg {
		for _, id := range ix.grams[g] {
			counts[id]++
		}
	}
	var cands []expansion
	for id, shared := range counts {
		if 2*shared < len(qg)/2 {
			continue // cannot reach the threshold
		}
		other := len(ix.terms[id]) + 2 - 2 // trigram count of "^w$" is len(w)
		dice := 2 * float32(shared) / float32(len(qg)+other)
		if dice >= minDice && ix.terms[id] != t && !swapsPrefix(t, ix.terms[id]) {
			cands = append(cands, expansion{id: id, weight: dice})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].weight != cands[j].weight {
			return cands[i].weight > cands[j].weight
		}
		if ix.df[cands[i].id] != ix.df[cands[j].id] {
			return ix.df[cands[i].id] > ix.df[cands[j].id]
		}
		// cands came from a map: without a last key, equally similar and
		// frequent words would change places from one call to the next.
		return cands[i].id < cands[j].id
	})
	if len(cands) > n {
		cands = cands[:n]
	}
	return cands
}

// boundPrefixes are the Latin and Greek prefixes that turn a word into
// another, often its opposite: "intracapsular" / "extracapsular",
// "incision" / "excision", "hypotension" / "hypertension", "abduction" /
// "adduction", "unilateral" / "bilateral".
var boundPrefixes = []string{"intra", "extra", "inter", "infra", "supra", "super", "sub", "trans", "retro", "peri",
	"para", "endo", "exo", "ecto", "epi", "hypo", "hyper", "ante", "anti", "post", "pre", "pro", "uni", "bi",
	"tri", "multi", "in", "ex", "ab", "ad", "de", "re", "dis", "dys"}

// swapsPrefix reports whether a and b are one word with two different
// bound prefixes: never a misspelling of each other, however similar.
func swapsPrefix(a, b string) bool {
	for _, pa := range boundPrefixes {
		if !strings.HasPrefix(a, pa) {
			continue
		}
		for _, pb := range boundPrefixes {
			if pb != pa && strings.HasPrefix(b, pb) && a[len(pa):] == b[len(pb):] {
				return true
			}
		}
	}
	return false
}

// textHit is a scored text.
type textHit struct {
	text  uint32
	score float32
}

// search scores every text containing a query term and returns the best
// limit texts whose concept passes keep.
func (ix *BM25Index) search(qterms []queryTerm, limit int, keep func(concept int32) bool) []textHit {
	var acc *accumulator
	select {
	case acc = <-ix.scratch:
	default:
		acc = &accumulator{score: make([]float32, len(ix.texts))}
	}
	defer func() {
		for _, d := range acc.touched {
			acc.score[d] = 0
		}
		acc.touched = acc.touched[:0]
		select {
		case ix.scratch <- acc:
		default: // more concurrent queries than kept arrays: let it go
		}
	}()
	// Terms found in more than 1 text in 100 ("of", "disorder", "tablet")
	// have long postings and low weight. When the query has rarer terms,
	// common terms only add to the texts the rare ones found: a text
	// matching common words alone cannot win. This keeps latency flat as
	// the vocabulary grows.
	// A query of common words only is driven by its rarest word.
	commonDF := uint32(len(ix.texts) / 100)
	minDF := ^uint32(0)
	for _, qt := range qterms {
		minDF = min(minDF, ix.df[qt.id])
	}
	commonDF = max(commonDF, minDF)
	hasRare := len(qterms) > 0
	for _, qt := range qterms {
		if hasRare && ix.df[qt.id] > commonDF {
			continue
		}
		w := qt.weight * ix.idf[qt.id]
		posts, tfs := ix.postings[qt.id], ix.tfs[qt.id]
		for i, d := range posts {
			tf := float32(tfs[i])
			s := w * tf * (bm25K1 + 1) / (tf + ix.norm[d])
			if acc.score[d] == 0 {
				acc.touched = append(acc.touched, d)
			}
			acc.score[d] += s
		}
	}
	if hasRare {
		for _, qt := range qterms {
			if ix.df[qt.id] <= commonDF {
				continue
			}
			w := qt.weight * ix.idf[qt.id]
			posts, tfs := ix.postings[qt.id], ix.tfs[qt.id]
			if len(posts) < 16*len(acc.touched) {
				// Scanning the postings once, sequentially, beats a binary
				// search per touched text when they are not much longer.
				for i, d := range posts {
					if acc.score[d] != 0 {
						tf := float32(tfs[i])
						acc.score[d] += w * tf * (bm25K1 + 1) / (tf + ix.norm[d])
					}
				}
				continue
			}
			for _, d := range acc.touched {
				i, ok := slices.BinarySearch(posts, d)
				if !ok {
					continue
				}
				tf := float32(tfs[i])
				acc.score[d] += w * tf * (bm25K1 + 1) / (tf + ix.norm[d])
			}
		}
	}
	h := topK{limit: limit}
	for _, d := range acc.touched {
		s := acc.score[d]
		if h.full() && s <= h.min() {
			continue
		}
		if keep != nil && !keep(ix.texts[d].concept) {
			continue
		}
		h.push(textHit{text: d, score: s})
	}
	return h.sorted()
}

// text returns the string of an indexed text.
func (ix *BM25Index) text(d uint32) string {
	t := ix.texts[d]
	c := &ix.corpus.Concepts[t.concept]
	if t.syn < 0 {
		return c.Name
	}
	return c.Synonyms[t.syn]
}

// textTerms returns the term ids of an indexed text.
func (ix *BM25Index) textTerms(d uint32) []uint32 {
	t := ix.texts[d]
	return ix.termBuf[t.terms[0]:t.terms[1]]
}

// topK keeps the best hits in a min-heap.
type topK struct {
	limit int
	h     []textHit
}

func (t *topK) full() bool   { return len(t.h) >= t.limit }
func (t *topK) min() float32 { return t.h[0].score }
func (t *topK) less(i, j int) bool {
	if t.h[i].score != t.h[j].score {
		return t.h[i].score < t.h[j].score
	}
	return t.h[i].text > t.h[j].text // deterministic: lower text id wins ties
}

func (t *topK) push(x textHit) {
	if len(t.h) < t.limit {
		t.h = append(t.h, x)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.less(i, p) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	t.h[0] = x
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.h) && t.less(l, m) {
			m = l
		}
		if r < len(t.h) && t.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

func (t *topK) sorted() []textHit {
	out := append([]textHit(nil), t.h...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].text < out[j].text
	})
	return out
}

// textOf finds the indexed text of concept id equal to text.
func (ix *BM25Index) textOf(id int32, text string) (uint32, bool) {
	o, ok := ix.corpus.byID[id]
	if !ok {
		return 0, false
	}
	start := ix.firstText[o]
	for d := start; d < uint32(len(ix.texts)) && ix.texts[d].concept == o; d++ {
		if ix.text(d) == text {
			return d, true
		}
	}
	return start, true // unknown synonym: fall back to the name
}

// SearchLexical makes the embedded index a LexicalSearcher.
func (ix *BM25Index) SearchLexical(_ context.Context, q LexicalQuery) ([]LexicalHit, error) {
	qterms, _ := ix.expand(ix.an.Terms(q.Text))
	var keep func(int32) bool
	if q.Keep != nil {
		keep = func(o int32) bool { return q.Keep(ix.corpus.Concepts[o].ID) }
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	hits := ix.search(qterms, limit, keep)
	out := make([]LexicalHit, len(hits))
	for i, h := range hits {
		t := ix.texts[h.text]
		out[i] = LexicalHit{ConceptID: ix.corpus.Concepts[t.concept].ID, Text: ix.text(h.text), Field: fieldName(t.syn), Score: float64(h.score)}
	}
	return out, nil
}

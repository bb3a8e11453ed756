package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Filter restricts which concepts a search returns. Empty lists allow all.
type Filter struct {
	Vocabularies   []string
	Domains        []string
	Classes        []string
	StandardOnly   bool // only standard concepts; non-standard hits are scored as their "Maps to" targets
	IncludeInvalid bool // also return deprecated / upgraded concepts
}

// Query is one search.
type Query struct {
	Text   string
	Limit  int // candidates to return; 0 means 10
	Filter Filter
	// Context is what a source row says about the term besides its text;
	// all optional.
	Context Context
}

// Context is per-row information that exports carry beside a term: the
// local category ("Chemistry", "Medication", "Diagnosis"), the specimen of
// a lab test ("Serum", "Urine") and the unit its results come in ("mg/dL").
type Context struct {
	Category string
	Specimen string
	Unit     string
}

// Fusion selects how lexical and dense evidence are combined.
type Fusion string

// Fusion modes.
const (
	// FusionWeighted scores every candidate from both tiers by a weighted
	// sum of normalised evidence (query coverage, text coverage, BM25,
	// dense similarity). The default.
	FusionWeighted Fusion = "weighted"
	// FusionRRF is reciprocal-rank fusion of the lexical and dense rankings.
	FusionRRF Fusion = "rrf"
	// FusionLexical and FusionDense use one tier alone (for ablations).
	FusionLexical Fusion = "lexical"
	FusionDense   Fusion = "dense"
)

// Candidate is one concept proposed for a query, with why.
type Candidate struct {
	Concept *Concept
	Score   float64 // fused score, higher is better; comparable within one result
	// Explanation.
	LexicalRank  int     // 1-based rank in the lexical tier, 0 if absent
	LexicalScore float64 // BM25
	DenseRank    int     // 1-based rank in the dense tier, 0 if absent
	DenseScore   float64 // cosine similarity
	MatchedText  string  // the name, synonym or code that matched
	MatchedField string  // "name", "synonym" or "code"
	// Via is the non-standard concept whose text matched when this
	// standard concept was reached through "Maps to"; nil otherwise.
	Via *Concept

	Evidence Evidence
}

// Result is the ranked candidates of a query and the routing of the best.
type Result struct {
	Kind       TermKind // what the term was read as; TermUnknown when neither text nor filter says
	Conflict   bool     // the text reads as one kind and the filter asks for another
	Inferred   bool     // the kind is a likely reading (a bare analyte name as a lab test), not a certain one
	Candidates []Candidate
	Confidence float64 // calibrated probability that Candidates[0] is right
	Route      Route
	// Parts are the terms a cell holding several ("Asthma; Essential
	// hypertension") was split into, each searched on its own and ranked
	// together; nil when the text was searched whole.
	Parts []string
}

// RouteWith is r's route under thresholds t (zero fields take the
// defaults): what Search does with the engine's thresholds, for callers
// that route with their own (a request's auto and review thresholds).
func (r Result) RouteWith(t Thresholds) Route {
	route := t.Route(r.Confidence)
	if route == RouteAuto && (!r.Kind.calibrated() || r.Conflict || r.Inferred || len(r.Parts) > 1) {
		// Without knowing what the term is (or for a kind whose confidence
		// no gold set has checked), when its text and its context
		// disagree, or when one cell names several things, a person
		// confirms.
		route = RouteReview
	}
	return route
}

// Options configure an Engine. The zero value is lexical-only with default
// weights.
type Options struct {
	Fusion Fusion
	// RRFK is the k of reciprocal-rank fusion (default 60).
	RRFK float64
	// Dense is the embedding tier; nil disables it.
	Dense *DenseTier
	// Routing thresholds; zero values take the defaults (0.95 / 0.70).
	Thresholds Thresholds
	// Lexical replaces the embedded BM25 retrieval (Elasticsearch at
	// scale). The embedded index is still built: fusion features are
	// computed from its term statistics.
	Lexical LexicalSearcher
	// Depth is how many texts each tier contributes before fusion
	// (default 40).
	Depth int
	// Weights of the weighted fusion; zero means DefaultWeights.
	Weights Weights
}

// Engine answers queries over one Corpus. It is safe for concurrent use.
type Engine struct {
	corpus *Corpus
	lex    *BM25Index
	an     *Analyzer
	opts   Options
	vocab  map[string]bool
	cal    Calibration
	// operations are the analysed words that make a query ask for a
	// procedure.
	operations map[string]bool
	units      *unitIndex
	// specimenTerms are the analysed words of lab specimens ("serum",
	// "blood"): a lab candidate must match some other word of the name.
	specimenTerms map[string]bool
	// drugFormTerms are the analysed drugFormWords: the other words of a
	// drug term name its ingredients.
	drugFormTerms map[string]bool
	// brands are the vocabulary's brand names and their ingredients.
	brands *brandIndex
	// doseFormTerms are the analysed dose forms and routes among them.
	doseFormTerms map[string]bool
	// entities reads routes, frequencies, organisms, specimens and sites.
	entities *entityReader
	// analytes are what the vocabulary's lab tests measure.
	analytes *analyteIndex
	// productRoutes are where the drug concepts go, by ordinal.
	productRoutes map[int32]routeSet
}

// rerankDepth is how many leading candidates get a dense score computed
// when the dense tier did not retrieve them.
const rerankDepth = 30

// ErrEmptyQuery is returned for a query with no searchable text.
var ErrEmptyQuery = errors.New("search: empty query")

// ErrLexicalUnavailable is wrapped around the error of an external lexical
// tier (Options.Lexical: Elasticsearch) that did not answer. Without its
// retrieval a ranking would silently differ from the one the index was
// built for, so the search fails instead; the API answers 503 naming it.
var ErrLexicalUnavailable = errors.New("search: the external lexical tier (Elasticsearch) did not answer")

// UnknownVocabularyError names a filter vocabulary the corpus lacks.
type UnknownVocabularyError struct{ Vocabulary string }

func (e *UnknownVocabularyError) Error() string {
	return fmt.Sprintf("search: unknown vocabulary %q", e.Vocabulary)
}

// NewEngine indexes c.
func NewEngine(c *Corpus, opts Options) *Engine {
	if opts.Fusion == "" {
		opts.Fusion = FusionWeighted
		if opts.Dense == nil {
			opts.Fusion = FusionLexical
		}
	}
	if opts.RRFK == 0 {
		opts.RRFK = 60
	}
	if opts.Depth == 0 {
		opts.Depth = 40
	}
	opts.Thresholds = opts.Thresholds.withDefaults()
	if opts.Weights == (Weights{}) {
		opts.Weights = DefaultWeights
	}
	an := &Analyzer{}
	e := &Engine{corpus: c, an: an, lex: NewBM25Index(c, an), opts: opts, vocab: map[string]bool{}, cal: defaultCalibration, operations: operationTerms(an), units: newUnitIndex(c), specimenTerms: map[string]bool{}, drugFormTerms: map[string]bool{}, doseFormTerms: map[string]bool{}}
	for _, w := range drugFormWords {
		for _, t := range an.Terms(w) {
			e.drugFormTerms[t] = true
			if !drugUnitWords[w] {
				e.doseFormTerms[t] = true
			}
		}
	}
	for k, v := range labSpecimens {
		for _, t := range an.Terms(k + " " + v) {
			e.specimenTerms[t] = true
		}
	}
	for i := range c.Concepts {
		e.vocab[c.Concepts[i].Vocabulary] = true
	}
	e.brands = newBrandIndex(c, an, e.drugFormTerms)
	e.entities = newEntityReader(c)
	e.analytes = newAnalyteIndex(c, an)
	e.productRoutes = drugRoutes(c)
	return e
}

// WithWeights returns an engine over the same corpus and indexes whose
// weighted fusion uses w: for fitting weights without rebuilding. Both
// engines stay safe for concurrent use.
func (e *Engine) WithWeights(w Weights) *Engine {
	c := *e
	c.opts.Weights = w
	return &c
}

// Corpus returns the searched corpus.
func (e *Engine) Corpus() *Corpus { return e.corpus }

// HasVocabulary reports whether any concept belongs to vocabulary v.
func (e *Engine) HasVocabulary(v string) bool { return e.vocab[v] }

// compiledFilter is a Filter turned into fast membership tests.
type compiledFilter struct {
	f                        Filter
	vocabs, domains, classes map[string]bool
}

func (e *Engine) compile(f Filter) (*compiledFilter, error) {
	set := func(xs []string) map[string]bool {
		if len(xs) == 0 {
			return nil
		}
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	for _, v := range f.Vocabularies {
		if !e.vocab[v] {
			return nil, &UnknownVocabularyError{Vocabulary: v}
		}
	}
	return &compiledFilter{f: f, vocabs: set(f.Vocabularies), domains: set(f.Domains), classes: set(f.Classes)}, nil
}

// admits reports whether concept c may be returned as is.
func (cf *compiledFilter) admits(c *Concept) bool {
	if cf.f.StandardOnly && c.Standard != "S" {
		return false
	}
	if !cf.f.IncludeInvalid && !c.Valid() {
		return false
	}
	return (cf.vocabs == nil || cf.vocabs[c.Vocabulary]) &&
		(cf.domains == nil || cf.domains[c.Domain]) &&
		(cf.classes == nil || cf.classes[c.Class])
}

// keepFunc returns the test for "a hit on this concept can be returned",
// without allocating: it runs for every text a query touches. nil means
// every concept passes.
func (cf *compiledFilter) keepFunc(c *Corpus) func(int32) bool {
	if cf.vocabs == nil && cf.domains == nil && cf.classes == nil && !cf.f.StandardOnly && cf.f.IncludeInvalid {
		return nil
	}
	return func(o int32) bool {
		con := &c.Concepts[o]
		if cf.admits(con) {
			return true
		}
		if !cf.f.StandardOnly || con.Standard == "S" {
			return false
		}
		for _, t := range c.mapsTo[o] {
			if cf.admits(&c.Concepts[t]) {
				return true
			}
		}
		return false
	}
}

// targets returns the concepts a hit on ordinal o stands for: itself when
// admitted, else (standard-only mode) its admitted "Maps to" targets.
func (e *Engine) targets(cf *compiledFilter, o int32) []int32 {
	c := &e.corpus.Concepts[o]
	if cf.admits(c) {
		return []int32{o}
	}
	if !cf.f.StandardOnly || c.Standard == "S" {
		return nil
	}
	var out []int32
	for _, t := range e.corpus.mapsTo[o] {
		if cf.admits(&e.corpus.Concepts[t]) {
			out = append(out, t)
		}
	}
	return out
}

// Search ranks the concepts that q's text may name and routes the best.
//
// A cell exported with its parts joined by "|" ("Sodium | Serum |
// Chemistry") is split first: parts that name a specimen, a unit or a
// category become q.Context (unless it already says), the rest is the
// term. The term's kind (Result.Kind) is read from its text, its context
// and the filter, and weighs the candidates; see docs/search.md.
//
// Limit defaults to 10. Search returns ErrEmptyQuery for a query with no
// text and *UnknownVocabularyError for a filter naming a vocabulary the
// corpus lacks; a query nothing matches gives a Result with no candidates
// and RouteManual. An error of the external lexical tier is returned
// wrapped in ErrLexicalUnavailable; one of the dense tier is returned
// wrapped. Search is safe for concurrent use.
func (e *Engine) Search(ctx context.Context, q Query) (Result, error) {
	if q.Limit <= 0 {
		q.Limit = 10
	}
	text := strings.TrimSpace(spellGases(q.Text))
	if strings.Contains(text, "|") {
		text, q.Context = e.splitParts(text, q.Context)
	} else if parts, c, ok := e.splitCell(text, q.Context); ok {
		q.Context = c
		if len(parts) > 1 {
			return e.searchParts(ctx, q, parts)
		}
		text = parts[0]
	}
	if text == "" {
		return Result{}, ErrEmptyQuery
	}
	cf, err := e.compile(q.Filter)
	if err != nil {
		return Result{}, err
	}
	textKind, lq := e.classify(text)
	ctxKind := contextKind(q.Filter)
	if ck := categoryKind(q.Context); ck != TermUnknown {
		if ctxKind != TermUnknown && ctxKind != ck {
			ctxKind = TermUnknown // the filter and the category disagree: neither decides
		} else {
			ctxKind = ck
		}
	}
	kind, conflict := resolveKind(textKind, ctxKind)
	// A bare analyte name with nothing else to say what it is: a lab test
	// more likely than a drug, but only likely, so never auto.
	inferred := false
	if kind == TermUnknown {
		// "cL" is centilitres before it is chloride.
		if ok, spelled := e.analytes.names(e.an, e.an.Terms(text)); ok && !e.isUnit(text) {
			kind, inferred = TermLab, true
			if spelled != "" {
				lq = labQuery{text: spelled} // searched; an exact code is still looked up as written
			}
		}
	}
	if kind == TermLab {
		lq = lq.withContext(text, q.Context)
	}
	terms := e.an.Terms(lq.text)
	// A brand name ("Lipitor 20 mg tab", "Xalatan") adds its ingredients
	// to the searched words: clinical drugs name ingredients, not brands.
	brand := false
	if kind == TermDrug {
		if rw := rewriteDoseForms(stripPackSize(spellDrugAbbreviations(lq.text))); rw != lq.text {
			lq.text = rw
			terms = e.an.Terms(lq.text)
		}
		var extra []string
		if brand, _, extra = e.brands.lookup(e.an, terms); len(extra) > 0 {
			lq.text += " " + strings.Join(extra, " ")
			terms = e.an.Terms(lq.text)
		}
	}
	// analyte: the query slots (distinct terms, as expand numbers them) that
	// name what a lab test measures rather than its specimen.
	var pairs []drugPair
	var dq drugQuery
	if kind == TermDrug {
		pairs = e.queryDrugPairs(text)
		dq = e.readDrugQuery(terms)
		dq.brand = brand
	}
	// For a drug, the slots of its ingredients: not numbers, units, dose
	// forms or routes.
	var analyte uint64
	if kind == TermLab || kind == TermDrug {
		seen := map[string]bool{}
		for _, t := range terms {
			if seen[t] {
				continue
			}
			other := e.specimenTerms[t]
			if kind == TermDrug {
				other = isNumber(t) || e.drugFormTerms[t] || t == "%"
			}
			if slot := len(seen); slot < 64 && !other {
				analyte |= 1 << slot
			}
			seen[t] = true
		}
	}

	// Collect evidence per final concept.
	type candState struct {
		target               int32
		text                 uint32 // best lexical text, if any
		hasText              bool
		lexRank, denseRank   int
		lexScore, denseScore float64
		features             Evidence
		score                float64
		matched, field       string
		via                  int32
		codeHit              bool
		unitRank             int // 1-based rank among UCUM concepts meaning the query, 0 if none
	}
	cands := map[int32]*candState{}
	get := func(t int32) *candState {
		ev, ok := cands[t]
		if !ok {
			ev = &candState{target: t, via: -1}
			cands[t] = ev
		}
		return ev
	}

	// Exact code: "E11.9", "4548-4".
	for _, o := range e.lex.codes[strings.ToUpper(text)] {
		for _, t := range e.targets(cf, o) {
			ev := get(t)
			ev.codeHit = true
			ev.matched, ev.field = e.corpus.Concepts[o].Code, "code"
			if t != o {
				ev.via = o
			}
		}
	}

	// A unit string: the UCUM concepts that mean the same unit.
	unitMatches, unitFolded := e.units.match(e.corpus, text, nil)
	if len(unitMatches) > 0 {
		kind, conflict = resolveKind(TermUnit, contextKind(q.Filter))
	}
	for i, m := range unitMatches {
		for _, t := range e.targets(cf, m.ordinal) {
			ev := get(t)
			if ev.unitRank == 0 {
				ev.unitRank = i + 1
			}
			if !ev.codeHit {
				ev.matched, ev.field = e.corpus.Concepts[m.ordinal].Code, "code"
				if t != m.ordinal {
					ev.via = m.ordinal
				}
			}
		}
	}

	keep := cf.keepFunc(e.corpus)
	qterms, slots := e.lex.expand(terms)
	var routes routeSet          // where the drug the term names goes
	var concentrations []float64 // its strengths written as an amount in a volume
	if kind == TermDrug {
		qterms = e.percentStrengths(terms, qterms)
		qterms, concentrations = e.perVolumeStrengths(terms, qterms)
		if routes = routesOf(lq.text); routes&semiSolidRoutes != 0 {
			qterms = e.perGramStrengths(terms, qterms)
		}
	}
	if e.opts.Fusion != FusionDense {
		hits, err := e.lexical(ctx, lq.text, q.Filter, qterms, keep)
		if err != nil {
			return Result{}, err
		}
		rank := 0
		for _, h := range hits {
			o := e.lex.texts[h.text].concept
			for _, t := range e.targets(cf, o) {
				ev := get(t)
				if ev.lexRank != 0 {
					continue // a better text of this concept already counted
				}
				rank++
				ev.lexRank, ev.lexScore = rank, float64(h.score)
				ev.text, ev.hasText = h.text, true
				if !ev.codeHit {
					ev.matched, ev.field = e.lex.text(h.text), fieldName(e.lex.texts[h.text].syn)
					if t != o {
						ev.via = o
					}
				}
			}
		}
	}

	useDense := e.opts.Dense != nil && e.opts.Fusion != FusionLexical
	if e.opts.Fusion == FusionWeighted && (kind == TermLab || kind == TermUnit) && !e.opts.Dense.denseForCodes() {
		// Lab names and units are abbreviations and codes ("LDH SerPl",
		// "mcmol/L"): a character-n-gram embedding has nothing to add to
		// their expansions and pulls toward look-alike strings (measured:
		// lab names top-1 0.611 lexical, 0.541 fused with the hash
		// embedder). A language model may earn its place; see
		// DenseTier.ForCodes.
		useDense = false
	}
	if useDense {
		dh, err := e.opts.Dense.search(ctx, lq.text, e.opts.Depth)
		if err != nil {
			return Result{}, err
		}
		rank := 0
		for _, h := range dh {
			if int(h.text) >= len(e.lex.texts) {
				continue // an index from another corpus; Load refuses those
			}
			o := e.lex.texts[h.text].concept
			if keep != nil && !keep(o) {
				continue
			}
			for _, t := range e.targets(cf, o) {
				ev := get(t)
				if ev.denseRank != 0 {
					continue
				}
				rank++
				ev.denseRank, ev.denseScore = rank, float64(h.score)
				if !ev.hasText {
					ev.text, ev.hasText = h.text, true
					if !ev.codeHit {
						ev.matched, ev.field = e.lex.text(h.text), fieldName(e.lex.texts[h.text].syn)
						if t != o {
							ev.via = o
						}
					}
				}
			}
		}
	}
	if len(cands) == 0 {
		return Result{Route: RouteManual}, nil
	}

	// Score.
	maxLex := 0.0
	for _, ev := range cands {
		maxLex = math.Max(maxLex, ev.lexScore)
	}
	qinfo := e.lex.queryInfo(terms, qterms, slots)
	// In a drug term "injection" or "infusion" is a dose form, not an
	// operation.
	wantsProcedure := false
	for _, t := range terms {
		wantsProcedure = wantsProcedure || e.operations[t] && kind != TermDrug
	}
	score := func(ev *candState) float64 {
		var s float64
		switch e.opts.Fusion {
		case FusionRRF:
			if ev.lexRank > 0 {
				s += 1 / (e.opts.RRFK + float64(ev.lexRank))
			}
			if ev.denseRank > 0 {
				s += 1 / (e.opts.RRFK + float64(ev.denseRank))
			}
		case FusionDense:
			s = ev.denseScore
		default:
			s = e.opts.Weights.combine(ev.features, useDense)
		}
		if ev.codeHit {
			s += 10 // an exact code outranks any text match
		}
		if ev.unitRank > 0 {
			// The query is this unit, however spelled: that outranks a
			// code spelled like it ("C" is not coulombs in a unit field).
			s += 30 - float64(min(ev.unitRank, 10))
		}
		return s
	}
	states := make([]*candState, 0, len(cands))
	for _, ev := range cands {
		if ev.hasText {
			ev.features = e.lex.features(qinfo, qterms, ev.text)
		}
		if maxLex > 0 {
			ev.features.BM25Relative = ev.lexScore / maxLex
		}
		ev.features.Dense = ev.denseScore
		ev.features.Code = ev.codeHit
		if ev.unitRank > 0 {
			ev.features.Unit = UnitEvidence{Rank: ev.unitRank, Candidates: len(unitMatches), CaseFolded: unitFolded}
		}
		con := &e.corpus.Concepts[ev.target]
		ev.features.KindPrior = kindPrior(kind, con)
		if kind == TermLab {
			ev.features.Parts = labEvidence(lq, con)
		}
		if pairs != nil && con.Domain == "Drug" {
			ev.features.Parts += e.drugPairsAgree(pairs, con.Name)
		}
		if kind == TermDrug && con.Domain == "Drug" {
			ev.features.Parts += drugGranularity(dq, con) + e.routeAgreement(routes, ev.target) + concentrationAgreement(concentrations, con)
		}
		if analyte != 0 && ev.features.slots&analyte == 0 && !ev.codeHit {
			// Only the specimen of a lab name matched, or only the strength
			// and form of a drug: another analyte, another ingredient.
			ev.features.Parts -= 2
		}
		if wantsProcedure && e.corpus.Concepts[ev.target].Domain != "Procedure" {
			ev.features.OffType = 1
		}
		ev.score = score(ev)
		states = append(states, ev)
	}
	byScore := func() {
		sort.Slice(states, func(i, j int) bool {
			if states[i].score != states[j].score {
				return states[i].score > states[j].score
			}
			return e.corpus.Concepts[states[i].target].ID < e.corpus.Concepts[states[j].target].ID
		})
	}
	byScore()
	// Lexical-only candidates lack a dense score: embed the texts of the
	// leaders (not all: embedding is the costly step) and score again.
	if useDense && e.opts.Fusion == FusionWeighted {
		var fill []*candState
		var texts []string
		for _, ev := range states[:min(len(states), rerankDepth)] {
			if ev.denseRank == 0 && ev.hasText {
				fill = append(fill, ev)
				texts = append(texts, e.lex.text(ev.text))
			}
		}
		if len(fill) > 0 {
			sims, err := e.opts.Dense.similarity(ctx, lq.text, texts)
			if err != nil {
				return Result{}, err
			}
			for i, ev := range fill {
				ev.denseScore = float64(sims[i])
				ev.features.Dense = ev.denseScore
				ev.score = score(ev)
			}
			byScore()
		}
	}
	out := make([]Candidate, 0, len(states))
	for _, ev := range states {
		c := Candidate{
			Concept: &e.corpus.Concepts[ev.target], Score: ev.score,
			LexicalRank: ev.lexRank, LexicalScore: ev.lexScore,
			DenseRank: ev.denseRank, DenseScore: ev.denseScore,
			MatchedText: ev.matched, MatchedField: ev.field, Evidence: ev.features,
		}
		if ev.via >= 0 {
			c.Via = &e.corpus.Concepts[ev.via]
		}
		out = append(out, c)
	}
	res := Result{Kind: kind, Conflict: conflict, Inferred: inferred}
	res.Confidence = e.cal.confidence(out, kind)
	res.Route = res.RouteWith(e.opts.Thresholds)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	res.Candidates = out
	return res, nil
}

func fieldName(syn int32) string {
	if syn < 0 {
		return "name"
	}
	return "synonym"
}

// lexical runs the lexical tier: the external searcher when configured,
// else the embedded index.
func (e *Engine) lexical(ctx context.Context, text string, f Filter, qterms []queryTerm, keep func(int32) bool) ([]textHit, error) {
	if e.opts.Lexical == nil {
		if len(qterms) == 0 {
			return nil, nil
		}
		return e.lex.search(qterms, e.opts.Depth, keep), nil
	}
	hits, err := e.opts.Lexical.SearchLexical(ctx, LexicalQuery{
		Text: text, Limit: e.opts.Depth, Filter: f,
		Keep: func(id int32) bool {
			o, ok := e.corpus.byID[id]
			return ok && keep(o)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLexicalUnavailable, err)
	}
	out := make([]textHit, 0, len(hits))
	for _, h := range hits {
		d, ok := e.lex.textOf(h.ConceptID, h.Text)
		if !ok {
			continue // the external index is from another vocabulary release
		}
		out = append(out, textHit{text: d, score: float32(h.Score)})
	}
	return out, nil
}

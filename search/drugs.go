package search

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// drugQuery is what a drug term says about the product it names: the
// granularity it supports. "metformin" names an ingredient; "metformin 500
// mg" a strength of it (RxNorm's Clinical Drug Comp); "metformin oral
// tablet" a dose form (Clinical Drug Form); both together a Clinical Drug;
// a brand name on top a Branded Drug.
type drugQuery struct {
	strength bool // a number: a strength, a volume or a pack size
	form     bool // a dose form or route
	brand    bool // a brand name the vocabulary knows
}

// drugClassSays is what an RxNorm concept class spells out: a strength, a
// dose form, a brand. Classes not listed (ATC, CVX, …) are not judged.
var drugClassSays = map[string]drugQuery{
	"Ingredient":           {},
	"Precise Ingredient":   {},
	"Multiple Ingredients": {},
	"Clinical Drug Comp":   {strength: true},
	"Branded Drug Comp":    {strength: true, brand: true},
	"Clinical Drug Form":   {form: true},
	"Branded Drug Form":    {form: true, brand: true},
	"Clinical Dose Group":  {form: true},
	"Branded Dose Group":   {form: true, brand: true},
	"Clinical Drug":        {strength: true, form: true},
	"Quant Clinical Drug":  {strength: true, form: true},
	"Clinical Pack":        {strength: true, form: true},
	"Clinical Drug Box":    {strength: true, form: true},
	"Quant Clinical Box":   {strength: true, form: true},
	"Branded Drug":         {strength: true, form: true, brand: true},
	"Quant Branded Drug":   {strength: true, form: true, brand: true},
	"Branded Pack":         {strength: true, form: true, brand: true},
	"Branded Drug Box":     {strength: true, form: true, brand: true},
	"Quant Branded Box":    {strength: true, form: true, brand: true},
	"Marketed Product":     {strength: true, form: true, brand: true},
	"Brand Name":           {brand: true},
}

// drugUnitWords are the words of drugFormWords that belong to a strength
// or a quantity, not to a dose form or route.
var drugUnitWords = map[string]bool{
	"mg": true, "mcg": true, "ug": true, "g": true, "gm": true, "ml": true, "l": true, "unit": true, "units": true,
	"iu": true, "meq": true, "mmol": true, "mol": true, "hr": true, "hour": true, "dose": true, "doses": true,
	"actuation": true, "actuat": true, "per": true, "na": true, "use": true, "for": true, "pre": true,
}

// readDrugQuery reads a drug term's granularity from its analysed terms.
func (e *Engine) readDrugQuery(terms []string) drugQuery {
	var dq drugQuery
	for _, t := range terms {
		switch {
		case isNumber(t):
			dq.strength = true
		case e.doseFormTerms[t]:
			dq.form = true
		}
	}
	return dq
}

// drugGranularity compares what an RxNorm candidate's class spells out with
// what the term says: −1 when the candidate drops the strength the term
// gives (the bare ingredient for "adapalene 0.1% gel"), −0.5 when it drops
// the dose form, −0.5 when it adds a strength the term does not give, and
// −0.25 when it adds a brand the term does not name or drops one it does.
// 0 when the class says exactly what the term says, or is not an RxNorm
// drug class.
func drugGranularity(dq drugQuery, c *Concept) float64 {
	if !strings.HasPrefix(c.Vocabulary, "RxNorm") {
		return 0
	}
	says, ok := drugClassSays[c.Class]
	if !ok {
		return 0
	}
	s := 0.0
	switch {
	case dq.strength && !says.strength:
		s -= 1
	case !dq.strength && says.strength:
		s -= 0.5
	}
	if dq.form && !says.form {
		s -= 0.5
	}
	if dq.brand != says.brand {
		s -= 0.25
	}
	return s
}

// termSlots numbers the distinct terms of a query in order, as
// BM25Index.expand numbers its slots: another reading of a term joins the
// term's slot.
func termSlots(terms []string) map[string]int {
	slotOf := map[string]int{}
	for _, t := range terms {
		if _, ok := slotOf[t]; !ok {
			slotOf[t] = len(slotOf)
		}
	}
	return slotOf
}

// percentStrengths lets a strength written as a percentage ("dorzolamide
// 2%", "imiquimod 5% cream") match the way RxNorm writes it: weight per
// volume for liquids (1% = 10 MG/ML) and weight per weight for creams,
// ointments and gels (1% = 0.01 MG/MG). Both readings join the number's
// slot; the dose form decides between the candidates.
func (e *Engine) percentStrengths(terms []string, qterms []queryTerm) []queryTerm {
	slotOf := termSlots(terms)
	for i := 0; i+1 < len(terms); i++ {
		if terms[i+1] != "%" || !isNumber(terms[i]) {
			continue
		}
		for _, f := range []float64{10, 0.01} {
			n, ok := scaleNumber(terms[i], f)
			if !ok {
				continue
			}
			if id, ok := e.lex.dict[n]; ok {
				qterms = append(qterms, queryTerm{id: id, weight: 1, slot: slotOf[terms[i]]})
			}
		}
	}
	return qterms
}

// brandIndex maps brand names, analysed (terms joined by a space), to the
// names of their ingredients: "Lipitor" → "atorvastatin". It is read from
// RxNorm — Brand Name concepts and their relationships, and the "[Brand]"
// that ends every branded drug's name — so a formulary's "Lipitor 20 mg
// tab" also finds "atorvastatin 20 MG Oral Tablet" when the vocabulary has
// no branded drug of that strength.
type brandIndex struct {
	ingredients map[string][]string
	maxTerms    int
}

// newBrandIndex reads c's brands. A brand whose name is an ingredient's, a
// dose form or a number is left out: it would expand every term.
func newBrandIndex(c *Corpus, an *Analyzer, formTerms map[string]bool) *brandIndex {
	bi := &brandIndex{ingredients: map[string][]string{}}
	isIngredient := map[string]bool{}
	for i := range c.Concepts {
		if con := &c.Concepts[i]; con.Class == "Ingredient" && con.Domain == "Drug" {
			isIngredient[strings.Join(an.Terms(con.Name), " ")] = true
		}
	}
	sets := map[string]map[string]bool{}
	add := func(brand string, o int32) {
		terms := an.Terms(brand)
		key := strings.Join(terms, " ")
		if key == "" || isIngredient[key] || len(key) < 3 {
			return
		}
		for _, t := range terms {
			if isNumber(t) || formTerms[t] {
				return
			}
		}
		var names []string
		for _, i := range c.ingredientOrdinals(o) {
			names = append(names, c.Concepts[i].Name)
		}
		if len(names) == 0 && c.Concepts[o].Class != "Brand Name" {
			names = ingredientsInName(c.Concepts[o].Name)
		}
		if len(names) == 0 {
			return
		}
		if sets[key] == nil {
			sets[key] = map[string]bool{}
		}
		for _, n := range names {
			sets[key][n] = true
		}
		bi.maxTerms = max(bi.maxTerms, len(terms))
	}
	for i := range c.Concepts {
		con := &c.Concepts[i]
		if !strings.HasPrefix(con.Vocabulary, "RxNorm") || con.Domain != "Drug" {
			continue
		}
		switch says := drugClassSays[con.Class]; {
		case con.Class == "Brand Name":
			add(con.Name, int32(i))
		case says.brand:
			if j := strings.LastIndex(con.Name, " ["); j > 0 && strings.HasSuffix(con.Name, "]") {
				add(con.Name[j+2:len(con.Name)-1], int32(i))
			}
		}
	}
	// A Brand Name without a tradename link to its ingredient: the drugs
	// that carry it say which.
	for _, l := range c.drugLinks {
		if l.rel == relHasBrandName {
			add(c.Concepts[l.to].Name, l.from)
		}
	}
	for key, set := range sets {
		names := make([]string, 0, len(set))
		for n := range set {
			names = append(names, n)
		}
		slices.Sort(names)
		bi.ingredients[key] = names
	}
	return bi
}

// ingredientsInName reads the ingredients of an RxNorm drug name
// ("amlodipine 5 MG / benazepril 10 MG Oral Capsule [Lotrel]" → amlodipine,
// benazepril): each " / " part up to its first number, past a leading
// quantity ("1 ML epoetin alfa …", "Abuse-Deterrent 12 HR oxycodone …").
// Packs ("{…} Pack") are not read.
func ingredientsInName(name string) []string {
	if strings.HasPrefix(name, "{") {
		return nil
	}
	if j := strings.LastIndex(name, " ["); j > 0 {
		name = name[:j]
	}
	var out []string
	for _, part := range strings.Split(name, " / ") {
		words := strings.Fields(part)
		for len(out) == 0 && len(words) > 2 {
			if startsWithDigit(words[0]) && strings.ToUpper(words[1]) == words[1] {
				words = words[2:] // a quantity: "1 ML", "72 HR"
			} else if strings.EqualFold(words[0], "Abuse-Deterrent") {
				words = words[1:] // RxNorm's prefix, not an ingredient
			} else {
				break
			}
		}
		var ing []string
		for _, w := range words {
			if startsWithDigit(w) {
				break
			}
			ing = append(ing, w)
		}
		if len(ing) > 0 && len(ing) < len(words) {
			out = append(out, strings.Join(ing, " "))
		}
	}
	return out
}

func startsWithDigit(w string) bool { return w != "" && w[0] >= '0' && w[0] <= '9' }

// lookup finds the brands among a term's analysed words. It returns
// whether any was found and the names of their ingredients the term does
// not already name.
func (bi *brandIndex) lookup(an *Analyzer, terms []string) (found bool, brandTerms map[string]bool, extra []string) {
	if len(bi.ingredients) == 0 {
		return false, nil, nil
	}
	have := map[string]bool{}
	for _, t := range terms {
		have[t] = true
	}
	for i := 0; i < len(terms); i++ {
		for n := min(bi.maxTerms, len(terms)-i); n >= 1; n-- {
			ings, ok := bi.ingredients[strings.Join(terms[i:i+n], " ")]
			if !ok {
				continue
			}
			found = true
			if brandTerms == nil {
				brandTerms = map[string]bool{}
			}
			for _, t := range terms[i : i+n] {
				brandTerms[t] = true
			}
			for _, ing := range ings {
				named := true
				for _, t := range an.Terms(ing) {
					named = named && have[t]
				}
				if !named && !slices.Contains(extra, ing) {
					extra = append(extra, ing)
				}
			}
			i += n - 1
			break
		}
	}
	return found, brandTerms, extra
}

// doseFormPhrases are the dose forms as European formularies print them —
// the EDQM standard-term phrasing ("film-coated tablet", "solution for
// injection in pre-filled syringe") — with the words of the RxNorm dose
// form they are (RxNorm's dose-form names, NLM). Written for this
// project; a term that matches gains these words, its own stay.
var doseFormPhrases = []struct {
	re  *regexp.Regexp
	add string
}{
	{regexp.MustCompile(`pre-?filled pen|\bpen\b`), "pen injector"},
	{regexp.MustCompile(`pre-?filled syringe`), "prefilled syringe"},
	{regexp.MustCompile(`(prolonged|modified|sustained|controlled|extended)[- ]release`), "extended release"},
	{regexp.MustCompile(`gastro-?resistant|enteric[- ]coated|delayed[- ]release`), "delayed release"},
	{regexp.MustCompile(`(oro)?dispersible tablet|oral lyophilisate`), "disintegrating oral tablet"},
	{regexp.MustCompile(`effervescent tablet`), "effervescent oral tablet"},
	{regexp.MustCompile(`\beye (drops|gel|ointment)`), "ophthalmic"},
	{regexp.MustCompile(`\bear drops`), "otic"},
	{regexp.MustCompile(`(solution|suspension|emulsion|powder)( and solvent)? for (solution for |suspension for |concentrate for solution for )?(injection|infusion)`), "injectable injection"},
	{regexp.MustCompile(`cutaneous (solution|spray|emulsion|foam)`), "topical"},
	{regexp.MustCompile(`nebuli[sz]er solution`), "inhalation solution"},
	{regexp.MustCompile(`pressuri[sz]ed inhalation`), "metered dose inhaler"},
	{regexp.MustCompile(`inhalation powder`), "dry powder inhaler"},
	{regexp.MustCompile(`transdermal patch`), "transdermal system"},
	{regexp.MustCompile(`rectal (suspension|solution)`), "enema"},
	// US formulary abbreviations of dose forms.
	{regexp.MustCompile(`\bodt\b`), "disintegrating oral tablet"},
	{regexp.MustCompile(`\b(dr|ec)\b`), "delayed release"},
	{regexp.MustCompile(`\bmdi\b`), "metered dose inhaler"},
	{regexp.MustCompile(`\bneb\b`), "inhalation solution"},
	{regexp.MustCompile(`\b(ivpb|ivp)\b`), "injection"},
}

// routeWords name a route other than by mouth: a tablet or capsule
// without one is taken by mouth ("film-coated tablet" is RxNorm's "Oral
// Tablet").
var routeWordRe = regexp.MustCompile(`(?i)\b(oral|vaginal|rectal|buccal|sublingual|oromucosal|chewable|effervescent|dispersible|orodispersible|lyophilisate)\b`)
var solidOralRe = regexp.MustCompile(`(?i)\b(tablets?|capsules?|caps?|tabs?)\b`)

// prefilledContentRe is what a pre-filled syringe or pen holds ("solution
// for injection in pre-filled syringe"): RxNorm names the device alone
// ("Prefilled Syringe", "Pen Injector"), so these words are dropped.
var prefilledContentRe = regexp.MustCompile(`(?i)(powder and solvent for )?(solution|suspension|emulsion)( and solvent)? for (injection|infusion)(/infusion)? in (a )?(?:pre-?filled|cartridge)`)

// rewriteDoseForms returns a drug term with its formulary dose-form
// phrasing followed by the words of the RxNorm dose form it stands for.
func rewriteDoseForms(text string) string {
	lt := strings.ToLower(text)
	prefilled := false
	if loc := prefilledContentRe.FindStringIndex(text); loc != nil {
		prefilled = true
		device := "pre-filled"
		if strings.HasSuffix(strings.ToLower(text[loc[0]:loc[1]]), "cartridge") {
			device = "cartridge"
		}
		text = text[:loc[0]] + device + text[loc[1]:]
		lt = strings.ToLower(text)
	}
	var add []string
	for _, p := range doseFormPhrases {
		if p.re.MatchString(lt) && !(prefilled && p.add == "injectable injection") {
			add = append(add, p.add)
		}
	}
	if solidOralRe.MatchString(lt) && !routeWordRe.MatchString(lt) {
		add = append(add, "oral")
	}
	if len(add) == 0 {
		return text
	}
	return text + " " + strings.Join(add, " ")
}

// packSizeRe finds how many units a pack holds, as drug labels write it:
// "x 28", "28's", "pack of 30", "28 tablets". A count before a dose form
// keeps the form ("28 tablets" → "tablets").
var packSizeRe = regexp.MustCompile(`(?i)(\bx\s*\d+\b|\b\d+\s*'s\b|\b(pack|box|bottle|carton) of \d+\b|\b\d+\s*(tabs?|tablets?|caps?|capsules?|ampoules?|ampules?|amps?|vials?|sachets?|pcs|pieces)\b)`)

// stripPackSize removes pack sizes from a drug term: RxNorm's products do
// not have them, and their number would read as a strength. A count that
// is the term's only number ("Tylenol 2 tablets") is kept, as is "x 5" or
// "28" followed by a unit ("2 x 5 mL", "28 mg").
func stripPackSize(text string) string {
	locs := packSizeRe.FindAllStringSubmatchIndex(text, -1)
	if len(locs) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		rest := strings.TrimSpace(text[l[1]:])
		if u := wordRe.FindString(rest); u != "" && strings.HasPrefix(rest, u) && drugUnitWords[strings.ToLower(u)] {
			continue // "x 5 mL": a volume, not a count
		}
		b.WriteString(text[last:l[0]])
		if l[6] >= 0 { // the dose form after the count
			b.WriteString(text[l[6]:l[7]])
		}
		last = l[1]
	}
	b.WriteString(text[last:])
	out := b.String()
	if !strings.ContainsAny(out, "0123456789") {
		return text
	}
	return out
}

// routeSet is where a drug product goes, as a set: a query may name
// several routes ("intramuscular, intravenous").
type routeSet uint16

const (
	routeOral routeSet = 1 << iota
	routeSkin
	routeEye
	routeEar
	routeNose
	routeLung
	routeRectum
	routeVagina
	routeParenteral
)

// semiSolidRoutes are where products are dosed by weight per weight: a
// cream's "50 mcg" is per gram (RxNorm "0.00005 MG/MG").
const semiSolidRoutes = routeSkin | routeEye | routeRectum | routeVagina

// routeOfWord places a product by the words of its name: RxNorm's dose
// forms ("Oral Tablet", "Topical Cream", "Prefilled Syringe") and the
// routes formularies write (EDQM standard terms). formRoute places it by a
// dose form that names no route, only when no route word does: a cream is
// for the skin unless it is a vaginal cream.
var (
	routeOfWord = map[string]routeSet{
		"oral": routeOral, "po": routeOral, "peroral": routeOral, "enteral": routeOral, "sublingual": routeOral,
		"buccal": routeOral, "oromucosal": routeOral, "chewable": routeOral,
		"topical": routeSkin, "cutaneous": routeSkin, "dermal": routeSkin, "transdermal": routeSkin,
		"lacquer": routeSkin, "shampoo": routeSkin,
		"ophthalmic": routeEye, "ocular": routeEye, "eye": routeEye, "opht": routeEye, "ophth": routeEye,
		"otic": routeEar, "auricular": routeEar, "ear": routeEar,
		"nasal": routeNose, "intranasal": routeNose,
		"inhalation": routeLung, "inhalant": routeLung, "inhaler": routeLung, "inhaled": routeLung,
		"nebuliser": routeLung, "nebulizer": routeLung,
		"rectal": routeRectum, "enema": routeRectum,
		"vaginal":    routeVagina,
		"injectable": routeParenteral, "injection": routeParenteral, "infusion": routeParenteral,
		"intravenous": routeParenteral, "intramuscular": routeParenteral, "subcutaneous": routeParenteral,
		"iv": routeParenteral, "im": routeParenteral, "sc": routeParenteral, "intrathecal": routeParenteral,
		"epidural": routeParenteral, "intravitreal": routeParenteral, "intradermal": routeParenteral,
		"intraarticular": routeParenteral, "intralesional": routeParenteral, "intracavernous": routeParenteral,
		"syringe": routeParenteral, "injector": routeParenteral, "cartridge": routeParenteral,
		// Formulary abbreviations of the same (see clinicalAbbreviations).
		"inj": routeParenteral, "ivpb": routeParenteral, "ivp": routeParenteral, "sq": routeParenteral,
		"subq": routeParenteral, "subcut": routeParenteral, "neb": routeLung, "mdi": routeLung, "odt": routeOral,
	}
	formRoute = map[string]routeSet{
		"cream": routeSkin, "ointment": routeSkin, "gel": routeSkin, "lotion": routeSkin, "patch": routeSkin,
		"plaster": routeSkin, "tablet": routeOral, "tablets": routeOral, "tab": routeOral, "capsule": routeOral,
		"capsules": routeOral, "cap": routeOral, "caps": routeOral, "syrup": routeOral, "suppository": routeRectum,
		"pessary": routeVagina,
	}
)

// routesOf reads where the product a drug name or term describes goes; 0
// when it does not say.
func routesOf(text string) routeSet {
	var routes, forms routeSet
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		routes |= routeOfWord[w]
		forms |= formRoute[w]
	}
	if routes != 0 {
		return routes
	}
	return forms
}

// routeAgreement is −2 when a drug candidate goes elsewhere than every
// route the term names (an oral capsule for "tacrolimus 1 mg cutaneous"),
// 0 otherwise: a product for another route is another product, as wrong
// as a strength the term does not give. productRoutes holds each drug
// concept's routes, read once from its name when the engine is built.
func (e *Engine) routeAgreement(want routeSet, ordinal int32) float64 {
	if want == 0 {
		return 0
	}
	if has := e.productRoutes[ordinal]; has != 0 && has&want == 0 {
		return -2
	}
	return 0
}

// drugRoutes reads the routes of the corpus's drug concepts from their
// names; concepts whose names say none are left out.
func drugRoutes(c *Corpus) map[int32]routeSet {
	m := map[int32]routeSet{}
	for i := range c.Concepts {
		if con := &c.Concepts[i]; con.Domain == "Drug" {
			if r := routesOf(con.Name); r != 0 {
				m[int32(i)] = r
			}
		}
	}
	return m
}

// perGramStrengths lets a mass strength of a cream, ointment, gel, eye
// ointment or suppository ("calcipotriol 50 mcg cutaneous", "ketoprofen
// 25 mg/g gel") match RxNorm's weight per weight: per gram, so 50 mcg is
// 0.00005 MG/MG. Like percentStrengths, the reading joins the number's
// slot. Where a vocabulary has a product both ways (10 MG/ML and 0.01
// MG/MG Topical Cream) the weight-per-weight name, having no "ML" the
// term lacks, ranks first. Measured on the drug packages alone: top-1
// 0.861 → 0.874.
func (e *Engine) perGramStrengths(terms []string, qterms []queryTerm) []queryTerm {
	slotOf := termSlots(terms)
	for i := 0; i+1 < len(terms); i++ {
		if terms[i+1] != "mg" || !isNumber(terms[i]) || i+2 < len(terms) && terms[i+2] == "ml" {
			continue
		}
		if n, ok := scaleNumber(terms[i], 0.001); ok {
			if id, ok := e.lex.dict[n]; ok {
				qterms = append(qterms, queryTerm{id: id, weight: 1, slot: slotOf[terms[i]]})
			}
		}
	}
	return qterms
}

// perVolumeStrengths reads the strengths written as an amount in a volume
// ("furosemide 40 mg/4 mL", "albuterol 2.5 mg/3 mL") as the concentrations
// RxNorm names (10 MG/ML, 0.833 MG/ML). The quotient joins the amount's
// slot, rounded as RxNorm rounds (three significant digits, or three
// decimals), and is returned for concentrationAgreement. "5000 units/mL"
// has no volume number and is left alone.
func (e *Engine) perVolumeStrengths(terms []string, qterms []queryTerm) ([]queryTerm, []float64) {
	slotOf := termSlots(terms)
	var concentrations []float64
	for i := 0; i+3 < len(terms); i++ {
		amount, unit, volume := terms[i], terms[i+1], terms[i+2]
		if !isNumber(amount) || !drugAmountUnits[unit] || !isNumber(volume) || terms[i+3] != "ml" {
			continue
		}
		a, err1 := strconv.ParseFloat(amount, 64)
		v, err2 := strconv.ParseFloat(volume, 64)
		if err1 != nil || err2 != nil || v <= 0 || v == 1 {
			continue
		}
		q := a / v
		concentrations = append(concentrations, q)
		for _, r := range []string{strconv.FormatFloat(q, 'g', 3, 64), strconv.FormatFloat(math.Round(q*1000)/1000, 'f', -1, 64)} {
			if id, ok := e.lex.dict[canonicalNumber(r)]; ok {
				qterms = append(qterms, queryTerm{id: id, weight: 1, slot: slotOf[amount]})
				break
			}
		}
	}
	return qterms, concentrations
}

// concentrationRe finds the concentrations of an RxNorm name ("10 MG/ML").
var concentrationRe = regexp.MustCompile(`(\d+(?:\.\d+)?) (?:MG|UNT|MEQ|MMOL)/ML\b`)

// concentrationAgreement compares a candidate's concentrations with those
// the term gives as an amount in a volume: +1 when one is the same, −1
// when it names only others (the amount read as a concentration: "40
// MG/ML" for "40 mg/4 mL"), 0 when it names none.
func concentrationAgreement(want []float64, c *Concept) float64 {
	if len(want) == 0 || c.Domain != "Drug" {
		return 0
	}
	found := concentrationRe.FindAllStringSubmatch(c.Name, -1)
	if len(found) == 0 {
		return 0
	}
	for _, m := range found {
		have, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			continue
		}
		for _, w := range want {
			if math.Abs(have-w) <= 0.01*max(have, w) {
				return 1
			}
		}
	}
	return -1
}

// drugAmountUnits are the analysed units of an amount of drug.
var drugAmountUnits = map[string]bool{"mg": true, "unt": true, "meq": true, "mmol": true}

// drugNameAbbreviations are the drug-name abbreviations of US formularies
// and order sets, spelled out as RxNorm names the ingredients. Their
// meanings are those the ISMP List of Error-Prone Abbreviations, Symbols,
// and Dose Designations gives (a list of abbreviations to avoid, which is
// why labels still carry them); ambiguous ones ("MS", "MSO4", "HCT",
// "INH", "LR") are left out.
var drugNameAbbreviations = map[string]string{
	"apap": "acetaminophen", "asa": "aspirin", "hctz": "hydrochlorothiazide", "kcl": "potassium chloride",
	"ns": "sodium chloride 0.9%", "d5w": "glucose 5%", "d10w": "glucose 10%", "d50w": "glucose 50%",
	"mgso4": "magnesium sulfate", "nahco3": "sodium bicarbonate", "ntg": "nitroglycerin", "mvi": "multivitamin",
	"mtx": "methotrexate", "ptu": "propylthiouracil", "pcn": "penicillin", "tmp": "trimethoprim",
	"smx": "sulfamethoxazole", "5fu": "fluorouracil", "6mp": "mercaptopurine", "azt": "zidovudine",
	"tpa": "alteplase", "epo": "epoetin", "vit": "vitamin", "mag": "magnesium", "kphos": "potassium phosphate",
}

// drugNameAbbreviationRe finds them as whole words ("5-FU" and "6-MP"
// with or without the hyphen).
var drugNameAbbreviationRe = regexp.MustCompile(`(?i)\b(apap|asa|hctz|kcl|ns|d5w|d10w|d50w|mgso4|nahco3|ntg|mvi|mtx|ptu|pcn|tmp|smx|5-?fu|6-?mp|azt|tpa|epo|vit|mag|kphos)\b`)

// spellDrugAbbreviations rewrites a drug term's abbreviated ingredients.
func spellDrugAbbreviations(text string) string {
	return drugNameAbbreviationRe.ReplaceAllStringFunc(text, func(m string) string {
		return drugNameAbbreviations[strings.ReplaceAll(strings.ToLower(m), "-", "")]
	})
}

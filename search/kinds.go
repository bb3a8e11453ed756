package search

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// TermKind is what a source term names: a drug, a lab test, a unit, ...
type TermKind string

// Kinds the classifier tells apart. TermUnknown is the honest answer for
// most diagnoses and procedures written without cues; it adds no prior.
const (
	TermUnknown   TermKind = ""
	TermUnit      TermKind = "unit"
	TermLab       TermKind = "lab"
	TermDrug      TermKind = "drug"
	TermProcedure TermKind = "procedure"
	TermDiagnosis TermKind = "diagnosis"
)

// diagnosisWords and diagnosisSuffixes mark a disorder or finding: the
// nouns problem lists are built from and the Greek and Latin endings of
// disease names (-itis inflammation, -oma tumour, -osis condition, -emia
// blood state, -pathy disease, -plasia growth, -algia pain).
var diagnosisWords = map[string]bool{
	"disease": true, "disorder": true, "syndrome": true, "infection": true, "fracture": true, "injury": true,
	"deficiency": true, "failure": true, "cancer": true, "carcinoma": true, "tumor": true, "tumour": true,
	"neoplasm": true, "ulcer": true, "hernia": true, "pain": true, "poisoning": true, "abscess": true,
	"insufficiency": true, "stenosis": true, "malformation": true, "anomaly": true, "hypertension": true,
	"diabetes": true, "dysfunction": true, "lesion": true, "sprain": true, "dislocation": true, "palsy": true,
	"atresia": true, "dysplasia": true, "cyst": true, "fever": true, "allergy": true, "anemia": true, "anaemia": true,
	"leukemia": true, "leukaemia": true, "lymphoma": true, "sarcoma": true, "melanoma": true, "obstruction": true,
	"degeneration": true, "dystrophy": true, "agenesis": true, "hemorrhage": true, "haemorrhage": true,
	"thrombosis": true, "embolism": true, "infarction": true, "aneurysm": true, "paralysis": true, "complication": true,
	"history": true, "congenital": true, "chronic": true, "acute": true, "benign": true, "malignant": true,
}

var diagnosisSuffixes = []string{"itis", "oma", "omas", "osis", "oses", "emia", "aemia", "pathy", "plasia", "algia", "megaly", "uria", "ectasia", "penia", "trophy", "iasis", "ism"}

// isDiagnosisText reports whether words name a disorder.
func isDiagnosisText(words []string) bool {
	for _, w := range words {
		lw := strings.ToLower(w)
		if diagnosisWords[lw] {
			return true
		}
		if len(lw) > 5 {
			for _, suf := range diagnosisSuffixes {
				if strings.HasSuffix(lw, suf) {
					return true
				}
			}
		}
	}
	return false
}

// contextKind is the kind a query's filter implies: a search restricted to
// a diagnosis classification or the Condition domain asks for a diagnosis.
func contextKind(f Filter) TermKind {
	if len(f.Domains) > 0 {
		k := TermUnknown
		for _, d := range f.Domains {
			var dk TermKind
			switch d {
			case "Condition", "Observation":
				dk = TermDiagnosis
			case "Drug":
				dk = TermDrug
			case "Measurement":
				dk = TermLab
			case "Procedure":
				dk = TermProcedure
			case "Unit":
				dk = TermUnit
			case "Route":
				dk = TermRoute
			case "Specimen":
				dk = TermSpecimen
			case "Spec Anatomic Site":
				dk = TermSite
			}
			if k != TermUnknown && dk != k {
				return TermUnknown
			}
			k = dk
		}
		return k
	}
	if len(f.Vocabularies) > 0 {
		k := TermUnknown
		for _, v := range f.Vocabularies {
			var vk TermKind
			switch v {
			case "ICD10CM", "ICD10", "ICD9CM", "ICD10GM", "ICD10CN", "KCD7", "CIM10":
				vk = TermDiagnosis
			case "RxNorm", "RxNorm Extension", "ATC", "NDC", "dm+d":
				vk = TermDrug
			case "LOINC":
				vk = TermLab
			case "UCUM":
				vk = TermUnit
			case "ICD10PCS", "ICD9Proc", "CPT4", "HCPCS", "OPCS4":
				vk = TermProcedure
			}
			if k != TermUnknown && vk != k {
				return TermUnknown
			}
			k = vk
		}
		return k
	}
	return TermUnknown
}

// resolveKind combines the kind read from the text with the one the filter
// implies. conflict is true when both are known and differ (a lab test name
// searched among drugs): such a mapping is never accepted automatically.
func resolveKind(text, context TermKind) (k TermKind, conflict bool) {
	switch {
	case text == TermUnknown:
		return context, false
	case context == TermUnknown || context == text:
		return text, false
	case text == TermLab && context == TermDiagnosis || text == TermDiagnosis && context == TermLab:
		return context, false // "Observation" holds both findings and measurements
	}
	return text, true
}

// labSpecimens are the specimen (LOINC "system") abbreviations of local lab
// names — the LOINC short-name conventions (Ser, SerPl, Bld, BldA, Ur, CSF;
// LOINC Users' Guide, Regenstrief, free licence) — with the words LOINC's
// long names use for them.
var labSpecimens = map[string]string{
	"ser": "serum or plasma", "serpl": "serum or plasma", "plas": "serum or plasma", "plasma": "serum or plasma",
	"serum": "serum or plasma", "sera": "serum or plasma",
	"bld": "blood", "wb": "blood", "blood": "blood",
	"blda": "arterial blood", "art": "arterial blood", "arterial": "arterial blood",
	"bldv": "venous blood", "ven": "venous blood", "venous": "venous blood",
	"bldc": "capillary blood", "cap bld": "capillary blood", "capillary": "capillary blood",
	"bldmv": "mixed venous blood",
	"ur":    "urine", "urine": "urine", "urn": "urine",
	"csf": "cerebral spinal fluid", "pleural": "pleural fluid", "periton": "peritoneal fluid",
	"synv": "synovial fluid", "amn": "amniotic fluid", "stool": "stool", "feces": "stool",
}

// labNoise are the words of local lab names that say how or where a test was
// done, not what it is (LOINC short-name scale "Qn", point of care, the
// i-STAT analyser); they are dropped before searching.
var labNoise = map[string]bool{"qn": true, "poc": true, "istat": true}

// labMethods are words only lab test names use: susceptibility testing
// (minimum inhibitory concentration, disk diffusion) and the scale "Titr".
var labMethods = map[string]bool{"mic": true, "susc": true, "suscept": true, "susceptibility": true, "titr": true}

// labCue reports whether a word marks a lab test name.
func labCue(w string) bool {
	_, ok := labSpecimens[w]
	return ok && w != "blood" && w != "arterial" && w != "venous" && w != "capillary" || labNoise[w] || labMethods[w]
}

var (
	// A strength: a number and a unit of amount or concentration.
	// The number stands alone ("CD4 %" names a lymphocyte share, not a
	// strength); "%" is not a word character, so it takes no \b.
	strengthRe = regexp.MustCompile(`(?i)(^|[^a-z0-9.,])\d*[.,]?\d+\s*(%|(mg|mcg|µg|ug|g|gm|ml|l|iu|units?|meq|mmol|mg/ml|mcg/ml|mg/hr)\b)`)
	// Dose forms and routes as formularies write them.
	doseFormRe = regexp.MustCompile(`(?i)\b(tab|tabs|tablets?|caps?|capsules?|inj|injection|injectable|soln|solution|susp|suspension|syrup|cream|ointment|oint|gel|patch|inhaler|spray|drops|suppository|supp|oral|po|iv|im|sc|subcut|intravenous|intramuscular|subcutaneous|ophthalmic|opht|otic|topical|transdermal|nasal|rectal|vaginal|sublingual|er|xl|sr|xr|elixir|lozenge|powder)\b`)
	wordRe     = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*`)
	parenRe    = regexp.MustCompile(`\(([^()]*)\)'?`)
)

// drugFormWords are the words of a drug label that are not its ingredients:
// units, dose forms, routes, release and packaging (EDQM standard terms as
// formularies write them, with their abbreviations). What remains of a
// drug term names the ingredients.
var drugFormWords = []string{
	"mg", "mcg", "ug", "g", "gm", "ml", "l", "unit", "units", "iu", "meq", "mmol", "mol", "hr", "hour", "dose", "doses", "actuation",
	"actuat", "per", "na", "tab", "tabs", "tablet", "tablets", "cap", "caps", "capsule", "capsules", "inj", "injection",
	"injectable", "infusion", "soln", "sol", "solution", "susp", "suspension", "syrup", "elixir", "emulsion", "cream",
	"ointment", "oint", "gel", "lotion", "foam", "shampoo", "paste", "powder", "granules", "sachet", "lozenge", "pastille",
	"patch", "plaster", "spray", "drops", "drop", "inhaler", "inhalation", "inhalant", "nebuliser", "nebulizer", "aerosol",
	"suppository", "supp", "pessary", "implant", "pen", "injector", "cartridge", "syringe", "prefilled", "pre", "filled",
	"vial", "ampoule", "ampule", "bag", "oral", "po", "iv", "im", "sc", "subcut", "intravenous", "intramuscular",
	"subcutaneous", "cutaneous", "topical", "transdermal", "ophthalmic", "opht", "ocular", "eye", "otic", "auricular",
	"ear", "nasal", "rectal", "vaginal", "sublingual", "buccal", "oromucosal", "intrathecal", "epidural", "intravesical",
	"route", "use", "film", "coated", "gastro", "resistant", "enteric", "prolonged", "modified", "extended", "delayed",
	"release", "er", "xl", "sr", "xr", "cr", "la", "chewable", "effervescent", "soluble", "dispersible", "orodispersible",
	"concentrate", "for", "pressurised", "pressurized", "metered", "mouthwash", "gargle", "liquid", "kit",
	// RxNorm's own dose-form words ("Disintegrating Oral Tablet",
	// "Transdermal System", "Dry Powder Inhaler").
	"disintegrating", "prefilled", "system", "enema", "dry", "lacquer", "medicated", "chewing", "gum", "ring",
	"insert", "wafer", "strip", "sublingual", "lyophilisate",
}

// labQuery is what a lab test name says beyond its analyte.
type labQuery struct {
	specimen string // LOINC system words ("serum or plasma"), "" when unsaid
	fraction bool   // "%": a share of a whole (LOINC "Neutrophils/Leukocytes")
	count    bool   // "#": a number of things (LOINC "[#/volume]")
	quant    bool   // "Qn": a quantity, not a presence or an identifier
	property string // the LOINC property a result unit implies ("[Moles/"), "" when none
	usual    string // the system a row's category implies when the name gives none ("serum or plasma" for chemistry)
	titer    bool   // "Titr": a titer
	text     string // the name with specimen abbreviations spelled out and noise dropped
}

// Classify returns what a source term names, from its text alone: a unit
// string, a lab test, a drug, a procedure, a diagnosis, or TermUnknown. It
// is the classifier Search uses before the filter's context is added.
func (e *Engine) Classify(text string) TermKind {
	if m, _ := e.units.match(e.corpus, text, nil); len(m) > 0 {
		return TermUnit
	}
	k, _ := e.classify(text)
	return k
}

// classify returns the kind of a source term from its text alone, and for
// lab tests the name rewritten with LOINC's words.
func (e *Engine) classify(text string) (TermKind, labQuery) {
	if k, rw := e.entities.read(text); k != TermUnknown {
		return k, labQuery{text: rw}
	}
	lq := labQuery{text: text}
	words := wordRe.FindAllString(text, -1)
	lab := false
	for _, w := range words {
		if labCue(strings.ToLower(w)) {
			lab = true
		}
	}
	// "Neutrophils %", "WBC #": a share or a count without any strength is
	// a lab result, not a drug.
	if !lab && strings.ContainsAny(text, "%#") && !strings.ContainsAny(text, "0123456789") && len(words) > 0 {
		lab = true
	}
	if lab {
		lq = rewriteLab(text)
		return TermLab, lq
	}
	if strengthRe.MatchString(text) || doseFormRe.MatchString(text) && len(words) > 1 {
		return TermDrug, lq
	}
	terms := e.an.Terms(text)
	for _, t := range terms {
		if e.operations[t] {
			return TermProcedure, lq
		}
	}
	// A brand name with nothing but strengths and dose forms beside it
	// ("Xalatan", "Lipitor 20"): brands are also ordinary words, so one
	// inside a longer phrase does not make it a drug.
	if found, brandTerms, _ := e.brands.lookup(e.an, terms); found {
		for _, t := range terms {
			found = found && (brandTerms[t] || isNumber(t) || e.drugFormTerms[t])
		}
		if found {
			return TermDrug, lq
		}
	}
	if isDiagnosisText(words) {
		return TermDiagnosis, lq
	}
	return TermUnknown, lq
}

// rewriteLab spells out specimen abbreviations as LOINC names systems and
// drops the words that name the analyser, the scale or the lab
// ("Potass(ER-IS)" loses its department code).
func rewriteLab(text string) labQuery {
	var lq labQuery
	// A parenthesised code of capitals ("(CSH)", "(ER-IS)") names the lab
	// that ran the test.
	text = parenRe.ReplaceAllStringFunc(text, func(m string) string {
		inner := strings.Trim(m, "()'")
		if inner != "" && strings.ToUpper(inner) == inner && len(inner) <= 8 {
			return " "
		}
		return " " + inner + " "
	})
	var out []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\t' || r == '\'' || r == '-' }) {
		if strings.Trim(w, "%#") != w {
			lq.fraction = lq.fraction || strings.Contains(w, "%")
			lq.count = lq.count || strings.Contains(w, "#")
			if w = strings.Trim(w, "%#"); w == "" {
				continue
			}
		}
		lw := strings.ToLower(w)
		if sp, ok := labSpecimens[lw]; ok {
			if lq.specimen == "" {
				lq.specimen = sp
			}
			out = append(out, sp)
			continue
		}
		if labNoise[lw] {
			lq.quant = lq.quant || lw == "qn"
			continue
		}
		if lw == "titr" || lw == "titer" || lw == "titre" {
			lq.titer = true
		}
		out = append(out, w)
	}
	lq.text = strings.Join(out, " ")
	return lq
}

// loincSystem returns the system of a LOINC long name ("Sodium
// [Moles/volume] in Serum or Plasma" → "serum or plasma"), lower case, ""
// when the name has none.
func loincSystem(name string) string {
	i := strings.LastIndex(name, " in ")
	if i < 0 {
		return ""
	}
	s := name[i+4:]
	for _, stop := range []string{" by ", " --", " from ", " adjusted", " calculated", " Estimated"} {
		if j := strings.Index(s, stop); j >= 0 {
			s = s[:j]
		}
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// loincComponent returns what a LOINC long name measures, the text before
// its property ("Potassium [Moles/volume] in Serum or Plasma" →
// "Potassium") or, without one, before its system ("INR in Blood by
// Coagulation assay" → "INR"); "" when the name has neither.
func loincComponent(name string) string {
	if i := strings.Index(name, " ["); i > 0 {
		return name[:i]
	}
	if i := strings.Index(name, " in "); i > 0 {
		return name[:i]
	}
	return ""
}

// analyteIndex holds what the vocabulary's lab tests measure, analysed,
// so that a bare analyte name ("Potassium", "Troponin I") reads as a lab
// test. Hospital lab lists write analytes without specimen or method; a
// drug list writes its ingredients with a strength or a form.
type analyteIndex struct {
	components map[string]bool // terms joined by spaces
	prefixes   map[string]bool // every leading run of a component's terms
}

func newAnalyteIndex(c *Corpus, an *Analyzer) *analyteIndex {
	ix := &analyteIndex{components: map[string]bool{}, prefixes: map[string]bool{}}
	for i := range c.Concepts {
		con := &c.Concepts[i]
		if con.Vocabulary != "LOINC" || con.Domain != "Measurement" {
			continue
		}
		comp := loincComponent(con.Name)
		if comp == "" {
			continue
		}
		terms := an.Terms(comp)
		ix.components[strings.Join(terms, " ")] = true
		for n := 1; n < len(terms); n++ {
			ix.prefixes[strings.Join(terms[:n], " ")] = true
		}
	}
	return ix
}

// names reports whether terms are a lab test's analyte, or the start of
// one ("troponin i" of "Troponin I.cardiac"). A one-word abbreviation
// counts by what it stands for ("TSH", "CRP", "eGFR"), returned as
// spelled: the words to search, all of them, where the abbreviation's
// expansion alone lets any one of them match ("rate" is not "eGFR").
func (ix *analyteIndex) names(an *Analyzer, terms []string) (ok bool, spelled string) {
	if len(terms) == 0 {
		return false, ""
	}
	k := strings.Join(terms, " ")
	if ix.components[k] || ix.prefixes[k] && len(terms) > 1 {
		return true, ""
	}
	if exp, found := clinicalAbbreviations[k]; found && len(terms) == 1 {
		spelled = strings.Join(exp, " ")
		k = strings.Join(an.Terms(spelled), " ")
		if ix.components[k] || ix.prefixes[k] {
			return true, spelled
		}
	}
	return false, ""
}

// usualSpecimens are the systems a lab test is most often run on, used when
// a name does not say: serum or plasma for chemistry, blood for hematology
// and blood gases.
var usualSpecimens = map[string]bool{"serum or plasma": true, "blood": true, "serum": true, "plasma": true}

// labEvidence scores how a LOINC candidate's system and property agree with
// the query: +1 same specimen, -1 another one; without a specimen in the
// query, the one its category implies (chemistry: serum or plasma) +0.5,
// the usual ones 0 and others -0.5. A ratio of two analytes
// ("X in fluid/X in serum") the query does not ask for is -1.
func labEvidence(lq labQuery, c *Concept) float64 {
	if c.Vocabulary != "LOINC" {
		return 0
	}
	s := 0.0
	sys := loincSystem(c.Name)
	switch {
	case sys == "":
	case lq.specimen != "" && sameSpecimen(lq.specimen, sys):
		s += 1
	case lq.specimen != "":
		s -= 1
	case lq.usual != "" && sameSpecimen(lq.usual, sys):
		s += 0.5 // the system the row's category runs its tests on
	case !usualSpecimens[sys]:
		s -= 0.5
	}
	if lq.property != "" && strings.Contains(c.Name, "[") {
		if strings.Contains(c.Name, lq.property) {
			s += 0.5
		} else {
			s -= 0.5
		}
	}
	switch {
	case lq.titer && strings.Contains(c.Name, "[Titer]"):
		s += 0.5
	case lq.quant && (strings.Contains(c.Name, "[Presence]") || strings.Contains(c.Name, "[Identifier]") || strings.Contains(c.Name, "[Interpretation]")):
		s -= 0.5
	}
	comp := c.Name
	if j := strings.Index(comp, "["); j >= 0 {
		comp = comp[:j]
	}
	ratio := strings.Contains(comp, "/")
	switch {
	case lq.fraction && ratio:
		s += 1
	case lq.fraction && strings.Contains(c.Name, "[#/"):
		s -= 1
	case lq.count && strings.Contains(c.Name, "[#/"):
		s += 1
	case ratio && !strings.Contains(lq.text, "/") && !strings.Contains(strings.ToLower(lq.text), "ratio"):
		s -= 1
	}
	return s
}

// sameSpecimen reports whether a LOINC system covers the specimen a name
// asks for: "Ser" fits "Serum" and "Serum or Plasma", "Bld" fits "Blood"
// but not "Arterial blood".
func sameSpecimen(want, sys string) bool {
	if want == sys {
		return true
	}
	if want == "serum or plasma" {
		return sys == "serum" || sys == "plasma" || strings.HasPrefix(sys, "serum, plasma") || strings.HasPrefix(sys, "serum or plasma")
	}
	return false
}

// kindPrior is +1 when a candidate is of the kind the query is, -1 when it
// plainly is not (a drug for a lab test name, a unit for a drug).
func kindPrior(k TermKind, c *Concept) float64 {
	if p, ok := entityPrior(k, c); ok {
		return p
	}
	switch k {
	case TermLab:
		switch {
		case c.Domain == "Measurement" && c.Vocabulary == "LOINC":
			return 1
		case c.Domain == "Drug" || c.Vocabulary == "UCUM":
			return -1
		}
	case TermDrug:
		switch {
		case c.Domain == "Drug":
			return 1
		case c.Vocabulary == "UCUM" || c.Domain == "Measurement":
			return -1
		}
	case TermUnit:
		if c.Vocabulary == "UCUM" {
			return 1
		}
		return -1
	case TermDiagnosis:
		switch {
		case c.Domain == "Condition":
			return 1
		case c.Domain == "Drug" || c.Vocabulary == "UCUM":
			return -1
		}
	}
	// Procedures: the Intent weight already penalises non-procedures for a
	// query naming an operation.
	return 0
}

// drugPair is one ingredient of a drug with its strength, analysed: the
// ingredient's first term, the strength as the analyzer writes it (in
// milligrams when a mass).
type drugPair struct{ ingredient, strength string }

var (
	ingredientSplit = regexp.MustCompile(`(?i)\s+and\s+|\s*[,/+]\s*|\s+with\s+`)
	strengthSplit   = regexp.MustCompile(`[+/]`)
)

// queryDrugPairs pairs a multi-ingredient drug term's ingredients with its
// strengths in the order written ("perindopril and amlodipine; 5mg+10mg",
// "amlodipine/perindopril 10/5 mg"). nil unless there are two or more
// ingredients and as many strengths.
func (e *Engine) queryDrugPairs(text string) []drugPair {
	cut := strings.IndexAny(text, "0123456789;")
	if cut <= 0 {
		return nil
	}
	var ings []string
	for _, part := range ingredientSplit.Split(text[:cut], -1) {
		if ts := e.an.Terms(part); len(ts) > 0 && !e.drugFormTerms[ts[0]] {
			ings = append(ings, ts[0])
		}
	}
	if len(ings) < 2 {
		return nil
	}
	var nums []string
	for _, part := range strengthSplit.Split(text[cut:], -1) {
		for _, tok := range e.an.Analyze(part + " mg") { // a bare number takes the unit written last
			if tok.Numeric {
				nums = append(nums, tok.Term)
				break
			}
		}
	}
	if len(nums) != len(ings) {
		return nil
	}
	out := make([]drugPair, len(ings))
	for i := range ings {
		out[i] = drugPair{ings[i], nums[i]}
	}
	return out
}

// drugPairsAgree compares a candidate's name ("Amlodipine 10 MG /
// Perindopril 5 MG Oral Tablet") with the query's pairs: +1 when every
// ingredient has its strength, -1 when an ingredient has another strength,
// 0 when the name says nothing about them.
func (e *Engine) drugPairsAgree(q []drugPair, name string) float64 {
	parts := strings.Split(name, " / ")
	if len(parts) < 2 {
		return 0
	}
	strength := map[string]string{}
	for _, p := range parts {
		toks := e.an.Analyze(p)
		if len(toks) == 0 || toks[0].Numeric {
			continue
		}
		for _, t := range toks[1:] {
			if t.Numeric {
				strength[toks[0].Term] = t.Term
				break
			}
		}
	}
	agree := 0
	for _, p := range q {
		s, ok := strength[p.ingredient]
		switch {
		case !ok:
		case closeStrength(s, p.strength):
			agree++
		default:
			return -1
		}
	}
	if agree == len(q) {
		return 1
	}
	return 0
}

// closeStrength reports whether two analysed strengths are the same within
// rounding: labels round (25.7 mg written for RxNorm's 26 mg, 12 for 12.5).
func closeStrength(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || x <= 0 || y <= 0 {
		return false
	}
	return math.Abs(x-y) <= 0.1*math.Max(x, y)
}

// categoryWords map the words of local categories to kinds.
var categoryWords = map[string]TermKind{
	"lab": TermLab, "labs": TermLab, "laboratory": TermLab, "chemistry": TermLab, "hematology": TermLab,
	"haematology": TermLab, "microbiology": TermLab, "serology": TermLab, "immunology": TermLab, "urinalysis": TermLab,
	"coagulation": TermLab, "measurement": TermLab, "test": TermLab, "tests": TermLab,
	"drug": TermDrug, "drugs": TermDrug, "medication": TermDrug, "medications": TermDrug, "medicine": TermDrug,
	"pharmacy": TermDrug, "formulary": TermDrug, "prescription": TermDrug,
	"diagnosis": TermDiagnosis, "diagnoses": TermDiagnosis, "problem": TermDiagnosis, "problems": TermDiagnosis,
	"condition": TermDiagnosis, "conditions": TermDiagnosis, "disease": TermDiagnosis,
	"procedure": TermProcedure, "procedures": TermProcedure, "operation": TermProcedure, "surgery": TermProcedure,
	"unit": TermUnit, "units": TermUnit,
	"route": TermRoute, "routes": TermRoute, "frequency": TermFrequency, "frequencies": TermFrequency,
	"organism": TermOrganism, "organisms": TermOrganism, "microorganism": TermOrganism, "specimen": TermSpecimen,
	"specimens": TermSpecimen, "sample": TermSpecimen, "site": TermSite, "sites": TermSite, "anatomy": TermSite,
}

// categorySpecimens are the systems a lab category runs its tests on
// when a name does not say: chemistry on serum or plasma, hematology on
// blood, urinalysis on urine.
var categorySpecimens = map[string]string{
	"chemistry": "serum or plasma", "biochemistry": "serum or plasma", "immunology": "serum or plasma",
	"serology": "serum or plasma", "endocrinology": "serum or plasma",
	"hematology": "blood", "haematology": "blood",
	"urinalysis": "urine", "urine": "urine",
}

// categoryKind is the kind a row's context implies: its category, or a
// lab test when it names a specimen.
func categoryKind(c Context) TermKind {
	for _, w := range wordRe.FindAllString(c.Category, -1) {
		if k, ok := categoryWords[strings.ToLower(w)]; ok {
			return k
		}
	}
	if c.Specimen != "" {
		return TermLab
	}
	return TermUnknown
}

// withContext adds a row's specimen and result unit to a lab name read
// from its text: the specimen column stands in for a missing abbreviation,
// and a unit of amount of substance asks for moles, one of mass for mass.
func (lq labQuery) withContext(text string, c Context) labQuery {
	if lq.text == text && lq.specimen == "" && lq.property == "" {
		lq = rewriteLab(text) // read as a lab name only from the context
	}
	if lq.specimen == "" && c.Specimen == "" {
		for _, w := range wordRe.FindAllString(c.Category, -1) {
			if sp, ok := categorySpecimens[strings.ToLower(w)]; ok {
				lq.usual = sp
				break
			}
		}
	}
	if lq.specimen == "" && c.Specimen != "" {
		for _, w := range wordRe.FindAllString(c.Specimen, -1) {
			if sp, ok := labSpecimens[strings.ToLower(w)]; ok {
				lq.specimen = sp
				break
			}
		}
	}
	if c.Unit != "" {
		u := strings.ToLower(c.Unit)
		switch {
		case strings.Contains(u, "mol") || strings.Contains(u, "eq/"):
			lq.property = "[Moles/"
		case strings.Contains(u, "g/") || strings.Contains(u, "g/d") || strings.HasPrefix(u, "mg") || strings.HasPrefix(u, "ug") || strings.HasPrefix(u, "ng"):
			lq.property = "[Mass/"
		case strings.Contains(u, "u/") || strings.Contains(u, "iu"):
			lq.property = "[Enzymatic activity/"
		case strings.Contains(u, "%"):
			lq.fraction = true
		}
	}
	return lq
}

// splitParts splits a cell whose fields were joined with "|": a part that
// is a specimen fills ctx.Specimen, a unit ctx.Unit, a category
// ctx.Category (each only when empty); the other parts, in order, are the
// term.
func (e *Engine) splitParts(text string, ctx Context) (string, Context) {
	var rest []string
	for _, part := range strings.Split(text, "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		// A unit after the name, not a unit string on its own.
		if !e.asContext(part, &ctx, len(rest) > 0) {
			rest = append(rest, part)
		}
	}
	return strings.Join(rest, " "), ctx
}

// asContext puts part into ctx when it names a specimen, a one-word
// category or, when afterName, a unit — each only while ctx has none — and
// reports whether it did: the roles splitParts and splitCell give the
// parts of a cell besides its terms.
func (e *Engine) asContext(part string, ctx *Context, afterName bool) bool {
	_, isSpecimen := labSpecimens[strings.ToLower(part)]
	switch {
	case isSpecimen && ctx.Specimen == "":
		ctx.Specimen = part
	case categoryKind(Context{Category: part}) != TermUnknown && len(wordRe.FindAllString(part, -1)) == 1 && ctx.Category == "":
		ctx.Category = part
	case afterName && ctx.Unit == "" && e.isUnit(part):
		ctx.Unit = part
	default:
		return false
	}
	return true
}

// isUnit reports whether text parses as a unit some UCUM concept has.
func (e *Engine) isUnit(text string) bool {
	m, _ := e.units.match(e.corpus, text, nil)
	return len(m) > 0
}

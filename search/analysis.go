package search

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// Analyzer turns clinical text into index terms. It is the one place that
// decides when two spellings are the same word, so index and query always
// agree:
//
//   - lowercase and accent folding ("Sjögren" = "sjogren");
//   - punctuation splits words; letters and digits split too, so "500mg" =
//     "500 mg" and "E11.9" yields "e", "11.9";
//   - numbers are canonical ("0.50" = ".5" = "0,5" = "0.5"; "500.0" = "500");
//   - units have one spelling ("milligram", "mgs" → "mg"; "µg", "ug" →
//     "mcg"; "%" is a term of its own);
//   - British spellings fold to American ("haemorrhage" = "hemorrhage",
//     "tumour" = "tumor", "oesophagus" = "esophagus");
//   - English (Snowball) stemming, so "metabolism" and "metabolic" meet;
//   - a short list of stop words is dropped.
//
// An Analyzer is safe for concurrent use.
type Analyzer struct {
	stemCache sync.Map // word → stem; stemming dominates analysis time
}

// Token is one analysed term.
type Token struct {
	Term    string // normalised, stemmed form used for matching
	Numeric bool   // the term is a number
}

var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "in": true, "on": true, "at": true,
	"by": true, "for": true, "to": true, "and": true, "or": true, "as": true, "from": true,
}

var unitAliases = map[string]string{
	"milligram": "mg", "milligrams": "mg", "mgs": "mg",
	"gram": "g", "grams": "g", "gm": "g", "gr": "g",
	"microgram": "mcg", "micrograms": "mcg", "ug": "mcg", "µg": "mcg", "μg": "mcg",
	"nanogram": "ng", "nanograms": "ng",
	"milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "millilitres": "ml", "mls": "ml",
	"liter": "l", "litre": "l", "liters": "l", "litres": "l",
	"unit": "unt", "units": "unt", "iu": "unt", "u": "unt",
	"milliequivalent": "meq", "milliequivalents": "meq",
	"percent": "%", "pct": "%",
	"hr": "hour", "hrs": "hour", "hours": "hour", "h": "hour",
}

// Analyze returns the terms of text in order.
func (a *Analyzer) Analyze(text string) []Token {
	out := make([]Token, 0, 8)
	a.each(text, func(t Token) { out = append(out, t) })
	return out
}

// Terms returns just the term strings of text.
func (a *Analyzer) Terms(text string) []string {
	out := make([]string, 0, 8)
	a.each(text, func(t Token) { out = append(out, t.Term) })
	return out
}

func (a *Analyzer) each(text string, out func(Token)) {
	// Strengths are written in milligrams, as RxNorm does: "500 mcg" and
	// "0.5 mg" are one strength, and so are "1 g" and "1000 mg". A number
	// waits until the next token says whether it carries such a unit.
	var pending *Token
	emit := func(t Token) {
		if pending != nil {
			if f, ok := massToMG[t.Term]; ok {
				if mg, ok := scaleNumber(pending.Term, f); ok {
					out(Token{Term: mg, Numeric: true})
					out(Token{Term: "mg"})
					pending = nil
					return
				}
			}
			out(*pending)
			pending = nil
		}
		if t.Numeric {
			pending = &t
			return
		}
		out(t)
	}
	defer func() {
		if pending != nil {
			out(*pending)
		}
	}()
	text = fold(text)
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '%':
			emit(Token{Term: "%"})
			i += size
		case isDigit(r) || (r == '.' || r == ',') && i+1 < len(text) && isDigit(rune(text[i+1])) && (i == 0 || !isDigit(rune(text[i-1]))):
			j := scanNumber(text, i)
			emit(Token{Term: canonicalNumber(text[i:j]), Numeric: true})
			i = j
		case unicode.IsLetter(r):
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(r2) {
					break
				}
				j += s2
			}
			word := text[i:j]
			i = j
			if stopWords[word] {
				continue
			}
			if u, ok := unitAliases[word]; ok {
				emit(Token{Term: u})
				continue
			}
			if usan, ok := innToUSAN[word]; ok {
				word = usan
			}
			if root, op, ok := splitProcedureSuffix(word); ok {
				emit(Token{Term: a.stem(root)})
				emit(Token{Term: op})
				continue
			}
			emit(Token{Term: a.stem(word)})
		default:
			i += size
		}
	}
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// scanNumber returns the end of the number starting at i: digits with at
// most one decimal separator ('.' or ',') followed by a digit.
func scanNumber(s string, i int) int {
	j := i
	sep := false
	for j < len(s) {
		c := s[j]
		if c >= '0' && c <= '9' {
			j++
			continue
		}
		if (c == '.' || c == ',') && !sep && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' {
			sep = true
			j++
			continue
		}
		break
	}
	return j
}

// massToMG converts mass units to milligrams.
var massToMG = map[string]float64{"mcg": 0.001, "g": 1000, "ng": 0.000001}

// scaleNumber multiplies a canonical number by f and writes it canonically.
// ok is false when the product is not a finite number that rounds to
// non-zero (a 300-digit number of grams overflows, "0.0000000000001 mcg"
// rounds to 0): the number is then kept with the unit as written.
func scaleNumber(n string, f float64) (string, bool) {
	v, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return n, false
	}
	mg := math.Round(v*f*1e9) / 1e9
	if math.IsInf(mg, 0) || math.IsNaN(mg) || mg == 0 && v != 0 {
		return n, false
	}
	return strconv.FormatFloat(mg, 'f', -1, 64), true
}

// canonicalNumber writes a number one way: "0,50" and ".5" become "0.5",
// "500.0" becomes "500", leading zeros go.
func canonicalNumber(s string) string {
	s = strings.Replace(s, ",", ".", 1)
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// fold lowercases, strips accents and maps British to American spelling.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		var b strings.Builder
		for _, r := range norm.NFKD.String(s) {
			if unicode.Is(unicode.Mn, r) {
				continue
			}
			switch r {
			case 'µ', 'μ':
				b.WriteString("u")
				continue
			case 'ß':
				b.WriteString("ss")
				continue
			case 'æ', 'Æ':
				b.WriteString("e")
				continue
			case 'œ', 'Œ':
				b.WriteString("e")
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	return strings.ToLower(s)
}

func (a *Analyzer) stem(word string) string {
	if v, ok := a.stemCache.Load(word); ok {
		return v.(string)
	}
	s := americanize(word)
	if len(s) > 3 {
		s = english.Stem(s, false)
	}
	a.stemCache.Store(word, s)
	return s
}

// americanize applies the regular British→American spelling differences
// that matter in clinical text.
func americanize(w string) string {
	if len(w) < 5 {
		return w
	}
	// haem-, anaem-, oesophag-, oedema, paediatric, foetal, diarrhoea.
	if strings.Contains(w, "ae") || strings.Contains(w, "oe") {
		w = strings.NewReplacer("haem", "hem", "aem", "em", "paed", "ped", "oesoph", "esoph", "oedem", "edem", "foet", "fet", "rrhoea", "rrhea", "oestr", "estr").Replace(w)
	}
	switch {
	case strings.HasSuffix(w, "our") && len(w) > 5: // tumour, colour
		w = w[:len(w)-3] + "or"
	case strings.HasSuffix(w, "tre") && len(w) > 5: // litre, centre
		w = w[:len(w)-3] + "ter"
	case strings.HasSuffix(w, "isation"):
		w = w[:len(w)-7] + "ization"
	}
	return w
}

// innToUSAN maps International Nonproprietary Names (and British Approved
// Names) to the United States Adopted Names RxNorm uses, for the common
// drugs whose names differ by more than spelling: "paracetamol" is
// "acetaminophen" in RxNorm.
var innToUSAN = map[string]string{
	"paracetamol": "acetaminophen", "salbutamol": "albuterol", "adrenaline": "epinephrine",
	"noradrenaline": "norepinephrine", "aciclovir": "acyclovir", "valaciclovir": "valacyclovir",
	"ciclosporin": "cyclosporine", "cyclosporin": "cyclosporine", "frusemide": "furosemide",
	"lignocaine": "lidocaine", "glibenclamide": "glyburide", "pethidine": "meperidine",
	"beclometasone": "beclomethasone", "colecalciferol": "cholecalciferol",
	"thyroxine": "levothyroxine", "oestradiol": "estradiol",
	"bendrofluazide": "bendroflumethiazide", "amoxycillin": "amoxicillin",
	"cefalexin": "cephalexin", "cefalotin": "cephalothin",
	"rifampicin": "rifampin", "isoprenaline": "isoproterenol", "orciprenaline": "metaproterenol",
	"dimeticone": "dimethicone", "cromoglicate": "cromolyn",
	"hyoscine": "scopolamine", "chlorphenamine": "chlorpheniramine", "dosulepin": "dothiepin",
	"mesalazine": "mesalamine",
	"aluminium":  "aluminum", "sulphate": "sulfate", "sulphur": "sulfur",
	"benzylpenicillin": "penicillin", "phenoxymethylpenicillin": "penicillin", "flucloxacillin": "floxacillin",
	"clomifene": "clomiphene", "dexamfetamine": "dextroamphetamine",
	"amfetamine": "amphetamine", "metamizole": "dipyrone",
	"torasemide": "torsemide", "acetylsalicylic": "aspirin",
	"guaiphenesin": "guaifenesin",
	"moxisylyte":   "thymoxamine", "glyceryl": "nitroglycerin",
	"tetracosactide": "cosyntropin",
}

// DrugNameEquivalents returns a copy of the INN → USAN table, for tiers
// that must analyse drug names the same way (the Elasticsearch mapping).
func DrugNameEquivalents() map[string]string {
	out := make(map[string]string, len(innToUSAN))
	for k, v := range innToUSAN {
		out[k] = v
	}
	return out
}

// procedureSuffixes decompose one-word procedure names into the root and
// the operation, so "parathyroidectomy" meets "excision of parathyroid
// gland". Each maps to the stem of the operation's plain-English word.
var procedureSuffixes = []struct{ suffix, op string }{
	{"ectomies", "excis"}, {"ectomy", "excis"},
	{"otomies", "incis"}, {"otomy", "incis"},
	{"orrhaphy", "sutur"}, {"rrhaphy", "sutur"},
	{"oplasty", "repair"}, {"plasty", "repair"},
	{"opexy", "fixat"}, {"pexy", "fixat"},
	{"oscopy", "endoscop"}, {"scopy", "endoscop"},
	{"ocentesis", "punctur"}, {"centesis", "punctur"},
}

func splitProcedureSuffix(w string) (root, op string, ok bool) {
	for _, s := range procedureSuffixes {
		if strings.HasSuffix(w, s.suffix) && len(w)-len(s.suffix) >= 4 {
			return w[:len(w)-len(s.suffix)], s.op, true
		}
	}
	return "", "", false
}

// relatedWords lets a query word also match words with a related meaning
// at a discount: a drug package's route ("intravenous") against the dose
// forms RxNorm names ("injectable", "injection").
var relatedWords = map[string][]string{
	"intravenous":   {"injectable", "injection", "infusion"},
	"iv":            {"injectable", "injection", "intravenous"},
	"subcutaneous":  {"injectable", "injection", "injector"},
	"intramuscular": {"injectable", "injection"},
	"parenteral":    {"injectable", "injection"},
	"dermal":        {"topical"},
	"auricular":     {"otic"},
	"ocular":        {"ophthalmic", "eye"},
	"eye":           {"ophthalmic"},
	"transdermal":   {"patch"},
	"inhalation":    {"inhalant", "inhaler"},
	"sublingual":    {"sublingual"},
	"buccal":        {"buccal"},
	"peroral":       {"oral"},
	"enteral":       {"oral"},

	// Operations named differently in procedure classifications.
	"excision":            {"removal", "resection", "extirpation"},
	"removal":             {"excision", "extraction"},
	"resection":           {"excision"},
	"extirpation":         {"excision", "removal"},
	"ligature":            {"ligation"},
	"implantation":        {"insertion", "implant"},
	"insertion":           {"implantation"},
	"suture":              {"repair"},
	"evacuation":          {"drainage"},
	"destruction":         {"ablation"},
	"thermocauterisation": {"cauterization"},

	// Anatomical adjectives and the organs they name.
	"cerebral":   {"brain"},
	"brain":      {"cerebral", "intracranial"},
	"cranial":    {"skull"},
	"skull":      {"cranial", "cranium"},
	"renal":      {"kidney"},
	"kidney":     {"renal"},
	"hepatic":    {"liver"},
	"liver":      {"hepatic"},
	"pulmonary":  {"lung"},
	"lung":       {"pulmonary"},
	"cardiac":    {"heart"},
	"heart":      {"cardiac"},
	"gastric":    {"stomach"},
	"stomach":    {"gastric"},
	"vertebral":  {"spine", "spinal"},
	"spine":      {"spinal", "vertebral"},
	"spinal":     {"spine"},
	"dental":     {"tooth", "teeth"},
	"tooth":      {"dental"},
	"cutaneous":  {"skin", "topical"},
	"skin":       {"cutaneous"},
	"vesical":    {"bladder"},
	"uterine":    {"uterus"},
	"ovarian":    {"ovary"},
	"intestinal": {"intestine", "bowel"},
	"bowel":      {"intestine", "intestinal"},
	"mammary":    {"breast"},
	"breast":     {"mammary"},
	"nasal":      {"nose", "spray"},
	"nose":       {"nasal"},
	"oral":       {"mouth"},
	"aural":      {"ear"},
	"orbital":    {"orbit"},
	"orbita":     {"orbit"},
	"epidural":   {"extradural"},
	"extradural": {"epidural"},
	"disease":    {"disorder"},
	"disorder":   {"disease"},
}

// clinicalAbbreviations are the unambiguous abbreviations of local lab
// names, formularies and problem lists, with the words the standard
// vocabularies spell out ("Hb" → hemoglobin, "metformin 500 mg tab" →
// tablet). Ambiguous ones ("K": potassium or vitamin K, "Ca": calcium or
// carcinoma, "Na": sodium or "not available", "PT", "PE", "MS") are left
// out on purpose. They count like related words.
var clinicalAbbreviations = map[string][]string{
	// Laboratory.
	"hb": {"hemoglobin"}, "hgb": {"hemoglobin"}, "hba1c": {"hemoglobin", "a1c"},
	"hct": {"hematocrit"}, "wbc": {"leukocytes"}, "rbc": {"erythrocytes"},
	"plt": {"platelets"}, "cl": {"chloride"}, "creat": {"creatinine"},
	"bun": {"urea", "nitrogen"}, "alt": {"alanine", "aminotransferase"},
	"ast": {"aspartate", "aminotransferase"}, "alp": {"alkaline", "phosphatase"},
	"ggt": {"glutamyltransferase"}, "ldh": {"lactate", "dehydrogenase"},
	"tsh": {"thyrotropin"}, "crp": {"c", "reactive", "protein"},
	"esr": {"sedimentation", "rate"}, "aptt": {"thromboplastin", "time"},
	"bnp": {"natriuretic", "peptide"}, "psa": {"prostate", "specific", "antigen"},
	"tg": {"triglyceride"}, "trig": {"triglyceride"}, "chol": {"cholesterol"},
	"gluc": {"glucose"}, "alb": {"albumin"}, "bili": {"bilirubin"},
	"fbc": {"blood", "count"}, "cbc": {"blood", "count"}, "ua": {"urinalysis"},
	"egfr": {"glomerular", "filtration", "rate"},
	// Problem lists.
	"copd": {"chronic", "obstructive", "pulmonary"}, "chf": {"congestive", "heart", "failure"},
	"mi": {"myocardial", "infarction"}, "htn": {"hypertension"}, "dm": {"diabetes", "mellitus"},
	"ckd": {"chronic", "kidney"}, "uti": {"urinary", "tract", "infection"},
	"urti": {"upper", "respiratory", "infection"}, "gerd": {"gastroesophageal", "reflux"},
	"gord": {"gastroesophageal", "reflux"}, "dvt": {"deep", "venous", "thrombosis"},
	"cva": {"cerebrovascular", "accident"}, "tia": {"transient", "ischemic", "attack"},
	"osa": {"obstructive", "sleep", "apnea"}, "ihd": {"ischemic", "heart"},
	"cad": {"coronary", "artery"}, "bph": {"benign", "prostatic", "hyperplasia"},
	// Procedures and tests.
	"cabg": {"coronary", "artery", "bypass"}, "pci": {"percutaneous", "coronary", "intervention"},
	"ecg": {"electrocardiogram"}, "ekg": {"electrocardiogram"}, "mri": {"magnetic", "resonance"},
	"tkr": {"total", "knee", "replacement"}, "thr": {"total", "hip", "replacement"},
	// Vital signs and ventilator settings of ICU flowsheets, as LOINC
	// names them.
	"gcs": {"glasgow", "coma", "score"}, "peep": {"positive", "end", "expiratory", "pressure"},
	"temp": {"temperature"}, "rr": {"respiratory", "rate"}, "bp": {"blood", "pressure"},
	"sbp": {"systolic", "blood", "pressure"}, "dbp": {"diastolic", "blood", "pressure"},
	"cvp": {"central", "venous", "pressure"}, "bmi": {"body", "mass", "index"},
	// Formularies.
	"tab": {"tablet"}, "tabs": {"tablet"}, "cap": {"capsule"}, "caps": {"capsule"},
	"inj": {"injection", "injectable"}, "susp": {"suspension"}, "soln": {"solution"},
	"sol": {"solution"}, "supp": {"suppository"}, "oint": {"ointment"}, "crm": {"cream"},
	"syr": {"syrup"}, "inh": {"inhaler", "inhalant"}, "neb": {"nebulizer", "inhalation"},
	"po": {"oral"}, "im": {"intramuscular", "injection"}, "sc": {"subcutaneous", "injection"},
	"sq": {"subcutaneous"}, "pr": {"rectal"}, "sl": {"sublingual"}, "top": {"topical"},
	"ophth": {"ophthalmic"}, "er": {"extended", "release"}, "xr": {"extended", "release"},
	"sr": {"extended", "release"},
	// Dose frequencies: the Latin prescription abbreviations (bis, ter,
	// quater in die; pro re nata; quaque hora somni; nocte, mane). "od" and
	// "qd" are left out: "od" is also the right eye, and both are on
	// safety lists of error-prone abbreviations.
	"bid": {"twice", "day"}, "tid": {"three", "times", "day"}, "tds": {"three", "times", "day"},
	"qid": {"four", "times", "day"}, "qds": {"four", "times", "day"}, "prn": {"required", "needed"},
	"qhs": {"night", "bedtime"}, "nocte": {"night"}, "mane": {"morning"},
}

// gasAbbreviationRe finds the gas abbreviations of flowsheets and blood
// gas reports, whose digit the analyzer would read as a number ("SpO2" →
// "spo", "2").
var gasAbbreviationRe = regexp.MustCompile(`(?i)\b(spo2|sao2|fio2|etco2|pao2|paco2|pvo2|svo2|po2|pco2)\b`)

var gasSpelledOut = map[string]string{
	"spo2": "oxygen saturation by pulse oximetry", "sao2": "oxygen saturation in arterial blood",
	"fio2": "inhaled oxygen concentration", "etco2": "end tidal carbon dioxide",
	"pao2": "oxygen partial pressure in arterial blood", "paco2": "carbon dioxide partial pressure in arterial blood",
	"po2": "oxygen partial pressure", "pco2": "carbon dioxide partial pressure",
	"pvo2": "oxygen partial pressure in venous blood", "svo2": "oxygen saturation in mixed venous blood",
}

// spellGases replaces gas abbreviations in text by their words.
func spellGases(text string) string {
	if !strings.Contains(text, "2") {
		return text // every gas ends in O2; most terms have no 2 at all
	}
	return gasAbbreviationRe.ReplaceAllStringFunc(text, func(m string) string { return gasSpelledOut[strings.ToLower(m)] })
}

// operationWords are the actions that make a term a procedure ("excision
// of ...", "...ectomy"); a query naming one asks for a procedure, not the
// condition operated on.
var operationWords = []string{
	"excision", "removal", "repair", "insertion", "biopsy", "incision", "drainage",
	"implantation", "reconstruction", "replacement", "resection", "ligation", "ligature",
	"decompression", "amputation", "anastomosis", "transplantation", "fixation", "reduction",
	"dilatation", "dilation", "puncture", "suture", "revision", "exploration", "evacuation",
	"destruction", "extirpation", "operation", "surgery", "closure", "division", "transection",
	"catheterization", "catheterisation", "endoscopy", "enucleation", "extraction", "fusion",
	"osteotomy", "arthroplasty", "stapling", "cauterization", "cauterisation", "thrombolysis",
	"embolization", "embolisation", "ablation", "irrigation", "lavage", "banding", "grafting",
	"transposition", "reimplantation", "freeing", "release", "debridement", "cryotherapy",
	"mobilization", "mobilisation", "aspiration", "injection", "instillation", "correction",
	"shortening", "lengthening", "plication", "trephination", "trepanation", "reoperation",
	"excis", "incis", "sutur", "fixat", "endoscop", "punctur",
}

// operationTerms analyses operationWords.
func operationTerms(a *Analyzer) map[string]bool {
	m := map[string]bool{}
	for _, w := range operationWords {
		for _, t := range a.Terms(w) {
			m[t] = true
		}
	}
	return m
}

// combiningForms are the Greek and Latin roots of one-word procedure names
// and the organs they name, so "hysterectomy" (root "hyster") meets
// "excision of uterus" and "cystectomy" meets "urinary bladder". Both
// directions are used.
var combiningForms = map[string][]string{
	"hyster": {"uterus"}, "metr": {"uterus"}, "colp": {"vagina"}, "oophor": {"ovary"},
	"salping": {"fallopian", "tube"}, "orchi": {"testis"}, "orchid": {"testis"},
	"cyst": {"bladder"}, "cholecyst": {"gallbladder"}, "nephr": {"kidney"}, "pyel": {"pelvis", "kidney"},
	"ureter": {"ureter"}, "urethr": {"urethra"}, "prostat": {"prostate"},
	"hepat": {"liver"}, "gastr": {"stomach"}, "duoden": {"duodenum"}, "jejun": {"jejunum"},
	"ile": {"ileum"}, "col": {"colon"}, "sigmoid": {"sigmoid", "colon"}, "proct": {"rectum"},
	"append": {"appendix"}, "appendic": {"appendix"}, "splen": {"spleen"}, "pancreat": {"pancreas"},
	"esophag": {"esophagus"}, "lapar": {"abdomen"}, "herni": {"hernia"},
	"pneumon": {"lung"}, "lob": {"lobe"}, "trache": {"trachea"}, "laryng": {"larynx"},
	"pharyng": {"pharynx"}, "tonsill": {"tonsil"}, "adenoid": {"adenoid"}, "rhin": {"nose"},
	"sinus": {"sinus"}, "thorac": {"chest", "thorax"}, "pleur": {"pleura"}, "pericardi": {"pericardium"},
	"mast": {"breast"}, "mamm": {"breast"}, "thyroid": {"thyroid"}, "parathyroid": {"parathyroid"},
	"adrenal": {"adrenal"}, "blephar": {"eyelid"}, "dacryocyst": {"lacrimal", "sac"},
	"dacryoaden": {"lacrimal", "gland"}, "kerat": {"cornea"}, "irid": {"iris"}, "vitr": {"vitreous"},
	"myring": {"tympanic", "membrane"}, "tympan": {"tympanic"}, "mastoid": {"mastoid"},
	"arthr": {"joint"}, "ost": {"bone"}, "oste": {"bone"}, "chondr": {"cartilage"}, "my": {"muscle"},
	"ten": {"tendon"}, "tenon": {"tendon"}, "neur": {"nerve"}, "crani": {"skull", "cranium"},
	"lamin": {"lamina"}, "disc": {"disc", "intervertebral"}, "mandibul": {"mandible"}, "maxill": {"maxilla"},
	"phleb": {"vein"}, "ven": {"vein"}, "arteri": {"artery"}, "angi": {"vessel"}, "aort": {"aorta"},
	"embol": {"embolus"}, "thromb": {"thrombus"}, "vas": {"vas", "deferens"}, "vulv": {"vulva"},
	"episi": {"perineum"}, "circum": {"foreskin"}, "gingiv": {"gum"}, "gloss": {"tongue"},
	"sial": {"salivary"}, "sialaden": {"salivary", "gland"}, "cord": {"cord"}, "myel": {"spinal", "cord"},
}

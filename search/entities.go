package search

import (
	"regexp"
	"strconv"
	"strings"
)

// Besides tests, drugs, diagnoses and procedures, hospital exports name
// the things around them: the route of a medication order ("PO", "IVPB"),
// its frequency ("q6h", "BID"), a culture's organism ("E. coli") and
// specimen ("MSU", "Wound swab"), a body site ("Rt femoral artery"). Each
// is read from the text alone, spelled out as the standard vocabularies
// name it ("every six hours", "Escherichia coli") and given a prior toward
// the concepts of its kind, so "Urine" finds a specimen rather than a
// urine test and "S. aureus" the organism rather than its infection.
//
// The word lists are written for this project from the conventions they
// cite; none is taken from a gold set.
const (
	TermRoute     TermKind = "route"
	TermFrequency TermKind = "frequency"
	TermOrganism  TermKind = "organism"
	TermSpecimen  TermKind = "specimen"
	TermSite      TermKind = "site"
)

// calibrated reports whether a kind's confidence was fitted and checked on
// a development gold set. Only those kinds may be accepted automatically:
// routes, frequencies, organisms, specimens and sites have no gold set yet,
// so their best candidate always goes to a person.
func (k TermKind) calibrated() bool {
	switch k {
	case TermUnit, TermLab, TermDrug, TermProcedure, TermDiagnosis:
		return true
	}
	return false
}

// routeAbbreviations are the route abbreviations of medication orders
// (the Latin and English prescription abbreviations: per os, per rectum,
// sub-cutaneous, intravenous piggyback, nasogastric tube), spelled out as
// SNOMED CT names routes. "OD", "OS" and "AU" (eyes and ears) are left out:
// they are also frequencies and error-prone (ISMP).
var routeAbbreviations = map[string]string{
	"po": "oral", "iv": "intravenous", "ivp": "intravenous push", "ivpb": "intravenous piggyback",
	"im": "intramuscular", "sc": "subcutaneous", "sq": "subcutaneous", "subq": "subcutaneous",
	"subcut": "subcutaneous", "sl": "sublingual", "pr": "rectal", "pv": "vaginal", "ng": "nasogastric",
	"ngt": "nasogastric", "og": "orogastric", "peg": "gastrostomy", "gt": "gastrostomy", "nj": "nasojejunal",
	"ett": "endotracheal", "inh": "inhalation", "neb": "inhalation", "top": "topical", "td": "transdermal",
	"it": "intrathecal", "id": "intradermal", "io": "intraosseous", "ia": "intraarterial",
}

// routeWords name routes of administration (SNOMED CT's route qualifier
// values, EDQM's routes); routeFillers are the other words route entries
// use ("by mouth", "via NG tube", "IV push").
var (
	routeWords = wordSet(`oral intravenous intramuscular subcutaneous sublingual buccal rectal vaginal topical cutaneous transdermal nasal intranasal ocular ophthalmic otic auricular inhalation inhaled
		intrathecal epidural intradermal intraosseous intraarterial intravesical intravitreal intraocular
		intraarticular enteral nasogastric orogastric nasojejunal endotracheal oromucosal
		intralesional intrapleural intraperitoneal urethral perineural intracavernous intrauterine parenteral`)
	routeFillers = wordSet(`route by per via use administration push piggyback tube`)
	// "by mouth", "per os", "per rectum", "per vaginam".
	routeNouns = map[string]string{"mouth": "oral", "os": "oral", "rectum": "rectal", "vagina": "vaginal", "vaginam": "vaginal"}
)

// frequencyAbbreviations are the Latin dose-frequency abbreviations (bis,
// ter, quater in die; quaque die; quaque hora somni; pro re nata; statim;
// nocte, mane), spelled out as SNOMED CT names frequencies. "OD" is left
// out: it is also the right eye.
var frequencyAbbreviations = map[string]string{
	"qd": "once daily", "qod": "every other day", "bid": "twice daily", "bd": "twice daily",
	"tid": "three times daily", "tds": "three times daily", "qid": "four times daily", "qds": "four times daily",
	"qhs": "at bedtime", "hs": "at bedtime", "qam": "every morning", "qpm": "every evening", "qn": "at night",
	"nocte": "at night", "mane": "in the morning", "prn": "as required", "stat": "immediately",
	"qw": "once weekly", "qwk": "once weekly",
}

// frequencyCues make a term a frequency; frequencyWords may stand beside
// them ("every 8 hours", "twice a day as needed").
var (
	frequencyCues = wordSet(`daily weekly monthly hourly every once twice thrice bedtime needed required
		nightly fortnightly alternate`)
	frequencyWords = wordSet(`day days week weeks month months hour hours hr hrs h minute minutes min mins times
		time per a an at as in the other morning evening night noon meal meals before after with x and or to
		one two three four five six seven eight nine ten eleven twelve`)
	// "q6h", "q4-6h", "q 8 hrs", "q2d", "q1w".
	quaqueRe = regexp.MustCompile(`(?i)\bq\s*(\d+)(?:\s*-\s*(\d+))?\s*(h|hr|hrs|hours?|d|days?|w|wk|weeks?)\b`)
	// "every 8 hours", "1x daily", "2 times a day".
	everyNumberRe = regexp.MustCompile(`(?i)\b(every|x)\s+(\d+)\b`)
	timesRe       = regexp.MustCompile(`(?i)\b([1-4])\s*(x|times)\b`)
)

// numberWords spell the counts SNOMED CT frequencies use ("Every six
// hours", "Every seventy two hours").
var numberWords = map[int]string{
	1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
	10: "ten", 11: "eleven", 12: "twelve", 18: "eighteen", 24: "twenty four", 36: "thirty six",
	48: "forty eight", 72: "seventy two",
}

var timesWords = map[string]string{"1": "once", "2": "twice", "3": "three times", "4": "four times"}

// clinicalGenera are the genera clinical microbiology reports most often
// (bacteria, fungi and parasites of routine culture and stool work), for
// vocabularies whose organisms are too few to learn them from. The
// vocabulary's own Organism concepts add theirs.
var clinicalGenera = wordSet(`acinetobacter actinomyces aeromonas aspergillus bacillus bacteroides bordetella
	borrelia brucella burkholderia campylobacter candida chlamydia chlamydophila citrobacter clostridium
	clostridioides corynebacterium cryptococcus cryptosporidium cutibacterium enterobacter enterococcus
	escherichia entamoeba fusobacterium gardnerella giardia haemophilus helicobacter histoplasma klebsiella
	lactobacillus legionella leptospira listeria moraxella morganella mycobacterium mycoplasma neisseria nocardia
	pasteurella plasmodium pneumocystis prevotella propionibacterium proteus providencia pseudomonas rickettsia
	salmonella serratia shigella staphylococcus stenotrophomonas streptococcus toxoplasma treponema
	trichomonas trichophyton ureaplasma vibrio yersinia`)

// clinicalBinomials complete the abbreviated species names of culture
// reports ("E. coli", "S. aureus"): initial and species → genus.
var clinicalBinomials = map[string]string{
	"e coli": "escherichia", "s aureus": "staphylococcus", "s epidermidis": "staphylococcus",
	"s saprophyticus": "staphylococcus", "s pneumoniae": "streptococcus", "s pyogenes": "streptococcus",
	"s agalactiae": "streptococcus", "k pneumoniae": "klebsiella", "k oxytoca": "klebsiella",
	"p aeruginosa": "pseudomonas", "e faecalis": "enterococcus", "e faecium": "enterococcus",
	"c difficile": "clostridioides", "h influenzae": "haemophilus", "c albicans": "candida",
	"c glabrata": "candida", "a baumannii": "acinetobacter", "n gonorrhoeae": "neisseria",
	"n meningitidis": "neisseria", "m tuberculosis": "mycobacterium", "h pylori": "helicobacter",
	"l monocytogenes": "listeria", "p mirabilis": "proteus", "e cloacae": "enterobacter",
	"s marcescens": "serratia", "s maltophilia": "stenotrophomonas", "c trachomatis": "chlamydia",
	"t vaginalis": "trichomonas", "b fragilis": "bacteroides", "a fumigatus": "aspergillus",
	"c neoformans": "cryptococcus", "m pneumoniae": "mycoplasma", "l pneumophila": "legionella",
	"b pertussis": "bordetella", "g lamblia": "giardia",
}

// organismAbbreviations are the organism acronyms of infection control
// (methicillin-resistant Staphylococcus aureus, vancomycin-resistant
// enterococcus, group B streptococcus).
var organismAbbreviations = map[string]string{
	"mrsa": "methicillin resistant staphylococcus aureus", "mssa": "methicillin susceptible staphylococcus aureus",
	"vre": "vancomycin resistant enterococcus", "gbs": "group b streptococcus",
}

// organismCues name organisms without a genus; labTestWords make a term
// about an organism a test for it ("Candida albicans IgG Ab").
var (
	organismCues = wordSet(`virus viruses bacteria bacterium bacilli fungus fungi yeast yeasts mould mold parasite
		coliform coliforms anaerobes`)
	labTestWords = wordSet(`antibody antibodies ab antigen ag igg igm iga ige dna rna pcr naat culture cult cx
		titer titre screen test serology susceptibility susc mic detection presence load toxin`)
	// notOrganismWords make a term about an organism a condition or an
	// event ("Pneumocystis pneumonia", "MRSA carrier").
	// A vaccine names its organism too ("rota virus, live attenuated").
	notOrganismWords = wordSet(`pneumonia sepsis carrier colonization colonisation colonized colonised exposure contact
		vaccine vaccination immunization immunisation screening live attenuated inactivated toxoid conjugate
		conjugated recombinant`)
	// organismTailWords may follow a genus and its species: a group, a
	// serotype, a resistance ("Streptococcus pyogenes group A",
	// "Staphylococcus aureus methicillin resistant").
	organismTailWords = wordSet(`group type serotype serogroup strain complex spp sp species subspecies subsp var
		coagulase negative positive resistant susceptible sensitive methicillin vancomycin oxacillin carbapenem
		gram beta alpha hemolytic haemolytic non producing extended spectrum lactamase a b c d f g`)
	// "E. coli", "S.aureus": an initial, a full stop, a species.
	abbreviatedBinomialRe = regexp.MustCompile(`\b([A-Z])\.\s*([a-z]{3,})\b`)
)

// specimenWords are what a specimen is (SNOMED CT's specimen names, the
// microbiology request abbreviations MSU, CSU and BAL); specimenModifiers
// say where or how it was taken.
var (
	specimenWords = wordSet(`urine blood serum plasma sputum stool feces faeces swab aspirate fluid tissue
		saliva semen bile pus exudate specimen sample marrow scraping washing washings tip`)
	specimenAbbreviations = map[string]string{
		"csf": "cerebrospinal fluid", "msu": "midstream urine", "csu": "catheter urine",
		"bal": "bronchoalveolar lavage fluid", "ur": "urine", "urn": "urine", "bld": "blood", "ser": "serum",
		"plas": "plasma", "wb": "whole blood",
	}
	specimenModifiers = wordSet(`arterial venous capillary cord midstream clean catch catheter catheterized random
		first morning spot timed whole wound nasal nasopharyngeal throat rectal vaginal cervical urethral eye ear
		skin bone pleural peritoneal ascitic synovial joint pericardial amniotic bronchial tracheal endotracheal
		cerebrospinal spinal bronchoalveolar lavage line central of from 24 hour hr`)
)

// siteWords name body parts (regions, organs and vessels as SNOMED CT's
// body structures name them); sitePositions place them.
var (
	siteWords = wordSet(`head neck face scalp forehead cheek chin eye eyelid ear nose mouth lip tongue tooth teeth
		jaw throat chest thorax breast back abdomen pelvis groin buttock hip thigh knee leg calf shin ankle foot
		heel toe shoulder arm elbow forearm wrist hand finger thumb palm spine skin heart lung liver kidney spleen
		stomach bowel colon rectum bladder uterus ovary prostate brain skull bone joint muscle artery vein
		femoral radial jugular subclavian brachial carotid umbilical sacrum coccyx perineum axilla nail vertebra
		abdominal thoracic lumbar sacral cervical gluteal deltoid antecubital`)
	sitePositions = wordSet(`left right bilateral both upper lower anterior posterior medial lateral proximal distal
		superior inferior l r lt rt of structure region area site side entire internal external`)
	siteAbbreviations = map[string]string{"lt": "left", "rt": "right", "l": "left", "r": "right", "bilat": "bilateral"}
)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// entityReader reads the entity kinds. genera and binomials grow with the
// vocabulary's own Organism concepts.
type entityReader struct {
	genera    map[string]bool
	binomials map[string]string
}

func newEntityReader(c *Corpus) *entityReader {
	r := &entityReader{genera: map[string]bool{}, binomials: map[string]string{}}
	for g := range clinicalGenera {
		r.genera[g] = true
	}
	for k, g := range clinicalBinomials {
		r.binomials[k] = g
	}
	for i := range c.Concepts {
		con := &c.Concepts[i]
		if con.Class != "Organism" {
			continue
		}
		words := strings.Fields(strings.ToLower(con.Name))
		if len(words) == 0 || len(words) > 3 || len(words[0]) < 4 || !isLetters(words[0]) {
			continue
		}
		r.genera[words[0]] = true
		if len(words) == 2 && isLetters(words[1]) {
			r.binomials[words[0][:1]+" "+words[1]] = words[0]
		}
	}
	return r
}

func isLetters(w string) bool {
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return w != ""
}

// read returns the entity kind of text and the text spelled out as the
// vocabularies name it; TermUnknown and text unchanged when it is none of
// them.
func (r *entityReader) read(text string) (TermKind, string) {
	words := lowerWords(text)
	if len(words) == 0 {
		return TermUnknown, text
	}
	if k, rw := readFrequency(text, words); k != TermUnknown {
		return k, rw
	}
	if k, rw := r.readOrganism(text, words); k != TermUnknown {
		return k, rw
	}
	for _, read := range []func([]string) (TermKind, []string){readRoute, readSpecimen, readSite} {
		if k, out := read(words); k != TermUnknown {
			return k, strings.Join(out, " ")
		}
	}
	return TermUnknown, text
}

// lowerWords are text's words, lower case, with the full stops of "p.o."
// and "s.c." dropped.
func lowerWords(text string) []string {
	text = strings.ReplaceAll(strings.ToLower(text), ".", "")
	return strings.FieldsFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// readAll reads words that must all belong to one kind: read gives each
// word's spelling, whether it names the kind itself (a route, a specimen, a
// body part) and whether it belongs at all (a filler or a position does).
// At least one word must name the kind.
func readAll(words []string, k TermKind, read func(i int, w string) (spelled string, names, belongs bool)) (TermKind, []string) {
	out := make([]string, 0, len(words))
	named := false
	for i, w := range words {
		spelled, names, belongs := read(i, w)
		if !belongs {
			return TermUnknown, nil
		}
		out = append(out, spelled)
		named = named || names
	}
	if !named {
		return TermUnknown, nil
	}
	return k, out
}

// readRoute: routes, their abbreviations and the words route entries use.
func readRoute(words []string) (TermKind, []string) {
	return readAll(words, TermRoute, func(i int, w string) (string, bool, bool) {
		switch {
		case routeAbbreviations[w] != "":
			return routeAbbreviations[w], true, true
		case routeWords[w]:
			return w, true, true
		case routeNouns[w] != "" && i > 0: // "by mouth", not "Mouth"
			return routeNouns[w], true, true
		}
		return w, false, routeFillers[w]
	})
}

// readFrequency: a frequency abbreviation, a "q6h" or a frequency cue, with
// nothing beside it but frequency words and numbers.
func readFrequency(text string, words []string) (TermKind, string) {
	// Most terms have a word no frequency has: say so before any regexp.
	for _, w := range words {
		if !(frequencyAbbreviations[w] != "" || frequencyCues[w] || frequencyWords[w] || isNumber(w) ||
			w[0] == 'q' || strings.HasSuffix(w, "x")) {
			return TermUnknown, text
		}
	}
	cue := false
	rw := quaqueRe.ReplaceAllStringFunc(text, func(m string) string {
		cue = true
		sub := quaqueRe.FindStringSubmatch(m)
		unit := map[byte]string{'h': "hours", 'd': "days", 'w': "weeks"}[strings.ToLower(sub[3])[0]]
		if sub[2] != "" {
			return "every " + spellCount(sub[1]) + " to " + spellCount(sub[2]) + " " + unit
		}
		return "every " + spellCount(sub[1]) + " " + unit
	})
	rw = everyNumberRe.ReplaceAllStringFunc(rw, func(m string) string {
		sub := everyNumberRe.FindStringSubmatch(m)
		return sub[1] + " " + spellCount(sub[2])
	})
	rw = timesRe.ReplaceAllStringFunc(rw, func(m string) string {
		return timesWords[timesRe.FindStringSubmatch(m)[1]]
	})
	var out []string
	for _, w := range lowerWords(rw) {
		switch {
		case frequencyAbbreviations[w] != "":
			out = append(out, frequencyAbbreviations[w])
			cue = true
		case frequencyCues[w]:
			out = append(out, w)
			cue = true
		case frequencyWords[w] || isNumber(w):
			out = append(out, w)
		default:
			return TermUnknown, text
		}
	}
	if !cue {
		return TermUnknown, text
	}
	return TermFrequency, strings.Join(out, " ")
}

func spellCount(n string) string {
	v, err := strconv.Atoi(n)
	if w, ok := numberWords[v]; ok && err == nil {
		return w
	}
	return n
}

// readOrganism: a genus, an abbreviated binomial, an organism acronym or
// an organism word, and no word of a disorder or of a test for it.
func (r *entityReader) readOrganism(text string, words []string) (TermKind, string) {
	cue := false
	if strings.Contains(text, ".") {
		rw := abbreviatedBinomialRe.ReplaceAllStringFunc(text, func(m string) string {
			sub := abbreviatedBinomialRe.FindStringSubmatch(m)
			if g, ok := r.binomials[strings.ToLower(sub[1])+" "+sub[2]]; ok {
				cue = true
				return g + " " + sub[2]
			}
			return m
		})
		words = lowerWords(rw)
	}
	if len(words) == 0 || len(words) > 6 {
		return TermUnknown, text
	}
	var out []string
	for i, w := range words {
		switch {
		case labTestWords[w] || diagnosisWords[w] || notOrganismWords[w] || routeWords[w] || strengthRe.MatchString(w):
			return TermUnknown, text
		case i == 1 && r.genera[words[0]]:
			// The species: Latin, so a disorder's ending is one only when
			// it is not "-osis" ("Mycobacterium tuberculosis",
			// "Haemophilus meningitis").
			if isDiagnosisText([]string{w}) && !strings.HasSuffix(w, "osis") {
				return TermUnknown, text
			}
		case i > 1 && r.genera[words[0]] && !organismTailWords[w] && !strings.ContainsAny(w, "0123456789"):
			return TermUnknown, text // "Plasmodium vivax malaria"
		case i > 0 && isDiagnosisText([]string{w}):
			return TermUnknown, text
		case organismAbbreviations[w] != "":
			out = append(out, organismAbbreviations[w])
			cue = true
			continue
		case r.genera[w] && i == 0, organismCues[w]:
			cue = true
		}
		out = append(out, w)
	}
	if !cue {
		return TermUnknown, text
	}
	return TermOrganism, strings.Join(out, " ")
}

// readSpecimen: specimens and the words that place them.
func readSpecimen(words []string) (TermKind, []string) {
	return readAll(words, TermSpecimen, func(_ int, w string) (string, bool, bool) {
		switch {
		case specimenAbbreviations[w] != "":
			return specimenAbbreviations[w], true, true
		case specimenWords[w]:
			return w, true, true
		}
		return w, false, specimenModifiers[w] || siteWords[w]
	})
}

// readSite: body parts and positions.
func readSite(words []string) (TermKind, []string) {
	return readAll(words, TermSite, func(_ int, w string) (string, bool, bool) {
		switch {
		case siteWords[w]:
			return w, true, true
		case siteAbbreviations[w] != "" && len(words) > 1: // "Rt arm", not "R"
			return siteAbbreviations[w], false, true
		}
		return w, false, sitePositions[w]
	})
}

// entityPrior is kindPrior for the entity kinds: +1 for a concept of the
// kind, -1 for a test, drug, disorder or procedure, 0 otherwise.
func entityPrior(k TermKind, c *Concept) (float64, bool) {
	var of bool
	switch k {
	case TermRoute:
		of = c.Domain == "Route"
	case TermFrequency:
		of = c.Class == "Qualifier Value" && c.Domain != "Route"
	case TermOrganism:
		of = c.Class == "Organism"
	case TermSpecimen:
		of = c.Domain == "Specimen" || c.Class == "Specimen"
	case TermSite:
		of = c.Domain == "Spec Anatomic Site" || c.Class == "Body Structure"
	default:
		return 0, false
	}
	switch {
	case of:
		return 1, true
	case c.Domain == "Drug" || c.Domain == "Measurement" || c.Domain == "Condition" || c.Domain == "Procedure" || c.Vocabulary == "UCUM":
		return -1, true
	}
	return 0, true
}

package schemamap

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Column is one source column to place in the CDM.
type Column struct {
	// Table is the source table or file the column belongs to ("patients",
	// "lab_results"); it may be empty.
	Table string
	// Column is the source column's name as written ("DOB", "admitDate").
	Column string
	// SampleValues are a few of the column's values; they may be empty.
	SampleValues []string
}

// Suggestion is one CDM target for a source column.
type Suggestion struct {
	Table  string
	Column string
	// Confidence is in [0, 1]; the Portiere SDK auto-accepts ≥ 0.95 and
	// asks for review ≥ 0.70.
	Confidence float64
	// Reasons say which rules produced the suggestion, for reviewers.
	Reasons []string
}

// ColumnSuggestions are the ranked targets for one source column, best
// first. Suggestions is empty when nothing scored above MinConfidence.
type ColumnSuggestions struct {
	Source      Column
	Suggestions []Suggestion
}

// Suggestion limits.
const (
	// MaxSuggestions is how many targets Suggest returns per column.
	MaxSuggestions = 5
	// MinConfidence is the lowest confidence Suggest reports.
	MinConfidence = 0.2
)

// Suggest ranks CDM table/column targets for each source column, in input
// order. targetModel must be "omop_cdm_v5.4" (or empty, meaning it);
// anything else returns ErrUnsupportedModel. It is safe for concurrent use.
//
// The rules, in the order they apply:
//
//  1. Names are split into words (snake_case, camelCase, digits) and each
//     word is normalised through a table of clinical abbreviations and
//     synonyms: dob → birth date, sex → gender, dx / diag / icd → condition,
//     rx / med / ndc → drug, px / cpt → procedure, lab / loinc / vital →
//     measurement, admit → visit start, disch → visit end, dt → date,
//     uom → unit, qty → quantity, mrn → person source value, npi, zip, …
//     (see synonyms).
//  2. Name similarity is a weighted Dice overlap between the source words
//     and the CDM field's words plus the field's implied words (a
//     *_source_value holds a code or text, a *_datetime a date and a time,
//     a *_concept_id a code); structural words (id, concept, source, value)
//     weigh less than content words.
//  3. Table context: the source table's words (patients → person,
//     admissions → visit, prescriptions → drug, …) count as half-weight
//     words of the column, and fields of the CDM table the source table
//     names get a bonus of 0.10.
//  4. Sample values are classified as dates, date-times, integers,
//     decimals, codes (short tokens such as M/F, E11.9, 2345-7, and digits
//     in a column whose name says code) or text,
//     and the score is multiplied by how well that kind fits the field's
//     CDM datatype (codes fit *_concept_id best, then *_source_value;
//     dates fit date, then datetime; …).
//  5. A few unambiguous names are direct rules with confidence 0.96 when
//     the samples fit (dob / date_of_birth → person.birth_datetime,
//     sex / gender → person.gender_concept_id, race, ethnicity, mrn,
//     yob, dod, zip, npi, …; see directRules).
//  6. *_source_concept_id fields are rarely an ETL's direct target and are
//     scaled by 0.85; only tables a source data set populates are
//     considered (not the vocabulary, era, cohort or metadata tables).
func (m *Model) Suggest(columns []Column, targetModel string) ([]ColumnSuggestions, error) {
	if targetModel != "" && targetModel != ModelCDM54 {
		return nil, fmt.Errorf("%w %q (want %s)", ErrUnsupportedModel, targetModel, ModelCDM54)
	}
	fields := m.targetFields()
	known := m.knownWords()
	out := make([]ColumnSuggestions, len(columns))
	for i, c := range columns {
		out[i] = ColumnSuggestions{Source: c, Suggestions: known.suggestColumn(c, fields)}
	}
	return out, nil
}

// populatedTables are the CDM tables an ETL fills from source data.
var populatedTables = map[string]bool{
	"person": true, "observation_period": true, "visit_occurrence": true, "visit_detail": true,
	"condition_occurrence": true, "drug_exposure": true, "procedure_occurrence": true,
	"device_exposure": true, "measurement": true, "observation": true, "death": true, "note": true,
	"specimen": true, "location": true, "care_site": true, "provider": true,
	"payer_plan_period": true, "cost": true, "episode": true,
}

type targetField struct {
	Field
	order int
	words map[string]float64 // word → weight
	kind  valueKind
}

func (m *Model) targetFields() []targetField {
	var out []targetField
	for _, t := range m.tables {
		if !populatedTables[t.Name] {
			continue
		}
		for _, f := range t.Fields {
			out = append(out, targetField{Field: f, order: len(out), words: fieldWords(f), kind: fieldKind(f)})
		}
	}
	return out
}

// structural words say what kind of column a field is rather than what it
// is about.
var structural = map[string]bool{"id": true, "concept": true, "source": true, "value": true, "as": true, "type": true}

func wordWeight(w string) float64 {
	if structural[w] {
		return 0.3
	}
	return 1
}

func fieldWords(f Field) map[string]float64 {
	words := map[string]float64{}
	for _, w := range strings.Split(f.Column, "_") {
		for _, n := range normalizeWord(w) {
			words[n] = wordWeight(n)
		}
	}
	add := func(w string, weight float64) {
		if words[w] < weight {
			words[w] = weight
		}
	}
	// The table says what a field is about when its name does not
	// (provider.npi, location.zip).
	for _, w := range strings.Split(f.Table, "_") {
		for _, n := range normalizeWord(w) {
			add(n, wordWeight(n)/2)
		}
	}
	switch {
	case strings.HasSuffix(f.Column, "_source_value"):
		add("code", 0.6)
		add("name", 0.4)
	case strings.HasSuffix(f.Column, "_concept_id"):
		add("code", 0.5)
	case strings.HasSuffix(f.Column, "_datetime"):
		add("time", 0.5)
	}
	if f.Column == "value_as_number" || f.Column == "value_as_string" {
		add("result", 0.8)
	}
	return words
}

// synonyms normalise source words (and CDM words) to shared words. A word
// missing here stands for itself.
var synonyms = map[string][]string{
	// people
	"pt": {"person"}, "pat": {"person"}, "patient": {"person"}, "patients": {"person"}, "patid": {"person", "id"},
	"subject": {"person"}, "member": {"person"}, "person": {"person"}, "persons": {"person"}, "demographics": {"person"},
	"demographic": {"person"}, "demog": {"person"}, "mrn": {"person", "source", "value"},
	"dob": {"birth", "date"}, "birthdate": {"birth", "date"}, "birthday": {"birth", "date"}, "born": {"birth"},
	"yob": {"year", "birth"}, "sex": {"gender"}, "gndr": {"gender"}, "gender": {"gender"},
	"ethnic": {"ethnicity"}, "hispanic": {"ethnicity"}, "dod": {"death", "date"}, "deceased": {"death"},
	"died": {"death"}, "deathdate": {"death", "date"}, "expired": {"death"}, "mortality": {"death"},
	// visits
	"visit": {"visit"}, "visits": {"visit"}, "encounter": {"visit"}, "encounters": {"visit"}, "enc": {"visit"},
	"admission": {"visit", "start"}, "admissions": {"visit"}, "admit": {"visit", "start"}, "adm": {"visit", "start"},
	"hadm": {"visit"}, "stay": {"visit"}, "stays": {"visit"}, "discharge": {"visit", "end"}, "disch": {"visit", "end"},
	"dc": {"end"}, "los": {"visit"},
	// clinical domains
	"dx": {"condition"}, "diag": {"condition"}, "diagnosis": {"condition"}, "diagnoses": {"condition"},
	"problem": {"condition"}, "problems": {"condition"}, "icd": {"condition", "code"}, "icd9": {"condition", "code"},
	"icd10": {"condition", "code"}, "icd10cm": {"condition", "code"}, "conditions": {"condition"},
	"rx": {"drug"}, "med": {"drug"}, "meds": {"drug"}, "medication": {"drug"}, "medications": {"drug"},
	"prescription": {"drug"}, "prescriptions": {"drug"}, "presc": {"drug"}, "ndc": {"drug", "code"},
	"rxnorm": {"drug", "code"}, "atc": {"drug", "code"}, "drugs": {"drug"},
	"px": {"procedure"}, "proc": {"procedure"}, "procedures": {"procedure"}, "cpt": {"procedure", "code"},
	"surgery": {"procedure"}, "operation": {"procedure"},
	"lab": {"measurement"}, "labs": {"measurement"}, "labevents": {"measurement"}, "loinc": {"measurement", "code"},
	"vital": {"measurement"}, "vitals": {"measurement"}, "measurements": {"measurement"}, "test": {"measurement"},
	"obs": {"observation"}, "observations": {"observation"}, "finding": {"observation"},
	"device": {"device"}, "devices": {"device"}, "implant": {"device"},
	"specimens": {"specimen"}, "sample": {"specimen"},
	"notes": {"note"}, "narrative": {"note", "text"}, "report": {"note"},
	// people and places around care
	"physician": {"provider"}, "doctor": {"provider"}, "clinician": {"provider"}, "prescriber": {"provider"},
	"attending": {"provider"}, "providers": {"provider"}, "md": {"provider"},
	"facility": {"care", "site"}, "ward": {"care", "site"}, "department": {"care", "site"}, "dept": {"care", "site"},
	"clinic": {"care", "site"}, "hospital": {"care", "site"},
	"zipcode": {"zip"}, "postcode": {"zip"}, "postal": {"zip"}, "plz": {"zip"}, "addr": {"address"},
	"address": {"address"}, "county": {"county"},
	// generic parts
	"dt": {"date"}, "dte": {"date"}, "date": {"date"}, "dates": {"date"}, "day": {"day"},
	"datetime": {"date", "time"}, "ts": {"date", "time"}, "timestamp": {"date", "time"}, "tm": {"time"},
	"start": {"start"}, "begin": {"start"}, "from": {"start"}, "onset": {"start"},
	"end": {"end"}, "stop": {"end"}, "to": {"end"}, "until": {"end"},
	"yr": {"year"}, "mo": {"month"}, "mon": {"month"},
	"val": {"value"}, "result": {"result", "value"}, "res": {"result"}, "reading": {"result"}, "num": {"number"},
	"numeric": {"number"}, "uom": {"unit"}, "units": {"unit"}, "qty": {"quantity"}, "amount": {"quantity"},
	"dose": {"dose"}, "npi": {"npi", "provider"}, "code": {"code"}, "cd": {"code"}, "cde": {"code"}, "desc": {"name"},
	"description": {"name"}, "label": {"name"}, "txt": {"text"}, "no": {"id"}, "nbr": {"id"}, "key": {"id"},
	"typ": {"type"}, "kind": {"type"}, "category": {"type"}, "cat": {"type"}, "class": {"type"},
}

func normalizeWord(w string) []string {
	w = strings.ToLower(w)
	if n, ok := synonyms[w]; ok {
		return n
	}
	return []string{w}
}

var camel = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// words splits a source name into normalised words. A word that is not
// known but is two known words run together ("admittime", "dischdate") is
// split.
func (k knownWords) words(name string) []string {
	name = camel.ReplaceAllString(name, "${1}_${2}")
	var out []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		w = strings.ToLower(w)
		if a, b, ok := k.split(w); ok {
			out = append(out, normalizeWord(a)...)
			out = append(out, normalizeWord(b)...)
			continue
		}
		out = append(out, normalizeWord(w)...)
	}
	return out
}

// knownWords are the words of synonyms and of CDM field names.
type knownWords map[string]bool

func (m *Model) knownWords() knownWords {
	k := knownWords{}
	for w := range synonyms {
		k[w] = true
	}
	for _, t := range m.tables {
		for _, f := range t.Fields {
			for _, w := range strings.Split(f.Column, "_") {
				k[w] = true
			}
		}
	}
	return k
}

func (k knownWords) split(w string) (string, string, bool) {
	if k[w] || len(w) < 5 {
		return "", "", false
	}
	for i := len(w) - 2; i >= 2; i-- {
		if k[w[:i]] && k[w[i:]] {
			return w[:i], w[i:], true
		}
	}
	return "", "", false
}

// tableHints map words of a source table name to the CDM table they name.
var tableHints = map[string]string{
	"person": "person", "visit": "visit_occurrence", "condition": "condition_occurrence",
	"drug": "drug_exposure", "procedure": "procedure_occurrence", "measurement": "measurement",
	"observation": "observation", "death": "death", "provider": "provider", "device": "device_exposure",
	"specimen": "specimen", "note": "note", "address": "location", "location": "location",
}

// directRule is an unambiguous column name with its CDM target.
type directRule struct{ table, column string }

// directRules are keyed by the column name lower-cased with separators
// removed.
var directRules = map[string]directRule{
	"dob": {"person", "birth_datetime"}, "dateofbirth": {"person", "birth_datetime"},
	"birthdate": {"person", "birth_datetime"}, "birthdatetime": {"person", "birth_datetime"},
	"birthdt": {"person", "birth_datetime"}, "patientdob": {"person", "birth_datetime"},
	"sex": {"person", "gender_concept_id"}, "gender": {"person", "gender_concept_id"},
	"patientsex": {"person", "gender_concept_id"}, "patientgender": {"person", "gender_concept_id"},
	"race": {"person", "race_concept_id"}, "ethnicity": {"person", "ethnicity_concept_id"},
	"mrn": {"person", "person_source_value"}, "medicalrecordnumber": {"person", "person_source_value"},
	"yob": {"person", "year_of_birth"}, "yearofbirth": {"person", "year_of_birth"}, "birthyear": {"person", "year_of_birth"},
	"dod": {"death", "death_date"}, "dateofdeath": {"death", "death_date"}, "deathdate": {"death", "death_date"},
	"zip": {"location", "zip"}, "zipcode": {"location", "zip"}, "postcode": {"location", "zip"}, "postalcode": {"location", "zip"},
	"npi": {"provider", "npi"}, "dea": {"provider", "dea"},
}

func (k knownWords) suggestColumn(c Column, fields []targetField) []Suggestion {
	colWords := map[string]float64{}
	for _, w := range k.words(c.Column) {
		colWords[w] = wordWeight(w)
	}
	contextTable := ""
	for _, w := range k.words(c.Table) {
		if t, ok := tableHints[w]; ok && contextTable == "" {
			contextTable = t
		}
		if _, ok := colWords[w]; !ok {
			colWords[w] = wordWeight(w) / 2
		}
	}
	kind := sampleKind(c.SampleValues)
	if kind == kindInteger && colWords["code"] > 0 {
		// A column named a code holds codes even when they are digits
		// (CPT 99213, NDC without dashes).
		kind = kindCode
	}
	key := strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, c.Column))
	direct, hasDirect := directRules[key]

	var out []Suggestion
	for _, f := range fields {
		name := dice(colWords, f.words)
		fit := kindFit(kind, f.kind)
		score := name * fit
		var reasons []string
		if name > 0 {
			reasons = append(reasons, fmt.Sprintf("name similarity %.2f", name))
		}
		if hasDirect && direct.table == f.Table && direct.column == f.Column {
			rule := 0.96
			if fit < 0.7 {
				rule *= fit
			}
			score = max(score, rule)
			reasons = append(reasons, "known column name "+strconv.Quote(c.Column))
		}
		if score == 0 {
			continue
		}
		if kind != kindUnknown {
			reasons = append(reasons, fmt.Sprintf("sample values look like %s; %s is %s (fit %.2f)", kind, f.Column, f.Datatype, fit))
		}
		if !(hasDirect && direct.table == f.Table && direct.column == f.Column) {
			// Without table context a name match tops out at 0.90.
			score *= 0.9
			if contextTable != "" && f.Table == contextTable {
				score += 0.10
				reasons = append(reasons, fmt.Sprintf("source table %q suggests %s", c.Table, f.Table))
			}
		}
		if strings.HasSuffix(f.Column, "_source_concept_id") {
			score *= 0.85
		}
		if strings.HasSuffix(f.Column, "_type_concept_id") && colWords["type"] == 0 {
			// Type concepts record provenance (EHR, claim), which a source
			// column rarely holds unless its name says "type".
			score *= 0.7
		}
		score = min(score, 0.99)
		if score < MinConfidence {
			continue
		}
		out = append(out, Suggestion{Table: f.Table, Column: f.Column, Confidence: round2(score), Reasons: reasons})
	}
	order := map[[2]string]int{}
	for _, f := range fields {
		order[[2]string{f.Table, f.Column}] = f.order
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Confidence != out[j].Confidence {
			return out[i].Confidence > out[j].Confidence
		}
		return order[[2]string{out[i].Table, out[i].Column}] < order[[2]string{out[j].Table, out[j].Column}]
	})
	if len(out) > MaxSuggestions {
		out = out[:MaxSuggestions]
	}
	return out
}

// dice is the weighted Dice overlap of two word sets.
func dice(a, b map[string]float64) float64 {
	var inter, total float64
	for w, wa := range a {
		total += wa
		if wb, ok := b[w]; ok {
			inter += min(wa, wb)
		}
	}
	for _, wb := range b {
		total += wb
	}
	if total == 0 {
		return 0
	}
	return 2 * inter / total
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

type valueKind string

const (
	kindUnknown  valueKind = ""
	kindDate     valueKind = "dates"
	kindDateTime valueKind = "date-times"
	kindInteger  valueKind = "integers"
	kindDecimal  valueKind = "decimal numbers"
	kindCode     valueKind = "codes"
	kindText     valueKind = "text"
	// field-only kinds
	kindConcept valueKind = "concept ids"
	kindID      valueKind = "ids"
)

func fieldKind(f Field) valueKind {
	switch {
	case strings.HasSuffix(f.Column, "_concept_id"):
		return kindConcept
	case f.Datatype == "date":
		return kindDate
	case f.Datatype == "datetime":
		return kindDateTime
	case f.Datatype == "float":
		return kindDecimal
	case f.Datatype == "integer" && (f.PrimaryKey || f.ForeignTable != "" || strings.HasSuffix(f.Column, "_id")):
		return kindID
	case f.Datatype == "integer":
		return kindInteger
	}
	return kindText
}

// fit[sample kind][field kind] is how plausible it is that values of the
// sample kind are stored in a field of the field kind.
var fit = map[valueKind]map[valueKind]float64{
	kindDate:     {kindDate: 1, kindDateTime: 0.9, kindText: 0.4},
	kindDateTime: {kindDateTime: 1, kindDate: 0.85, kindText: 0.4},
	kindInteger:  {kindInteger: 1, kindID: 1, kindDecimal: 1, kindText: 0.7, kindConcept: 0.6},
	kindDecimal:  {kindDecimal: 1, kindInteger: 0.6, kindText: 0.5, kindConcept: 0.3},
	kindCode:     {kindConcept: 1, kindText: 0.95, kindID: 0.4, kindInteger: 0.4, kindDecimal: 0.3},
	kindText:     {kindText: 1, kindConcept: 0.8},
}

func kindFit(sample, field valueKind) float64 {
	if sample == kindUnknown {
		return 1
	}
	if f, ok := fit[sample][field]; ok {
		return f
	}
	return 0.2
}

var (
	dateLayouts     = []string{"2006-01-02", "2006/01/02", "02/01/2006", "01/02/2006", "2/1/2006", "02.01.2006", "20060102", "02-Jan-2006", "Jan 2 2006"}
	dateTimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "02/01/2006 15:04", "01/02/2006 15:04:05", "2006-01-02 15:04:05.000", "20060102150405"}
	codePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.\-_/+]{0,19}$`)
)

// sampleKind classifies sample values; blanks are ignored.
func sampleKind(samples []string) valueKind {
	counts := map[valueKind]int{}
	n := 0
	for _, s := range samples {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n++
		counts[classify(s)]++
	}
	if n == 0 {
		return kindUnknown
	}
	for _, k := range []valueKind{kindDateTime, kindDate, kindInteger, kindDecimal, kindCode} {
		if counts[k] == n {
			return k
		}
	}
	switch {
	case counts[kindDate]+counts[kindDateTime] == n:
		return kindDateTime
	case counts[kindInteger]+counts[kindDecimal] == n:
		return kindDecimal
	case counts[kindText] == 0:
		return kindCode
	}
	return kindText
}

func classify(s string) valueKind {
	for _, l := range dateTimeLayouts {
		if _, err := time.Parse(l, s); err == nil {
			return kindDateTime
		}
	}
	for _, l := range dateLayouts {
		if _, err := time.Parse(l, s); err == nil {
			if l == "20060102" && (s[0] != '1' && s[0] != '2') {
				break
			}
			return kindDate
		}
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return kindInteger
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return kindDecimal
	}
	if codePattern.MatchString(s) && !isWord(s) {
		return kindCode
	}
	if len(s) <= 3 {
		return kindCode // M, F, Y, N, U, POS
	}
	return kindText
}

// isWord reports whether s is an ordinary lower- or title-case word
// ("Female", "aspirin"), which reads as text rather than as a code.
func isWord(s string) bool {
	if len(s) <= 3 {
		return false
	}
	for i, r := range s {
		if !unicode.IsLetter(r) || (i > 0 && unicode.IsUpper(r)) {
			return false
		}
	}
	return true
}

package search

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// querySeeds are source terms as hospitals write them, from
// testdata/demo-source-codes.csv and the gold sets' shapes: lab names with
// specimen abbreviations, drugs with strengths, unit strings, diagnoses.
var querySeeds = []string{
	"Haemoglobin A1c", "Glucose fasting plasma", "Serum creatinine", "Potassium level",
	"Sodium SerPl Qn", "Neutrophils %", "WBC #", "Ampicillin MIC", "Potass(ER-IS)", "Sodium | Urine | Chemistry | mmol/L",
	"metformin 500 mg tab", "Xalatan 0.005% Opht Soln", "perindopril and amlodipine; 5mg+10mg; Oral",
	"amlodipine/perindopril 10/5 mg", "aminophylline;150mg;Oral;tablet", "insulin glargine 100 unit/mL", "500 mcg", "1 g",
	"mcmol/L", "MG/DL", "mm(Hg)", "uU/mL", "10*-6.[U]/mL", "nmol/h/mg", "L/(24.h)", "mg/gm Cr", "K/uL",
	"Excision of gallbladder", "acute appendicitis", "Sjögren's syndrome", "Type 2 diabetes mellitus, E11.9",
	"tumour of oesophagus", "0,50 ml", ".5", "", "((((", "10^999999999999", "1/0",
}

// FuzzAnalyze checks the analyzer's contract, which index and query both
// rely on: Terms and Analyze agree; terms are non-empty, lower case and
// either a number, "%" or letters only; a fresh Analyzer (empty stem cache)
// gives the same terms; a non-zero strength never becomes 0 when written
// in milligrams; ASCII case does not matter; and ASCII punctuation
// other than the number separators splits words exactly as a space does.
func FuzzAnalyze(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	a := &Analyzer{}
	f.Fuzz(func(t *testing.T, text string) {
		toks := a.Analyze(text)
		terms := a.Terms(text)
		if len(toks) != len(terms) {
			t.Fatalf("Analyze has %d tokens, Terms %d", len(toks), len(terms))
		}
		for i, tok := range toks {
			if tok.Term != terms[i] {
				t.Fatalf("token %d: Analyze %q, Terms %q", i, tok.Term, terms[i])
			}
			checkTerm(t, tok)
		}
		if slices.Contains(terms, "0") && !hasZeroNumber(fold(text)) {
			t.Fatalf("%q: a non-zero number became 0 in %q", text, terms)
		}
		if fresh := (&Analyzer{}).Terms(text); !slices.Equal(fresh, terms) {
			t.Fatalf("a fresh analyzer gives %q, the warm one %q", fresh, terms)
		}
		if isASCII(text) {
			if up := a.Terms(strings.ToUpper(text)); !slices.Equal(up, terms) {
				t.Fatalf("upper case gives %q, want %q", up, terms)
			}
			spaced := strings.Map(func(r rune) rune {
				if r < utf8.RuneSelf && !isASCIIAlnum(r) && r != '.' && r != ',' && r != '%' {
					return ' '
				}
				return r
			}, text)
			if sp := a.Terms(spaced); !slices.Equal(sp, terms) {
				t.Fatalf("%q gives %q, %q gives %q", spaced, sp, text, terms)
			}
		}
	})
}

func checkTerm(t *testing.T, tok Token) {
	t.Helper()
	switch {
	case tok.Term == "":
		t.Fatalf("empty term")
	case tok.Numeric:
		v, err := strconv.ParseFloat(tok.Term, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(v) || math.IsInf(v, 0) && err == nil || v < 0 {
			t.Fatalf("numeric term %q is not a number", tok.Term)
		}
		if strings.Trim(tok.Term, "0123456789.") != "" || strings.Count(tok.Term, ".") > 1 {
			t.Fatalf("numeric term %q is not canonical", tok.Term)
		}
	case tok.Term == "%":
	default:
		if strings.ToLower(tok.Term) != tok.Term {
			t.Fatalf("term %q is not lower case", tok.Term)
		}
		for _, r := range tok.Term {
			if !unicode.IsLetter(r) {
				t.Fatalf("term %q has a non-letter %q", tok.Term, r)
			}
		}
	}
}

// hasZeroNumber reports whether s has a number, read as the analyzer
// reads them (scanNumber from any digit or separator), of zeros only.
func hasZeroNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(rune(s[i])) && !(s[i] == '.' || s[i] == ',') {
			continue
		}
		j := scanNumber(s, i)
		if n := s[i:j]; strings.ContainsRune(n, '0') && strings.Trim(n, "0.,") == "" {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// FuzzParseUnit checks the UCUM unit parser on arbitrary strings: a parsed
// unit names something (not empty) and has a stable key; wrapping it in
// parentheses or surrounding spaces changes nothing; and "1/(u)" is its
// inverse — every atom's exponent negated, the scale inverted.
func FuzzParseUnit(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s, false)
		f.Add(normaliseUnitText(s), true)
	}
	f.Add("mg/g{creat}", false)
	f.Add("[in_i'H2O]", false)
	f.Add("{MOM}", false)
	f.Fuzz(func(t *testing.T, s string, foldCase bool) {
		if len(s) > 200 {
			return // units are short; deep nesting of a long string is FuzzSearch's case
		}
		u, ok := parseUnit(s, foldCase)
		if !ok {
			return
		}
		if u.empty() {
			t.Fatalf("%q: parsed as an empty unit", s)
		}
		key := u.key()
		if again, ok2 := parseUnit(s, foldCase); !ok2 || again.key() != key {
			t.Fatalf("%q: key %q, then %q (%v)", s, key, again.key(), ok2)
		}
		for _, w := range []string{" " + s + " ", "(" + s + ")"} {
			if v, ok := parseUnit(w, foldCase); !ok || v.key() != key {
				t.Fatalf("%q is %q, but %q is %q (ok %v)", s, key, w, v.key(), ok)
			}
		}
		inv, ok := parseUnit("1/("+s+")", foldCase)
		if !ok {
			t.Fatalf("%q parses but 1/(%s) does not", s, s)
		}
		for a, e := range u.atoms {
			if inv.atoms[a] != -e {
				t.Fatalf("%q: atom %s^%d, inverse has ^%d", s, a, e, inv.atoms[a])
			}
		}
		if p := u.scale * inv.scale; u.scale > 1e-100 && u.scale < 1e100 && math.Abs(p-1) > 1e-9 {
			t.Fatalf("%q: scale %g, inverse %g", s, u.scale, inv.scale)
		}
	})
}

// FuzzRewriteLab checks the lab-name reader: the rewritten name is single
// spaced and trimmed; a specimen it reports is a LOINC system and appears
// in the name; "%" and "#" never remain as words of their own, and a
// trailing "%" ("Neutrophils %") marks a fraction; the reading is
// deterministic.
func FuzzRewriteLab(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	systems := map[string]bool{}
	for _, sp := range labSpecimens {
		systems[sp] = true
	}
	f.Fuzz(func(t *testing.T, text string) {
		lq := rewriteLab(text)
		if lq.text != strings.Trim(lq.text, " ") || strings.Contains(lq.text, "  ") {
			t.Fatalf("%q: rewritten as %q", text, lq.text)
		}
		if lq.specimen != "" && (!systems[lq.specimen] || !strings.Contains(lq.text, lq.specimen)) {
			t.Fatalf("%q: specimen %q, text %q", text, lq.specimen, lq.text)
		}
		for _, w := range strings.Split(lq.text, " ") {
			if w != "" && strings.Trim(w, "%#") == "" {
				t.Fatalf("%q: a bare %q kept in %q", text, w, lq.text)
			}
		}
		if strings.HasSuffix(strings.TrimSpace(text), " %") && !strings.ContainsAny(text, "()") && !lq.fraction {
			t.Fatalf("%q: ends in a %% of its own but is no fraction", text)
		}
		if again := rewriteLab(text); again != lq {
			t.Fatalf("%q: %+v, then %+v", text, lq, again)
		}
	})
}

// fuzzCorpus is a small vocabulary with one concept of each kind the
// parsers read: lab tests, drugs, units, a procedure and a diagnosis.
func fuzzCorpus(f *testing.F) *Corpus {
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "Sodium [Moles/volume] in Serum or Plasma", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2951-2"},
		{ID: 3, Name: "Sodium [Moles/volume] in Urine", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "2955-3"},
		{ID: 4, Name: "Hemoglobin A1c/Hemoglobin.total in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "4548-4"},
		{ID: 5, Name: "sodium chloride", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "9863"},
		{ID: 7, Name: "millimole per liter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "mmol/L"},
		{ID: 8, Name: "micromole per liter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "umol/L"},
		{ID: 9, Name: "milligram per deciliter", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "mg/dL"},
		{ID: 10, Name: "metformin 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "861007"},
		{ID: 11, Name: "Amlodipine 5 MG / Perindopril 10 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "3"},
		{ID: 12, Name: "Cholecystectomy", Domain: "Procedure", Vocabulary: "SNOMED", Class: "Procedure", Standard: "S", Code: "38102005"},
		{ID: 13, Name: "Acute appendicitis", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "85189001"},
		{ID: 14, Name: "Type 2 diabetes mellitus without complication", Domain: "Condition", Vocabulary: "ICD10CM", Class: "5-char billing code", Code: "E11.9"},
	} {
		if err := b.AddConcept(c); err != nil {
			f.Fatal(err)
		}
	}
	return b.Build()
}

// FuzzSearch sends arbitrary query text, with a context and through the
// drug, lab and unit readers, to an Engine over a small corpus. It checks
// what Search documents: ErrEmptyQuery exactly for a query without text,
// otherwise at most Limit candidates, each once, ranked by finite
// non-increasing score, a known kind, a confidence in [0, 1]; and that
// the drug-pair reader pairs each ingredient with a number.
func FuzzSearch(f *testing.F) {
	for i, s := range querySeeds {
		f.Add(s, []string{"", "Chemistry", "Medication", "Diagnosis"}[i%4], []string{"", "Serum", "Urine"}[i%3], []string{"", "mmol/L", "mg/dL"}[i%3])
	}
	e := NewEngine(fuzzCorpus(f), Options{})
	kinds := map[TermKind]bool{TermUnknown: true, TermUnit: true, TermLab: true, TermDrug: true, TermProcedure: true, TermDiagnosis: true}
	f.Fuzz(func(t *testing.T, text, category, specimen, unit string) {
		if len(text) > 1000 {
			return // the API refuses longer queries
		}
		if k := e.Classify(text); !kinds[k] {
			t.Fatalf("Classify(%q) = %q", text, k)
		}
		for _, p := range e.queryDrugPairs(text) {
			if p.ingredient == "" || p.strength == "" || strings.Trim(p.strength, "0123456789.") != "" {
				t.Fatalf("%q: drug pair %+v", text, p)
			}
		}
		rest, _ := e.splitParts(text, Context{})
		if strings.Contains(rest, "|") {
			t.Fatalf("%q: split leaves %q", text, rest)
		}
		q := Query{Text: text, Limit: 5, Context: Context{Category: category, Specimen: specimen, Unit: unit}}
		res, err := e.Search(context.Background(), q)
		if err != nil {
			if !errors.Is(err, ErrEmptyQuery) {
				t.Fatalf("%q: %v", text, err)
			}
			return
		}
		if strings.TrimSpace(text) == "" {
			t.Fatalf("blank query %q answered", text)
		}
		if !kinds[res.Kind] || res.Confidence < 0 || res.Confidence > 1 || math.IsNaN(res.Confidence) || len(res.Candidates) > 5 {
			t.Fatalf("%q: kind %q confidence %v, %d candidates", text, res.Kind, res.Confidence, len(res.Candidates))
		}
		seen := map[int32]bool{}
		for i, c := range res.Candidates {
			if c.Concept == nil || seen[c.Concept.ID] || math.IsNaN(c.Score) || math.IsInf(c.Score, 0) {
				t.Fatalf("%q: candidate %d %+v", text, i, c)
			}
			seen[c.Concept.ID] = true
			if i > 0 && c.Score > res.Candidates[i-1].Score {
				t.Fatalf("%q: candidate %d scores %v above %v", text, i, c.Score, res.Candidates[i-1].Score)
			}
		}
	})
}

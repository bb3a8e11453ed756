package search

import "strings"

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

// percentStrengths lets a strength written as a percentage ("dorzolamide
// 2%", "imiquimod 5% cream") match the way RxNorm writes it: weight per
// volume for liquids (1% = 10 MG/ML) and weight per weight for creams,
// ointments and gels (1% = 0.01 MG/MG). Both readings join the number's
// slot; the dose form decides between the candidates.
func (e *Engine) percentStrengths(terms []string, qterms []queryTerm) []queryTerm {
	slotOf := map[string]int{}
	for _, t := range terms {
		if _, ok := slotOf[t]; !ok {
			slotOf[t] = len(slotOf)
		}
	}
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

package search

import (
	"slices"
	"strconv"
	"testing"
)

func drugCorpus(t *testing.T) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "adapalene", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "1"},
		{ID: 2, Name: "adapalene 0.001 MG/MG Topical Gel", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "2"},
		{ID: 3, Name: "adapalene Topical Gel", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug Form", Standard: "S", Code: "3"},
		{ID: 4, Name: "dorzolamide", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "4"},
		{ID: 5, Name: "dorzolamide 20 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "5"},
		{ID: 6, Name: "dorzolamide 10 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "6"},
		{ID: 7, Name: "imiquimod 0.05 MG/MG Topical Cream", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "7"},
		{ID: 8, Name: "imiquimod", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "8"},
		{ID: 9, Name: "percent", Domain: "Unit", Vocabulary: "UCUM", Class: "Unit", Standard: "S", Code: "%"},
		{ID: 10, Name: "CD4 cells/100 cells in Blood", Domain: "Measurement", Vocabulary: "LOINC", Class: "Lab Test", Standard: "S", Code: "8123-2"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// TestDrugGranularity: the term's strength and dose form choose the
// RxNorm class — ingredient alone, + form, + strength and form.
func TestDrugGranularity(t *testing.T) {
	e := NewEngine(drugCorpus(t), Options{})
	for text, want := range map[string]int32{
		"adapalene":                       1,
		"adapalene topical gel":           3,
		"adapalene; 1mg; Cutaneous route": 2, // a strength RxNorm writes otherwise: still a clinical drug
		"adapalene 0.1% gel":              2,
	} {
		if _, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %d, want %d", text, got, want)
		}
	}
}

// TestPercentStrengths: a percentage meets RxNorm's weight per volume
// (2% = 20 MG/ML) and weight per weight (5% = 0.05 MG/MG).
func TestPercentStrengths(t *testing.T) {
	e := NewEngine(drugCorpus(t), Options{})
	for text, want := range map[string]int32{
		"dorzolamide 2% eye drops":       5,
		"dorzolamide; 1%; Ocular":        6,
		"imiquimod; 5%; Cutaneous route": 7,
	} {
		res, got := top(t, e, Query{Text: text})
		if got != want || res.Kind != TermDrug {
			t.Errorf("%q: top %d kind %q, want %d, a drug", text, got, res.Kind, want)
		}
	}
	if got := e.Classify("dorzolamide; 2%; Ocular"); got != TermDrug {
		t.Errorf("Classify(dorzolamide; 2%%; Ocular) = %q, want a drug", got)
	}
	if got := e.Classify("CD4 %"); got == TermDrug {
		t.Error(`"CD4 %" read as a drug: its number belongs to a word`)
	}
}

// TestFormularyLabels: a term's route rules out products that go
// elsewhere; a cream's mass strength is per gram (1 mg = 0.001 MG/MG); an
// amount in a volume is a concentration ("40 mg/4 mL" = 10 MG/ML); "inj"
// is a route; and the drug-name abbreviations of US formularies ("KCl",
// "NS") are spelled out.
func TestFormularyLabels(t *testing.T) {
	e := NewEngine(withOtherProducts(t,
		Concept{ID: 11, Name: "furosemide 40 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "11"},
		Concept{ID: 12, Name: "furosemide 10 MG/ML Injectable Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "12"},
		Concept{ID: 13, Name: "potassium chloride 20 MEQ Extended Release Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "13"},
		Concept{ID: 14, Name: "citalopram 20 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "14"},
		Concept{ID: 15, Name: "sodium chloride 9 MG/ML Injectable Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "15"},
		Concept{ID: 16, Name: "heparin 1000 UNT/ML Injectable Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "16"},
		Concept{ID: 17, Name: "furosemide 40 MG/ML Injectable Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "17"},
		Concept{ID: 18, Name: "tacrolimus 1 MG Oral Capsule", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "18"},
		Concept{ID: 19, Name: "tacrolimus 0.001 MG/MG Topical Ointment", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "19"},
	), Options{})
	for text, want := range map[string]int32{
		"tacrolimus; 1mg; Cutaneous route": 19,
		"tacrolimus 1 mg/g ointment":       19,
		"tacrolimus 1 mg capsule":          18,
		"Furosemide 40mg/4mL inj":          12,
		"Furosemide 40 mg tab":             11,
		"KCl 20 mEq ER tab":                13,
		"NS 1000 mL IV":                    15,
	} {
		if _, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %d, want %d", text, got, want)
		}
	}
}

// withOtherProducts is a corpus of the given concepts among 600 other
// products, so that an ingredient is as rare as in a real vocabulary
// (retrieval lets words in over 1% of texts only add to what rarer words
// found).
func withOtherProducts(t *testing.T, concepts ...Concept) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for i := range 600 {
		name := string(rune('a'+i%26)) + string(rune('a'+i/26)) + "zine"
		concepts = append(concepts, Concept{ID: int32(1000 + i), Name: name + " 10 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: name})
	}
	for _, c := range concepts {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// brandCorpus is a slice of RxNorm as Athena exports it: a Brand Name
// linked to branded drugs, which are tradenames of clinical drugs, which
// consist of components that have ingredients.
func brandCorpus(t *testing.T, reverse bool) *Corpus {
	t.Helper()
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "atorvastatin", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "83367"},
		{ID: 2, Name: "Lipitor", Domain: "Drug", Vocabulary: "RxNorm", Class: "Brand Name", Code: "153165"},
		{ID: 3, Name: "atorvastatin 20 MG", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug Comp", Standard: "S", Code: "329299"},
		{ID: 4, Name: "atorvastatin 20 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "617310"},
		{ID: 5, Name: "atorvastatin 40 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "617311"},
		{ID: 6, Name: "atorvastatin 40 MG Oral Tablet [Lipitor]", Domain: "Drug", Vocabulary: "RxNorm", Class: "Branded Drug", Standard: "S", Code: "617314"},
		{ID: 7, Name: "rosuvastatin 20 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "859751"},
		{ID: 8, Name: "latanoprost", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "43611"},
		{ID: 9, Name: "Xalatan", Domain: "Drug", Vocabulary: "RxNorm", Class: "Brand Name", Code: "203164"},
		{ID: 30, Name: "latanoprost 0.05 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "314072"},
		{ID: 11, Name: "Travatan", Domain: "Drug", Vocabulary: "RxNorm", Class: "Brand Name", Code: "1"},
		{ID: 12, Name: "Focus", Domain: "Drug", Vocabulary: "RxNorm", Class: "Brand Name", Code: "2"},
		{ID: 13, Name: "Focal epilepsy", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "3"},
		{ID: 14, Name: "Focus of infection", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "4"},
		{ID: 15, Name: "acetaminophen", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "161"},
		{ID: 16, Name: "acetaminophen 325 MG Oral Tablet [Tylenol]", Domain: "Drug", Vocabulary: "RxNorm", Class: "Branded Drug", Standard: "S", Code: "209387"},
		{ID: 31, Name: "acetaminophen 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "198440"},
		// Same strength and form, other ingredients (and lower ids, which
		// win ties): only the brand's ingredient tells them apart.
		{ID: 18, Name: "ibuprofen 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "5"},
		{ID: 19, Name: "timolol 0.05 MG/ML Ophthalmic Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "6"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	// Padding so that word frequencies are those of a vocabulary, where
	// a brand or an ingredient is a rare word (see BM25Index.search).
	for i := int32(0); i < 300; i++ {
		if err := b.AddConcept(Concept{ID: 1000 + i, Name: "Unrelated finding " + strconv.Itoa(int(i)), Domain: "Observation", Vocabulary: "SNOMED", Class: "Observable Entity", Standard: "S", Code: strconv.Itoa(int(1000 + i))}); err != nil {
			t.Fatal(err)
		}
	}
	rels := []struct {
		a, b     int32
		fwd, rev string
	}{
		{6, 2, "Has brand name", "Brand name of"},
		{6, 5, "Tradename of", "Has tradename"},
		{5, 3, "Consists of", "Constitutes"}, // not quite RxNorm (40 vs 20 mg), enough for the path
		{4, 3, "Consists of", "Constitutes"},
		{3, 1, "RxNorm has ing", "RxNorm ing of"},
		{9, 8, "Tradename of", "Has tradename"},
		{12, 1, "Tradename of", "Has tradename"},
	}
	for _, r := range rels {
		b.AddRelationship(r.a, r.b, r.fwd, "")
		if reverse {
			b.AddRelationship(r.b, r.a, r.rev, "")
		}
	}
	b.AddRelationship(11, 8, "Tradename of", "D") // invalid: ignored
	return b.Build()
}

// TestCorpusKeepsDrugStructure: the drug relationships survive Build in
// either direction (one link per pair) and lead from any drug to its
// ingredients.
func TestCorpusKeepsDrugStructure(t *testing.T) {
	one, both := brandCorpus(t, false), brandCorpus(t, true)
	if one.Fingerprint != both.Fingerprint || len(one.drugLinks) != 7 || len(both.drugLinks) != 7 {
		t.Fatalf("links %d / %d, fingerprints %s / %s", len(one.drugLinks), len(both.drugLinks), one.Fingerprint, both.Fingerprint)
	}
	for id, want := range map[int32]int32{6: 1, 4: 1, 3: 1, 1: 1, 9: 8, 2: 0, 11: 0} {
		got := both.Ingredients(id)
		switch {
		case want == 0 && len(got) != 0:
			t.Errorf("Ingredients(%d) = %v, want none", id, got)
		case want != 0 && (len(got) != 1 || got[0].ID != want):
			t.Errorf("Ingredients(%d) = %v, want %d", id, got, want)
		}
	}
	plain := NewCorpusBuilder()
	for _, c := range one.Concepts {
		c.Synonyms = nil
		plain.AddConcept(c)
	}
	if plain.Build().Fingerprint == one.Fingerprint {
		t.Error("the drug links do not reach the fingerprint: an index would survive a change of them")
	}
}

// TestBrandNames: a brand in a drug term finds its ingredient's drugs —
// the branded drug when the vocabulary has it at that strength, else the
// clinical drug, never another ingredient's — and a brand that is also an
// ordinary word does not turn a phrase into a drug.
func TestBrandNames(t *testing.T) {
	e := NewEngine(brandCorpus(t, true), Options{})
	for text, want := range map[string]int32{
		"Lipitor 40mg tab":         6,  // the branded drug
		"Xalatan 0.005% Opht Soln": 30, // brand, percent and abbreviations together
		"Tylenol 500 mg tablet":    31, // a brand read from a branded drug's name
		"Focus of infection":       14,
	} {
		res, got := top(t, e, Query{Text: text})
		if got != want {
			t.Errorf("%q: top %d (%s), want %d", text, got, res.Candidates[0].Concept.Name, want)
		}
	}
	// No branded 20 mg: an atorvastatin drug, never rosuvastatin 20 mg
	// however well its strength and form match.
	if res, got := top(t, e, Query{Text: "Lipitor 20 mg tab"}); got != 4 && got != 6 {
		t.Errorf("Lipitor 20 mg tab: top %s, want atorvastatin", res.Candidates[0].Concept.Name)
	}
	for text, want := range map[string]bool{"Xalatan": true, "Lipitor 20": true, "Focus of infection": false} {
		if got := e.Classify(text) == TermDrug; got != want {
			t.Errorf("Classify(%q) = %q, a drug: %v", text, e.Classify(text), want)
		}
	}
}

// TestFormularyDoseForms: EDQM-style dose forms meet RxNorm's, and the
// added dose-form words never stand in for the ingredient.
func TestFormularyDoseForms(t *testing.T) {
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "sildenafil 50 MG Disintegrating Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "1"},
		{ID: 2, Name: "diclofenac sodium 50 MG Delayed Release Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "2"},
		{ID: 3, Name: "diclofenac sodium 50 MG Extended Release Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "3"},
		{ID: 4, Name: "Etanercept 25 MG Injectable Solution", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "4"},
		{ID: 5, Name: "Etanercept 25 MG Prefilled Syringe", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "5"},
		{ID: 6, Name: "fentanyl 0.025 MG/HR Transdermal System", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "6"},
		{ID: 7, Name: "fentanyl 0.025 MG/ACTUAT Nasal Spray", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "7"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	for i := int32(0); i < 300; i++ {
		b.AddConcept(Concept{ID: 1000 + i, Name: "Unrelated finding " + strconv.Itoa(int(i)), Domain: "Observation", Vocabulary: "SNOMED", Class: "Observable Entity", Standard: "S", Code: strconv.Itoa(int(1000 + i))})
	}
	e := NewEngine(b.Build(), Options{})
	for text, want := range map[string]int32{
		"diclofenac;50mg;;dispersible tablet":                                       2, // not sildenafil
		"diclofenac;50mg;;gastro-resistant tablet":                                  2,
		"diclofenac 50 mg prolonged-release tablet":                                 3,
		"etanercept;25mg;Subcutaneous;solution for injection in pre-filled syringe": 5,
		"fentanyl;25mcg/h;;transdermal patch":                                       6,
	} {
		if res, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %s, want %d", text, res.Candidates[0].Concept.Name, want)
		}
	}
}

func TestStripPackSize(t *testing.T) {
	for in, want := range map[string]string{
		"metformin 500 mg tab x 28":       "metformin 500 mg tab ",
		"metformin 500 mg 28 tablets":     "metformin 500 mg tablets",
		"Amoxil 250mg caps 21's":          "Amoxil 250mg caps ",
		"paracetamol 500 mg, pack of 100": "paracetamol 500 mg, ",
		"sodium chloride 0.9% 2 x 5 mL":   "sodium chloride 0.9% 2 x 5 mL",
		"Tylenol 2 tablets":               "Tylenol 2 tablets",
		"heparin 5000 units/mL 10 vials":  "heparin 5000 units/mL vials",
	} {
		if got := stripPackSize(in); got != want {
			t.Errorf("stripPackSize(%q) = %q, want %q", in, got, want)
		}
	}
	// In a search: the pack size does not count against the strength.
	e := NewEngine(drugCorpus(t), Options{})
	if _, got := top(t, e, Query{Text: "adapalene 0.1% gel 30 g x 2"}); got != 2 {
		t.Errorf("adapalene 0.1%% gel 30 g x 2: top %d, want 2", got)
	}
}

func TestIngredientsInName(t *testing.T) {
	for name, want := range map[string][]string{
		"acetaminophen 325 MG Oral Tablet [Tylenol]":                                                     {"acetaminophen"},
		"amlodipine 5 MG / benazepril hydrochloride 10 MG Oral Capsule [Lotrel]":                         {"amlodipine", "benazepril hydrochloride"},
		"1 ML epoetin alfa 4000 UNT/ML Injection [Epogen]":                                               {"epoetin alfa"},
		"Abuse-Deterrent 12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet [Oxycontin]":   {"oxycodone hydrochloride"},
		"{7 (ethinyl estradiol 0.01 MG Oral Tablet) / 84 (ethinyl estradiol 0.03 MG Oral Tablet) } Pack": nil,
	} {
		if got := ingredientsInName(name); !slices.Equal(got, want) {
			t.Errorf("ingredientsInName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestFrequencyAbbreviations: hospital frequency codes meet SNOMED's
// qualifier values.
func TestFrequencyAbbreviations(t *testing.T) {
	b := NewCorpusBuilder()
	for i, name := range []string{"Once a day", "Twice a day", "Three times a day", "Four times a day", "As required", "At night", "In the morning"} {
		b.AddConcept(Concept{ID: int32(i + 1), Name: name, Domain: "Observation", Vocabulary: "SNOMED", Class: "Qualifier Value", Standard: "S", Code: strconv.Itoa(i + 1)})
	}
	for i := int32(0); i < 300; i++ {
		b.AddConcept(Concept{ID: 1000 + i, Name: "Unrelated finding " + strconv.Itoa(int(i)), Domain: "Observation", Vocabulary: "SNOMED", Class: "Observable Entity", Standard: "S", Code: strconv.Itoa(int(1000 + i))})
	}
	e := NewEngine(b.Build(), Options{})
	for text, want := range map[string]int32{"BID": 2, "tid": 3, "QDS": 4, "prn": 5, "nocte": 6, "mane": 7} {
		if res, got := top(t, e, Query{Text: text}); got != want {
			t.Errorf("%q: top %s, want %d", text, res.Candidates[0].Concept.Name, want)
		}
	}
}

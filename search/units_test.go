package search

import "testing"

func TestParseUnitSameMeaning(t *testing.T) {
	// Each pair is two spellings of one unit: hospital spelling, UCUM code.
	same := [][2]string{
		{"mcmol/L", "umol/L"}, {"litres per minute", "L/min"}, {"MG/DL", "mg/dL"},
		{"mm(Hg)", "mm[Hg]"}, {"mm Hg", "mm[Hg]"}, {"uU/mL", "10*-6.[U]/mL"},
		{"ku/L", "10*3.[U]/L"}, {"degrees celsius", "Cel"}, {"deg C", "Cel"},
		{"/mm*3", "/mm3"}, {"1/min", "/min"}, {"per cent", "%"}, {"in2", "[sin_i]"},
		{"CC", "cm3"}, {"K/uL", "10*3/uL"}, {"meq/kg", "10*-3.eq/kg"}, {"mg/gm Cr", "mg/g{creat}"},
		{"L/(24.h)", "L/(24.h)"}, {"nmol/h/mg", "nmol/(h.mg)"}, {"lbs", "[lb_us]"},
	}
	for _, p := range same {
		var keys [2]string
		for i, s := range p {
			var ok bool
			var u unitExpr
			for _, fold := range []bool{false, true} {
				if u, ok = parseUnit(normaliseUnitText(s), fold); ok {
					break
				}
			}
			if !ok {
				t.Fatalf("%q: not parsed as a unit", s)
			}
			keys[i] = u.key()
		}
		if keys[0] != keys[1] {
			t.Errorf("%q (%s) and %q (%s) should be one unit", p[0], keys[0], p[1], keys[1])
		}
	}
	differ := [][2]string{{"mg/dL", "mg/L"}, {"mU/L", "U/L"}, {"mg/g{creat}", "mg/g"}, {"a", "A"}}
	for _, p := range differ {
		a, _ := parseUnit(p[0], false)
		b, _ := parseUnit(p[1], false)
		if a.key() == b.key() {
			t.Errorf("%q and %q should differ", p[0], p[1])
		}
	}
	// Lab and drug names are not units.
	for _, s := range []string{"Sodium", "K", "Glucose SerPl Qn", "metformin 500 mg tab", "CRP", "12", "", "Haemoglobin", "creatinine"} {
		if u, ok := parseUnit(normaliseUnitText(s), true); ok {
			t.Errorf("%q parsed as unit %s", s, u.key())
		}
	}
}

func TestUnitIndexPrefersSpelling(t *testing.T) {
	b := NewCorpusBuilder()
	for _, c := range []Concept{
		{ID: 1, Name: "milliunit per liter", Vocabulary: "UCUM", Standard: "S", Code: "m[U]/L"},
		{ID: 2, Name: "microunit per milliliter", Vocabulary: "UCUM", Standard: "S", Code: "10*-6.[U]/mL"},
		{ID: 3, Name: "Sodium", Vocabulary: "LOINC", Standard: "S", Code: "2951-2"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	c := b.Build()
	ix := newUnitIndex(c)
	for q, want := range map[string]int32{"uU/mL": 2, "mcU/mL": 2, "mU/L": 1, "munit/L": 1} {
		m, _ := ix.match(c, q, nil)
		if len(m) == 0 || c.Concepts[m[0].ordinal].ID != want {
			t.Errorf("%q: got %v, want concept %d first", q, m, want)
		}
	}
	if m, _ := ix.match(c, "Sodium", nil); m != nil {
		t.Errorf("Sodium matched units %v", m)
	}
}

package schemamap

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// hospitalColumns are column names as they appear in hospital extracts
// (MIMIC-style admissions, EHR demographics, lab and pharmacy feeds) with
// the CDM target an ETL developer would pick.
var hospitalColumns = []struct {
	col        Column
	table, cdm string
}{
	{Column{"patients", "patient_id", []string{"1001", "1002"}}, "person", "person_id"},
	{Column{"patients", "MRN", []string{"A00123", "A00456"}}, "person", "person_source_value"},
	{Column{"patients", "dob", []string{"1956-03-02", "1990-11-23"}}, "person", "birth_datetime"},
	{Column{"demographics", "DateOfBirth", []string{"02/03/1956"}}, "person", "birth_datetime"},
	{Column{"patients", "sex", []string{"M", "F", "M"}}, "person", "gender_concept_id"},
	{Column{"", "Gender", []string{"Female", "Male"}}, "person", "gender_concept_id"},
	{Column{"patients", "race", []string{"White", "Black or African American"}}, "person", "race_concept_id"},
	{Column{"patients", "zip_code", []string{"02139", "10001"}}, "location", "zip"},
	{Column{"patients", "date_of_death", []string{"2020-01-05"}}, "death", "death_date"},
	{Column{"patients", "yob", []string{"1956", "1990"}}, "person", "year_of_birth"},
	{Column{"admissions", "hadm_id", []string{"200001", "200002"}}, "visit_occurrence", "visit_occurrence_id"},
	{Column{"admissions", "admittime", []string{"2020-01-01 10:22:00"}}, "visit_occurrence", "visit_start_datetime"},
	{Column{"admissions", "dischtime", []string{"2020-01-05 12:00:00"}}, "visit_occurrence", "visit_end_datetime"},
	{Column{"encounters", "encounter_start_date", []string{"2021-06-01"}}, "visit_occurrence", "visit_start_date"},
	{Column{"diagnoses", "icd10_code", []string{"E11.9", "I10"}}, "condition_occurrence", "condition_concept_id"},
	{Column{"problem_list", "onset_date", []string{"2019-04-01"}}, "condition_occurrence", "condition_start_date"},
	{Column{"lab_results", "loinc_code", []string{"2345-7", "2823-3"}}, "measurement", "measurement_concept_id"},
	{Column{"lab_results", "result_value", []string{"5.4", "140", "0.9"}}, "measurement", "value_as_number"},
	{Column{"lab_results", "units", []string{"mmol/L", "mg/dL"}}, "measurement", "unit_concept_id"},
	{Column{"vitals", "measurement_datetime", []string{"2020-01-02T08:00:00Z"}}, "measurement", "measurement_datetime"},
	{Column{"medications", "ndc", []string{"00093-7146-56"}}, "drug_exposure", "drug_concept_id"},
	{Column{"medications", "drug_name", []string{"Metformin 500 mg tablet"}}, "drug_exposure", "drug_source_value"},
	{Column{"prescriptions", "start_date", []string{"2020-01-03"}}, "drug_exposure", "drug_exposure_start_date"},
	{Column{"prescriptions", "qty", []string{"30", "60"}}, "drug_exposure", "quantity"},
	{Column{"prescriptions", "route", []string{"PO", "IV"}}, "drug_exposure", "route_concept_id"},
	{Column{"procedures", "cpt_code", []string{"99213", "36415"}}, "procedure_occurrence", "procedure_concept_id"},
	{Column{"procedures", "procedure_date", []string{"2020-02-11"}}, "procedure_occurrence", "procedure_date"},
	{Column{"", "attending_npi", []string{"1234567893"}}, "provider", "npi"},
	{Column{"encounters", "provider_id", []string{"77"}}, "visit_occurrence", "provider_id"},
}

func TestSuggestHospitalColumns(t *testing.T) {
	m, err := LoadCDM54()
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(hospitalColumns))
	for i, h := range hospitalColumns {
		cols[i] = h.col
	}
	res, err := m.Suggest(cols, ModelCDM54)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for i, h := range hospitalColumns {
		r := res[i]
		if r.Source.Column != h.col.Column {
			t.Fatalf("result %d is for %q, want %q (input order)", i, r.Source.Column, h.col.Column)
		}
		if len(r.Suggestions) == 0 {
			t.Errorf("%s.%s: no suggestion", h.col.Table, h.col.Column)
			continue
		}
		top := r.Suggestions[0]
		if top.Table == h.table && top.Column == h.cdm {
			hits++
		} else {
			t.Errorf("%s.%s: top %s.%s (%.2f), want %s.%s; all %v", h.col.Table, h.col.Column, top.Table, top.Column, top.Confidence, h.table, h.cdm, r.Suggestions)
		}
		if len(top.Reasons) == 0 {
			t.Errorf("%s: no reasons", h.col.Column)
		}
	}
	t.Logf("top-1 %d/%d", hits, len(hospitalColumns))
}

func TestSuggestConfidence(t *testing.T) {
	m, _ := LoadCDM54()
	res, err := m.Suggest([]Column{
		{Column: "dob", SampleValues: []string{"1956-03-02"}},
		{Column: "sex", SampleValues: []string{"M", "F"}},
		{Column: "dob", SampleValues: []string{"hello there", "general kenobi"}}, // a "dob" of free text
		{Column: "qwzx"},
		{Column: "patient_id"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The SDK auto-accepts at 0.95: the two unambiguous ones pass.
	for _, i := range []int{0, 1} {
		if c := res[i].Suggestions[0].Confidence; c < 0.95 {
			t.Errorf("%s: confidence %.2f, want ≥ 0.95", res[i].Source.Column, c)
		}
	}
	if s := res[2].Suggestions; len(s) > 0 && s[0].Confidence >= 0.7 {
		t.Errorf("dob with text samples still %.2f", s[0].Confidence)
	}
	if len(res[3].Suggestions) != 0 {
		t.Errorf("nonsense column got %v", res[3].Suggestions)
	}
	// Without context person.person_id leads (CDM order breaks the tie
	// among the many person_id columns) but is not auto-accepted.
	if s := res[4].Suggestions; s[0].Table != "person" || s[0].Column != "person_id" || s[0].Confidence >= 0.95 {
		t.Errorf("patient_id without context: %v", s)
	}
	for _, r := range res {
		if len(r.Suggestions) > MaxSuggestions {
			t.Errorf("%s: %d suggestions", r.Source.Column, len(r.Suggestions))
		}
		if !sort.SliceIsSorted(r.Suggestions, func(i, j int) bool { return r.Suggestions[i].Confidence > r.Suggestions[j].Confidence }) {
			t.Errorf("%s: not ranked: %v", r.Source.Column, r.Suggestions)
		}
		for _, s := range r.Suggestions {
			if s.Confidence < MinConfidence || s.Confidence > 1 {
				t.Errorf("%s: confidence %v", r.Source.Column, s.Confidence)
			}
			if _, ok := m.Field(s.Table, s.Column); !ok {
				t.Errorf("%s: suggested %s.%s is not a CDM field", r.Source.Column, s.Table, s.Column)
			}
			if !populatedTables[s.Table] {
				t.Errorf("%s: suggested a %s field", r.Source.Column, s.Table)
			}
		}
	}
}

func TestSuggestTableContextAndSamples(t *testing.T) {
	m, _ := LoadCDM54()
	top := func(c Column) string {
		res, _ := m.Suggest([]Column{c}, "")
		if len(res[0].Suggestions) == 0 {
			return ""
		}
		return res[0].Suggestions[0].Table + "." + res[0].Suggestions[0].Column
	}
	// The same column name lands in the table its source table names.
	for table, want := range map[string]string{
		"admissions":  "visit_occurrence.visit_start_date",
		"diagnoses":   "condition_occurrence.condition_start_date",
		"medications": "drug_exposure.drug_exposure_start_date",
	} {
		if got := top(Column{Table: table, Column: "start_date", SampleValues: []string{"2020-01-01"}}); got != want {
			t.Errorf("%s.start_date → %s, want %s", table, got, want)
		}
	}
	// Date-times prefer the _datetime twin, dates the _date one.
	if got := top(Column{Table: "admissions", Column: "admit_date", SampleValues: []string{"2020-01-01 10:00:00"}}); got != "visit_occurrence.visit_start_datetime" {
		t.Errorf("admit_date with times → %s", got)
	}
	if got := top(Column{Table: "admissions", Column: "admit_date", SampleValues: []string{"2020-01-01"}}); got != "visit_occurrence.visit_start_date" {
		t.Errorf("admit_date with dates → %s", got)
	}
}

func TestSampleKind(t *testing.T) {
	for _, tc := range []struct {
		samples []string
		want    valueKind
	}{
		{[]string{"2020-01-01", "1999-12-31", ""}, kindDate},
		{[]string{"20200101"}, kindDate},
		{[]string{"2020-01-01 10:00:00", "2020-01-02T08:00:00Z"}, kindDateTime},
		{[]string{"2020-01-01", "2020-01-01 10:00"}, kindDateTime},
		{[]string{"12", "7"}, kindInteger},
		{[]string{"5.4", "140"}, kindDecimal},
		{[]string{"E11.9", "I10", "2345-7"}, kindCode},
		{[]string{"M", "F"}, kindCode},
		{[]string{"Metformin 500 mg tablet", "aspirin"}, kindText},
		{nil, kindUnknown},
	} {
		if got := sampleKind(tc.samples); got != tc.want {
			t.Errorf("sampleKind(%q) = %q, want %q", tc.samples, got, tc.want)
		}
	}
}

func TestSuggestUnsupportedModel(t *testing.T) {
	m, _ := LoadCDM54()
	for _, model := range []string{"fhir_r4", "omop_cdm_v5.3"} {
		if _, err := m.Suggest([]Column{{Column: "dob"}}, model); !errors.Is(err, ErrUnsupportedModel) || !strings.Contains(err.Error(), model) {
			t.Errorf("%s: %v", model, err)
		}
	}
}

package schemamap

import "testing"

// syntheaColumns are the column headers of Synthea's CSV export
// (patients.csv, encounters.csv, conditions.csv, medications.csv,
// observations.csv) with sample values in Synthea's formats. They were
// written down after the rules, as a check the rules were not tuned on;
// the test asserts a floor, not every row.
var syntheaColumns = []struct {
	col        Column
	table, cdm string
}{
	{Column{"patients", "BIRTHDATE", []string{"1961-06-02", "2008-10-19"}}, "person", "birth_datetime"},
	{Column{"patients", "DEATHDATE", []string{"2017-03-01"}}, "death", "death_date"},
	{Column{"patients", "RACE", []string{"white", "black", "asian"}}, "person", "race_concept_id"},
	{Column{"patients", "ETHNICITY", []string{"nonhispanic", "hispanic"}}, "person", "ethnicity_concept_id"},
	{Column{"patients", "GENDER", []string{"M", "F"}}, "person", "gender_concept_id"},
	{Column{"patients", "ZIP", []string{"01840", "02139"}}, "location", "zip"},
	{Column{"patients", "CITY", []string{"Boston", "Lawrence"}}, "location", "city"},
	{Column{"patients", "COUNTY", []string{"Essex County"}}, "location", "county"},
	{Column{"encounters", "START", []string{"2019-02-17T05:07:38Z"}}, "visit_occurrence", "visit_start_datetime"},
	{Column{"encounters", "STOP", []string{"2019-02-17T05:22:38Z"}}, "visit_occurrence", "visit_end_datetime"},
	{Column{"encounters", "PROVIDER", []string{"77"}}, "visit_occurrence", "provider_id"},
	{Column{"conditions", "START", []string{"2019-02-17"}}, "condition_occurrence", "condition_start_date"},
	{Column{"conditions", "STOP", []string{"2019-03-01"}}, "condition_occurrence", "condition_end_date"},
	{Column{"conditions", "CODE", []string{"44054006", "195662009"}}, "condition_occurrence", "condition_concept_id"},
	{Column{"conditions", "ENCOUNTER", []string{"5"}}, "condition_occurrence", "visit_occurrence_id"},
	{Column{"medications", "START", []string{"2019-02-17T05:07:38Z"}}, "drug_exposure", "drug_exposure_start_datetime"},
	{Column{"medications", "CODE", []string{"834061", "313782"}}, "drug_exposure", "drug_concept_id"},
	{Column{"observations", "CODE", []string{"8302-2", "29463-7"}}, "measurement", "measurement_concept_id"},
	{Column{"observations", "VALUE", []string{"172.3", "80.1"}}, "measurement", "value_as_number"},
	{Column{"observations", "UNITS", []string{"cm", "kg"}}, "measurement", "unit_concept_id"},
}

func TestSuggestSyntheaHeldOut(t *testing.T) {
	m, _ := LoadCDM54()
	cols := make([]Column, len(syntheaColumns))
	for i, s := range syntheaColumns {
		cols[i] = s.col
	}
	res, err := m.Suggest(cols, "")
	if err != nil {
		t.Fatal(err)
	}
	top1, top3 := 0, 0
	for i, s := range syntheaColumns {
		if got := res[i].Suggestions; len(got) == 0 || got[0].Table != s.table || got[0].Column != s.cdm {
			t.Logf("top-1 miss: %s.%s (want %s.%s)", s.col.Table, s.col.Column, s.table, s.cdm)
		}
		for rank, sug := range res[i].Suggestions {
			if sug.Table == s.table && sug.Column == s.cdm {
				if rank == 0 {
					top1++
				}
				if rank < 3 {
					top3++
				}
				break
			}
			if rank == 2 {
				t.Logf("miss: %s.%s → %v", s.col.Table, s.col.Column, res[i].Suggestions[:3])
			}
		}
	}
	n := len(syntheaColumns)
	t.Logf("Synthea headers: top-1 %d/%d, top-3 %d/%d", top1, n, top3, n)
	if float64(top1) < 0.7*float64(n) || float64(top3) < 0.85*float64(n) {
		t.Fatalf("top-1 %d/%d, top-3 %d/%d below the floor (70%% / 85%%)", top1, n, top3, n)
	}
}

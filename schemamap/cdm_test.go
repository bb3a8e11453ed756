package schemamap

import "testing"

func TestLoadCDM54(t *testing.T) {
	m, err := LoadCDM54()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tb := range m.Tables() {
		n += len(tb.Fields)
	}
	// The v5.4 field list has 432 fields in 39 tables.
	if len(m.Tables()) != 39 || n != 432 {
		t.Fatalf("%d tables, %d fields; want 39, 432", len(m.Tables()), n)
	}
	f, ok := m.Field("person", "gender_concept_id")
	if !ok || !f.Required || f.Datatype != "integer" || f.ForeignTable != "CONCEPT" || f.FKDomain != "Gender" {
		t.Fatalf("person.gender_concept_id = %+v", f)
	}
	stcm, _ := m.Table("source_to_concept_map")
	var cols []string
	for _, f := range stcm.Fields {
		cols = append(cols, f.Column)
	}
	want := []string{"source_code", "source_concept_id", "source_vocabulary_id", "source_code_description",
		"target_concept_id", "target_vocabulary_id", "valid_start_date", "valid_end_date", "invalid_reason"}
	if len(cols) != len(want) {
		t.Fatalf("source_to_concept_map columns %v", cols)
	}
	for i := range want {
		if cols[i] != want[i] {
			t.Fatalf("source_to_concept_map columns %v", cols)
		}
	}
	if p, _ := m.Table("person"); p.Description == "" {
		t.Fatal("person has no description")
	}
}

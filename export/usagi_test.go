package export

import (
	"bufio"
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The enums of OHDSI Usagi (CodeMapping.MappingStatus, CodeMapping.Equivalence,
// MappingTarget.Type); Usagi's reader calls valueOf on these columns.
var (
	usagiStatuses     = []string{"APPROVED", "UNCHECKED", "AUTO_MAPPED", "AUTO_MAPPED_TO_1", "INVALID_TARGET", "FLAGGED", "IGNORED"}
	usagiEquivalences = []string{"EQUAL", "EQUIVALENT", "WIDER", "NARROWER", "INEXACT", "UNMATCHED", "UNREVIEWED"}
	usagiTypes        = []string{"MAPS_TO", "MAPS_TO_VALUE", "MAPS_TO_UNIT", "MAPS_TO_OPERATOR", "MAPS_TO_TYPE", "MAPS_TO_NUMBER"}
)

// usagiSplit is a port of Usagi's reader (ReadCSVFile.line2columns with
// StringUtilities.safeSplit): one physical line is one record.
func usagiSplit(line string) []string {
	var cols []string
	literal, escape := false, false
	start := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '"' && !escape {
			literal = !literal
		}
		if !literal && c == ',' && !escape {
			cols = append(cols, line[start:i])
			start = i + 1
		}
		if c == '\\' {
			escape = !escape
		} else {
			escape = false
		}
	}
	cols = append(cols, line[start:])
	for i, c := range cols {
		if strings.HasPrefix(c, `"`) && strings.HasSuffix(c, `"`) && len(c) > 1 {
			c = c[1 : len(c)-1]
		}
		c = strings.ReplaceAll(c, `""`, `"`)
		c = strings.ReplaceAll(c, `\"`, `"`)
		c = strings.ReplaceAll(c, `\\`, `\`)
		cols[i] = c
	}
	return cols
}

func usagiRows(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(b))
	var header []string
	var rows []map[string]string
	for sc.Scan() {
		cols := usagiSplit(sc.Text())
		if header == nil {
			header = cols
			continue
		}
		if len(cols) != len(header) {
			t.Fatalf("line %q has %d fields, header %d", sc.Text(), len(cols), len(header))
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cols[i]
		}
		rows = append(rows, row)
	}
	if !reflect.DeepEqual(header, UsagiColumns) {
		t.Fatalf("header %v", header)
	}
	return rows
}

func TestUsagi(t *testing.T) {
	// Usagi's own export writes these columns (WriteCodeMappingsToFile,
	// SourceCode.toRow), and its reader needs at least the ones below.
	want := []string{"sourceCode", "sourceName", "sourceFrequency", "sourceAutoAssignedConceptIds", "matchScore",
		"mappingStatus", "equivalence", "statusSetBy", "statusSetOn", "conceptId", "conceptName", "domainId",
		"mappingType", "comment", "createdBy", "createdOn", "assignedReviewer"}
	if !reflect.DeepEqual(UsagiColumns, want) {
		t.Fatalf("UsagiColumns %v", UsagiColumns)
	}
	var buf bytes.Buffer
	writeAll(t, NewUsagi(&buf), sample())
	rows := usagiRows(t, buf.Bytes())
	if len(rows) != len(sample()) {
		t.Fatalf("%d rows, want every decision (%d)", len(rows), len(sample()))
	}
	for _, r := range rows {
		if !contains(usagiStatuses, r["mappingStatus"]) || !contains(usagiEquivalences, r["equivalence"]) || !contains(usagiTypes, r["mappingType"]) {
			t.Errorf("%s: status %q equivalence %q type %q not Usagi's", r["sourceCode"], r["mappingStatus"], r["equivalence"], r["mappingType"])
		}
	}
	type got struct{ code, status, equivalence, concept, by, on, score string }
	var g []got
	for _, r := range rows {
		g = append(g, got{r["sourceCode"], r["mappingStatus"], r["equivalence"], r["conceptId"], r["statusSetBy"], r["statusSetOn"], r["matchScore"]})
	}
	ms := "1796047500000" // 2026-11-30T14:05:00Z in Unix milliseconds
	wantRows := []got{
		{"E11.9", "APPROVED", "EQUIVALENT", "201826", "ana@example.org", ms, "0.97"},
		{"K+ (ER-IS)", "APPROVED", "WIDER", "3023103", "Zoë Müller", ms, "0.64"},
		{"K+ (ER-IS)", "APPROVED", "NARROWER", "8753", "Zoë Müller", ms, "0.64"},
		{"Z87.891", "FLAGGED", "UNMATCHED", "0", "ana@example.org", ms, "0.55"},
		{"R51", "UNCHECKED", "UNREVIEWED", "378253", "", "0", "0.81"},
		{"X99", "UNCHECKED", "UNREVIEWED", "0", "", "0", "0.00"},
		{"PARA500", "APPROVED", "INEXACT", "19020053", "ana@example.org", ms, "0.90"},
	}
	if !reflect.DeepEqual(g, wantRows) {
		t.Fatalf("rows\n%v\nwant\n%v", g, wantRows)
	}
	// What Usagi itself would read back: the quote and comma survive, the
	// tab is kept, the line break is Usagi's literal \n, and the backslash
	// round-trips.
	if rows[0]["sourceName"] != `Type 2 diabetes, "no complications"` ||
		rows[1]["sourceName"] != `Potassium,`+"\t"+`serum\nemergency lab` ||
		rows[1]["comment"] != `local test, \ generic LOINC` ||
		rows[4]["sourceName"] != "頭痛 (headache)" || rows[0]["sourceFrequency"] != "120" {
		t.Fatalf("values changed: %q %q %q %q", rows[0]["sourceName"], rows[1]["sourceName"], rows[1]["comment"], rows[4]["sourceName"])
	}
	if rows[1]["createdBy"] != "Zoë Müller" || rows[0]["createdBy"] != "Portiere (hybrid)" {
		t.Fatalf("createdBy %q / %q", rows[1]["createdBy"], rows[0]["createdBy"])
	}
}

func TestUsagiEmpty(t *testing.T) {
	var buf bytes.Buffer
	writeAll(t, NewUsagi(&buf), nil)
	if rows := usagiRows(t, buf.Bytes()); len(rows) != 0 {
		t.Fatalf("rows %v", rows)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

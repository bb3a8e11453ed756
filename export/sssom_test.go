package export

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sssomSpec is what the tests take from the SSSOM LinkML schema
// (testdata/sssom_schema.yaml, mapping-commons/sssom).
type sssomSpec struct {
	mappingSlots, setSlots       map[string]bool
	requiredMapping, requiredSet []string
	justification                *regexp.Regexp
	modifiers, versions          map[string]bool
	multivalued                  map[string]bool
}

func loadSSSOMSpec(t *testing.T) sssomSpec {
	t.Helper()
	b, err := os.ReadFile("testdata/sssom_schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Slots map[string]struct {
			Required    bool   `yaml:"required"`
			Pattern     string `yaml:"pattern"`
			Multivalued bool   `yaml:"multivalued"`
		} `yaml:"slots"`
		Classes map[string]struct {
			Slots     []string `yaml:"slots"`
			SlotUsage map[string]struct {
				Required bool `yaml:"required"`
			} `yaml:"slot_usage"`
		} `yaml:"classes"`
		Enums map[string]struct {
			PermissibleValues map[string]any `yaml:"permissible_values"`
		} `yaml:"enums"`
	}
	if err := yaml.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	spec := sssomSpec{mappingSlots: map[string]bool{}, setSlots: map[string]bool{}, modifiers: map[string]bool{}, versions: map[string]bool{}, multivalued: map[string]bool{}}
	collect := func(class string, into map[string]bool) (required []string) {
		c, ok := schema.Classes[class]
		if !ok || len(c.Slots) == 0 {
			t.Fatalf("schema has no class %q", class)
		}
		for _, s := range c.Slots {
			into[s] = true
			if schema.Slots[s].Required || c.SlotUsage[s].Required {
				required = append(required, s)
			}
		}
		return required
	}
	spec.requiredMapping = collect("mapping", spec.mappingSlots)
	spec.requiredSet = collect("mapping set", spec.setSlots)
	spec.justification = regexp.MustCompile(schema.Slots["mapping_justification"].Pattern)
	for v := range schema.Enums["predicate_modifier_enum"].PermissibleValues {
		spec.modifiers[v] = true
	}
	for v := range schema.Enums["sssom_version_enum"].PermissibleValues {
		spec.versions[v] = true
	}
	for name, s := range schema.Slots {
		spec.multivalued[name] = s.Multivalued
	}
	return spec
}

type sssomDoc struct {
	meta   map[string]any
	header []string
	rows   []map[string]string
}

// parseSSSOM reads an SSSOM TSV: "#"-prefixed YAML, then a TSV table.
func parseSSSOM(t *testing.T, b []byte) sssomDoc {
	t.Helper()
	var doc sssomDoc
	var metaLines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if doc.header == nil && strings.HasPrefix(line, "#") {
			metaLines = append(metaLines, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
			continue
		}
		cells := strings.Split(line, "\t")
		if doc.header == nil {
			doc.header = cells
			continue
		}
		if len(cells) != len(doc.header) {
			t.Fatalf("row %q has %d cells, header %d", line, len(cells), len(doc.header))
		}
		row := map[string]string{}
		for i, h := range doc.header {
			row[h] = cells[i]
		}
		doc.rows = append(doc.rows, row)
	}
	if err := yaml.Unmarshal([]byte(strings.Join(metaLines, "\n")), &doc.meta); err != nil {
		t.Fatalf("metadata block is not YAML: %v\n%s", err, strings.Join(metaLines, "\n"))
	}
	return doc
}

func checkSSSOM(t *testing.T, spec sssomSpec, doc sssomDoc) {
	t.Helper()
	for k := range doc.meta {
		if !spec.setSlots[k] {
			t.Errorf("metadata key %q is not a slot of the SSSOM mapping set", k)
		}
	}
	for _, k := range spec.requiredSet {
		if _, ok := doc.meta[k]; !ok {
			t.Errorf("required mapping-set slot %q missing from the metadata", k)
		}
	}
	if v, _ := doc.meta["sssom_version"].(string); !spec.versions[v] {
		t.Errorf("sssom_version %q not in the schema's enum", v)
	}
	curies, _ := doc.meta["curie_map"].(map[string]any)
	for _, col := range doc.header {
		if !spec.mappingSlots[col] {
			t.Errorf("column %q is not a slot of the SSSOM mapping class", col)
		}
	}
	required := append([]string{"subject_id", "object_id"}, spec.requiredMapping...)
	for _, row := range doc.rows {
		for _, k := range required {
			if row[k] == "" {
				t.Errorf("%s: required %s empty", row["subject_id"], k)
			}
		}
		for _, k := range []string{"subject_id", "predicate_id", "object_id", "mapping_justification"} {
			prefix, _, ok := strings.Cut(row[k], ":")
			if _, declared := curies[prefix]; !ok || !declared {
				t.Errorf("%s=%q: prefix %q not in curie_map", k, row[k], prefix)
			}
		}
		if !spec.justification.MatchString(row["mapping_justification"]) {
			t.Errorf("mapping_justification %q does not match the schema pattern", row["mapping_justification"])
		}
		if m := row["predicate_modifier"]; m != "" && !spec.modifiers[m] {
			t.Errorf("predicate_modifier %q not in the schema's enum", m)
		}
		if c, err := strconv.ParseFloat(row["confidence"], 64); err != nil || c < 0 || c > 1 {
			t.Errorf("confidence %q not a double in [0,1]", row["confidence"])
		}
		if d := row["mapping_date"]; d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				t.Errorf("mapping_date %q not a date", d)
			}
		}
		for k, v := range row {
			if spec.multivalued[k] && strings.Contains(v, "|") {
				t.Errorf("%s=%q: '|' separates values of a multivalued slot", k, v)
			}
		}
	}
}

func TestSSSOMAgainstSchema(t *testing.T) {
	spec := loadSSSOMSpec(t)
	for _, req := range []string{"predicate_id", "mapping_justification"} {
		if !contains(spec.requiredMapping, req) {
			t.Fatalf("schema reading broken: %q not required (%v)", req, spec.requiredMapping)
		}
	}
	var buf bytes.Buffer
	w, err := NewSSSOM(&buf, Options{SetID: "https://portiere.example/projects/p1/exports/sssom", Title: "Hospital diagnoses",
		Version: "3", Publisher: "St. Elsewhere", Date: decided, SourceNamespace: "https://st-elsewhere.example/codes/"})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, sample())
	doc := parseSSSOM(t, buf.Bytes())
	checkSSSOM(t, spec, doc)

	if doc.meta["license"] != SSSOMAllRightsReserved || doc.meta["mapping_set_id"] != "https://portiere.example/projects/p1/exports/sssom" {
		t.Fatalf("metadata %v", doc.meta)
	}
	type got struct{ subject, predicate, modifier, object, justification string }
	var g []got
	for _, r := range doc.rows {
		g = append(g, got{r["subject_id"], r["predicate_id"], r["predicate_modifier"], r["object_id"], r["mapping_justification"]})
	}
	manual := "semapv:ManualMappingCuration"
	want := []got{
		{"source:HOSP_DX/E11.9", "skos:exactMatch", "", "OMOP:201826", manual},
		{"source:HOSP_LAB/K+%20%28ER-IS%29", "skos:broadMatch", "", "OMOP:3023103", manual},
		{"source:HOSP_LAB/K+%20%28ER-IS%29", "skos:narrowMatch", "", "OMOP:8753", manual},
		{"source:HOSP_DX/Z87.891", "skos:exactMatch", "Not", "OMOP:4058137", manual},
		{"source:HOSP_RX/PARA500", "skos:closeMatch", "", "OMOP:19020053", manual},
	}
	if len(g) != len(want) {
		t.Fatalf("rows %v\nwant %v", g, want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Errorf("row %d: %v, want %v", i, g[i], want[i])
		}
	}
	if r := doc.rows[1]; r["subject_label"] != "Potassium, serum emergency lab" || r["reviewer_label"] != "Zoë Müller" || r["mapping_date"] != "2026-11-30" {
		t.Errorf("row %v", r)
	}
	if doc.rows[0]["subject_label"] != `Type 2 diabetes, "no complications"` {
		t.Errorf("label %q", doc.rows[0]["subject_label"])
	}
}

func TestSSSOMIncludeUndecided(t *testing.T) {
	spec := loadSSSOMSpec(t)
	var buf bytes.Buffer
	w, err := NewSSSOM(&buf, Options{SetID: "urn:uuid:5b0f7d4e-0d7c-4c55-9a57-6f4b1c1f0e11", License: "https://creativecommons.org/publicdomain/zero/1.0/", IncludeUndecided: true})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, sample())
	doc := parseSSSOM(t, buf.Bytes())
	checkSSSOM(t, spec, doc)
	var undecided []map[string]string
	for _, r := range doc.rows {
		if r["reviewer_label"] == "" {
			undecided = append(undecided, r)
		}
	}
	// R51 has a lexical proposal; X99 has no target and states nothing.
	if len(undecided) != 1 || undecided[0]["subject_id"] != "source:HOSP_DX/R51" || undecided[0]["mapping_justification"] != "semapv:LexicalMatching" {
		t.Fatalf("undecided rows %v", undecided)
	}
	for method, want := range map[string]string{"dense": "semapv:SemanticSimilarityThresholdMatching", "hybrid": "semapv:CompositeMatching",
		"memory": "semapv:ManualMappingCuration", "": "semapv:UnspecifiedMatching"} {
		if got := SSSOMJustification(method); got != want || !spec.justification.MatchString(got) {
			t.Errorf("SSSOMJustification(%q) = %q, want %q", method, got, want)
		}
	}
}

func TestSSSOMEmpty(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewSSSOM(&buf, Options{SetID: "https://example.org/empty"})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, nil)
	doc := parseSSSOM(t, buf.Bytes())
	checkSSSOM(t, loadSSSOMSpec(t), doc)
	if len(doc.rows) != 0 || len(doc.header) != len(SSSOMColumns) {
		t.Fatalf("empty set: %+v", doc)
	}
}

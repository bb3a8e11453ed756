package apiserver_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
	"gopkg.in/yaml.v3"

	"github.com/portiere/portiere/export"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/tenancy"
)

// exportProject is a project with one item in every review state: A
// approved, B overridden (confirmed by a second reviewer), C rejected, D
// pending, E awaiting a second reviewer. Exports carry A and B only.
func exportProject(t *testing.T, w *reviewWorld) tenancy.Project {
	t.Helper()
	p, it := w.project(t, tenancy.SecondReviewerOverrides,
		item("A", 201826, 0.96, mappingjob.MethodAuto, 201826),
		item("B", 4329847, 0.7, mappingjob.MethodReview, 4329847),
		item("C", 4329847, 0.6, mappingjob.MethodReview, 4329847),
		item("D", 201826, 0.9, mappingjob.MethodReview, 201826),
		item("E", 4329847, 0.7, mappingjob.MethodReview, 4329847),
	)
	for _, step := range []struct{ who, code, action, body string }{
		{"alice", "A", "approve", ""},
		{"alice", "B", "override", `{"target_concept_id": 3023103}`},
		{"bob", "B", "approve", ""},
		{"alice", "C", "reject", ""},
		{"alice", "E", "override", `{"target_concept_id": 320128}`},
	} {
		if r := w.call(t, step.who, "POST", fmt.Sprintf("/api/v1/projects/%s/concept-mapping/%d/%s", p.ID, it[step.code].ID, step.action), step.body); r.status != 200 {
			t.Fatalf("%+v: %d %s", step, r.status, r.raw)
		}
	}
	return p
}

func (w *reviewWorld) export(t *testing.T, p tenancy.Project, format string) reviewReply {
	t.Helper()
	r := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/exports/"+format, "")
	if r.status != 200 {
		t.Fatalf("export %s: %d %s", format, r.status, r.raw)
	}
	f, _ := export.ParseFormat(format)
	wantName := fmt.Sprintf(`attachment; filename="labs-dx-overrides-%s%s"`, format, f.Extension())
	if r.header["Content-Type"] != f.ContentType() || r.header["Content-Disposition"] != wantName {
		t.Errorf("%s: Content-Type %q, Content-Disposition %q (want %q)", format, r.header["Content-Type"], r.header["Content-Disposition"], wantName)
	}
	return r
}

func TestExportSourceToConceptMap(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p := exportProject(t, w)
	recs, err := csv.NewReader(bytes.NewReader(w.export(t, p, "source_to_concept_map").raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// The CDM v5.4 columns, in order.
	if !reflect.DeepEqual(recs[0], []string{"source_code", "source_concept_id", "source_vocabulary_id", "source_code_description",
		"target_concept_id", "target_vocabulary_id", "valid_start_date", "valid_end_date", "invalid_reason"}) {
		t.Fatalf("header %v", recs[0])
	}
	var rows []string
	for _, r := range recs[1:] {
		rows = append(rows, strings.Join([]string{r[0], r[1], r[2], r[4], r[5]}, " "))
		start, err1 := time.Parse(time.DateOnly, r[6])
		end, err2 := time.Parse(time.DateOnly, r[7])
		if err1 != nil || err2 != nil || !start.Before(end) || r[8] != "" {
			t.Errorf("validity of %s: %q %q %q", r[0], r[6], r[7], r[8])
		}
	}
	if want := []string{"B 0 S1 3023103 LOINC", "A 0 S1 201826 SNOMED"}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want exactly the approved and overridden %v", rows, want)
	}
	// A source vocabulary of the caller's choosing; a bad one is 422.
	r := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/exports/source_to_concept_map?source_vocabulary_id=HOSP_DX", "")
	if r.status != 200 || !strings.Contains(string(r.raw), "A,0,HOSP_DX,") {
		t.Errorf("source_vocabulary_id: %d %s", r.status, r.raw)
	}
	if r := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/exports/source_to_concept_map?source_vocabulary_id=", ""); r.status != 422 {
		t.Errorf("empty source_vocabulary_id: %d", r.status)
	}
}

func TestExportUsagi(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p := exportProject(t, w)
	lines := strings.Split(strings.TrimSpace(string(w.export(t, p, "usagi").raw)), "\n")
	header := strings.Split(lines[0], ",")
	if !reflect.DeepEqual(header, export.UsagiColumns) {
		t.Fatalf("header %v", header)
	}
	got := map[string]string{}
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		row := map[string]string{}
		for i, h := range header {
			row[h] = cells[i]
		}
		got[row["sourceCode"]] = row["conceptId"] + " " + row["mappingStatus"]
	}
	if want := map[string]string{"A": "201826 APPROVED", "B": "3023103 APPROVED"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// TestExportSSSOM checks the TSV against the SSSOM LinkML schema
// (export/testdata/sssom_schema.yaml, mapping-commons/sssom): metadata
// keys are mapping-set slots with the required ones present, columns are
// mapping slots with the required ones filled, CURIEs are declared.
func TestExportSSSOM(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p := exportProject(t, w)
	b, err := os.ReadFile("../export/testdata/sssom_schema.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Slots map[string]struct {
			Required bool   `yaml:"required"`
			Pattern  string `yaml:"pattern"`
		} `yaml:"slots"`
		Classes map[string]struct {
			Slots     []string `yaml:"slots"`
			SlotUsage map[string]struct {
				Required bool `yaml:"required"`
			} `yaml:"slot_usage"`
		} `yaml:"classes"`
	}
	if err := yaml.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	slots := func(class string) (all map[string]bool, required []string) {
		all = map[string]bool{}
		for _, s := range schema.Classes[class].Slots {
			all[s] = true
			if schema.Slots[s].Required || schema.Classes[class].SlotUsage[s].Required {
				required = append(required, s)
			}
		}
		if len(all) == 0 {
			t.Fatalf("schema has no class %q", class)
		}
		return all, required
	}
	mappingSlots, requiredMapping := slots("mapping")
	setSlots, requiredSet := slots("mapping set")

	var meta []string
	var header []string
	var rows []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(w.export(t, p, "sssom").raw))
	for sc.Scan() {
		line := sc.Text()
		if header == nil && strings.HasPrefix(line, "#") {
			meta = append(meta, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
			continue
		}
		cells := strings.Split(line, "\t")
		if header == nil {
			header = cells
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cells[i]
		}
		rows = append(rows, row)
	}
	var set map[string]any
	if err := yaml.Unmarshal([]byte(strings.Join(meta, "\n")), &set); err != nil {
		t.Fatalf("metadata block: %v", err)
	}
	for k := range set {
		if !setSlots[k] {
			t.Errorf("metadata %q is not a mapping-set slot", k)
		}
	}
	for _, k := range requiredSet {
		if set[k] == nil {
			t.Errorf("required mapping-set slot %q missing", k)
		}
	}
	if set["mapping_set_id"] != "urn:portiere:project:"+p.ID {
		t.Errorf("mapping_set_id %v", set["mapping_set_id"])
	}
	curies, _ := set["curie_map"].(map[string]any)
	for _, h := range header {
		if !mappingSlots[h] {
			t.Errorf("column %q is not a mapping slot", h)
		}
	}
	justification := regexp.MustCompile(schema.Slots["mapping_justification"].Pattern)
	var got []string
	for _, row := range rows {
		for _, k := range append([]string{"subject_id", "predicate_id", "object_id"}, requiredMapping...) {
			if row[k] == "" {
				t.Errorf("%v: required %s empty", row, k)
			}
		}
		for _, k := range []string{"subject_id", "predicate_id", "object_id", "mapping_justification"} {
			prefix, _, _ := strings.Cut(row[k], ":")
			if _, ok := curies[prefix]; !ok {
				t.Errorf("%s %q: prefix not in curie_map", k, row[k])
			}
		}
		if !justification.MatchString(row["mapping_justification"]) || row["mapping_justification"] != "semapv:ManualMappingCuration" {
			t.Errorf("mapping_justification %q", row["mapping_justification"])
		}
		if row["predicate_modifier"] != "" {
			t.Errorf("a negated row (%v): rejected items must not be exported", row)
		}
		got = append(got, row["subject_id"]+" "+row["predicate_id"]+" "+row["object_id"])
	}
	sort.Strings(got)
	if want := []string{"source:S1/A skos:exactMatch OMOP:201826", "source:S1/B skos:exactMatch OMOP:3023103"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// TestExportFHIR decodes the ConceptMap strictly into the FHIR R4 model
// types (samply/golang-fhir-models): an element R4 does not define, or a
// code outside its value set, fails.
func TestExportFHIR(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p := exportProject(t, w)
	var doc struct {
		ResourceType string `json:"resourceType"`
		fhir.ConceptMap
	}
	dec := json.NewDecoder(bytes.NewReader(w.export(t, p, "fhir").raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not a FHIR R4 ConceptMap: %v", err)
	}
	if doc.ResourceType != "ConceptMap" || doc.Url == nil || *doc.Url != "urn:portiere:project:"+p.ID {
		t.Fatalf("resourceType %q url %v", doc.ResourceType, doc.Url)
	}
	var got []string
	for _, g := range doc.Group {
		for _, e := range g.Element {
			for _, tg := range e.Target {
				got = append(got, fmt.Sprintf("%s|%s → %s|%s %s", *g.Source, *e.Code, *g.Target, *tg.Code, tg.Equivalence.Code()))
			}
		}
	}
	sort.Strings(got)
	want := []string{
		"urn:portiere:source:S1|A → http://snomed.info/sct|44054006 equivalent",
		"urn:portiere:source:S1|B → http://loinc.org|2823-3 equivalent",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mappings %v, want %v", got, want)
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	w := newReviewWorld(t)
	p, _ := w.project(t, tenancy.SecondReviewerNone)
	r := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/exports/omop", "")
	if r.status != 404 || !strings.Contains(r.body["detail"].(string), "source_to_concept_map, usagi, sssom or fhir") {
		t.Errorf("unknown format: %d %s", r.status, r.raw)
	}
	for who, status := range map[string]int{"": 401, "other": 404} {
		if r := w.call(t, who, "GET", "/api/v1/projects/"+p.ID+"/exports/sssom", ""); r.status != status {
			t.Errorf("%q: %d, want %d", who, r.status, status)
		}
	}
	// An empty project exports valid, empty documents.
	if r := w.call(t, "viewer", "GET", "/api/v1/projects/"+p.ID+"/exports/source_to_concept_map", ""); r.status != 200 || strings.Count(string(r.raw), "\n") != 1 {
		t.Errorf("empty export: %d %q", r.status, r.raw)
	}
}

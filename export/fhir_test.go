package export

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// decodeConceptMap decodes strictly into the FHIR R4 model types of
// samply/golang-fhir-models: an element FHIR R4 does not define, or a code
// outside its value set (status, equivalence), fails.
func decodeConceptMap(t *testing.T, b []byte) fhir.ConceptMap {
	t.Helper()
	var doc struct {
		ResourceType string `json:"resourceType"`
		fhir.ConceptMap
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not a FHIR R4 ConceptMap: %v\n%s", err, b)
	}
	if doc.ResourceType != "ConceptMap" {
		t.Fatalf("resourceType %q", doc.ResourceType)
	}
	// FHIR JSON forbids empty strings and empty arrays/objects.
	var generic any
	json.Unmarshal(b, &generic)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			if strings.TrimSpace(x) == "" {
				t.Errorf("%s: empty string", path)
			}
		case []any:
			if len(x) == 0 {
				t.Errorf("%s: empty array", path)
			}
			for i, e := range x {
				walk(path+"["+string(rune('0'+i%10))+"]", e)
			}
		case map[string]any:
			if len(x) == 0 {
				t.Errorf("%s: empty object", path)
			}
			for k, e := range x {
				walk(path+"."+k, e)
			}
		}
	}
	walk("ConceptMap", generic)
	cm := doc.ConceptMap
	// Cardinalities and invariants of R4 ConceptMap: group.element 1..*,
	// element.target.equivalence 1..1 when a target is given, cmd-1 (a
	// narrower or inexact target has a comment), cmd-0 (name).
	if cm.Name != nil && !regexp.MustCompile(`^[A-Z]([A-Za-z0-9_]){0,254}$`).MatchString(*cm.Name) {
		t.Errorf("name %q breaks cmd-0", *cm.Name)
	}
	for _, g := range cm.Group {
		if len(g.Element) == 0 || g.Source == nil || g.Target == nil {
			t.Errorf("group %v without elements or systems", g)
		}
		for _, e := range g.Element {
			if e.Code == nil {
				t.Errorf("element without code")
			}
			for _, tg := range e.Target {
				eq := tg.Equivalence.Code()
				if (eq == "narrower" || eq == "inexact") && tg.Comment == nil {
					t.Errorf("%s → %s: %s without comment (cmd-1)", *e.Code, *tg.Code, eq)
				}
			}
		}
	}
	return cm
}

func TestFHIRConceptMap(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewFHIRConceptMap(&buf, Options{SetID: "https://portiere.example/projects/p1/exports/fhir", Title: "St. Elsewhere: lab & dx maps",
		Version: "3", Publisher: "St. Elsewhere", Date: decided})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, sample())
	cm := decodeConceptMap(t, buf.Bytes())

	if cm.Status != fhir.PublicationStatusActive || *cm.Url != "https://portiere.example/projects/p1/exports/fhir" ||
		*cm.Name != "StElsewhereLabDxMaps" || *cm.Date != "2026-11-30T14:05:00Z" || *cm.Publisher != "St. Elsewhere" {
		t.Fatalf("header %+v", cm)
	}
	type target struct{ group, code, display, equivalence string }
	var got []target
	for _, g := range cm.Group {
		for _, e := range g.Element {
			for _, tg := range e.Target {
				got = append(got, target{*g.Source + " → " + *g.Target, *e.Code + " " + deref(e.Display), *tg.Code, tg.Equivalence.Code()})
			}
		}
	}
	src := DefaultSourceNamespace
	want := []target{
		{src + "HOSP_DX → http://snomed.info/sct", `E11.9 Type 2 diabetes, "no complications"`, "44054006", "equivalent"},
		{src + "HOSP_LAB → http://loinc.org", "K+ (ER-IS) Potassium,\tserum\nemergency lab", "2823-3", "wider"},
		{src + "HOSP_LAB → http://unitsofmeasure.org", "K+ (ER-IS) Potassium,\tserum\nemergency lab", "mmol/L", "narrower"},
		// RxNorm Extension has no FHIR system: the OMOP concept id is the code.
		{src + "HOSP_RX → " + OMOPConceptSystem, "PARA500 Paracétamol 500 mg cp", "19020053", "inexact"},
	}
	if len(got) != len(want) {
		t.Fatalf("targets\n%v\nwant\n%v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestFHIRConceptMapGroupsAndElements(t *testing.T) {
	// Two targets of one code in one system form one element; a change of
	// target system opens a new group; returning to an earlier pair opens
	// another (still valid) group.
	d := sample()[0]
	d2 := d
	d2.TargetConceptID, d2.TargetConceptCode, d2.TargetConceptName = 4193704, "73211009", "Diabetes mellitus"
	d3 := d
	d3.SourceCode, d3.SourceDescription = "E10.9", ""
	var buf bytes.Buffer
	w, _ := NewFHIRConceptMap(&buf, Options{SetID: "urn:uuid:0c2b0f7e-7d7f-4b8c-9f0e-3c6a2b1d9e55"})
	writeAll(t, w, []Decision{d, d2, d3, sample()[1], d})
	cm := decodeConceptMap(t, buf.Bytes())
	if len(cm.Group) != 3 || len(cm.Group[0].Element) != 2 || len(cm.Group[0].Element[0].Target) != 2 ||
		cm.Group[0].Element[1].Display != nil || len(cm.Group[2].Element) != 1 {
		t.Fatalf("structure %s", buf.Bytes())
	}
	if cm.Name != nil || cm.Title != nil {
		t.Fatalf("no title given, but name/title %v %v", cm.Name, cm.Title)
	}
}

func TestFHIRConceptMapEmpty(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewFHIRConceptMap(&buf, Options{SetID: "https://example.org/empty"})
	// Only rejected and undecided decisions: nothing to map.
	writeAll(t, w, []Decision{sample()[3], sample()[4]})
	cm := decodeConceptMap(t, buf.Bytes())
	if len(cm.Group) != 0 || cm.Status != fhir.PublicationStatusActive {
		t.Fatalf("empty ConceptMap %s", buf.Bytes())
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

package elastic

import (
	"encoding/json"
	"testing"
)

// TestMappingConsistent checks what Elasticsearch would only report when
// the index is created: every analyzer part is defined, and every field the
// queries name is mapped.
func TestMappingConsistent(t *testing.T) {
	var m struct {
		Settings struct {
			Index struct {
				Similarity map[string]json.RawMessage `json:"similarity"`
				Analysis   struct {
					CharFilter map[string]json.RawMessage `json:"char_filter"`
					Filter     map[string]json.RawMessage `json:"filter"`
					Analyzer   map[string]struct {
						CharFilter []string `json:"char_filter"`
						Filter     []string `json:"filter"`
					} `json:"analyzer"`
					Normalizer map[string]struct {
						Filter []string `json:"filter"`
					} `json:"normalizer"`
				} `json:"analysis"`
			} `json:"index"`
		} `json:"settings"`
		Mappings struct {
			Dynamic    string `json:"dynamic"`
			Properties map[string]struct {
				Type       string `json:"type"`
				Analyzer   string `json:"analyzer"`
				Normalizer string `json:"normalizer"`
				Similarity string `json:"similarity"`
				Fields     map[string]struct {
					Analyzer string `json:"analyzer"`
				} `json:"fields"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(mappingJSON, &m); err != nil {
		t.Fatal(err)
	}
	an := m.Settings.Index.Analysis
	builtin := map[string]bool{"lowercase": true, "asciifolding": true}
	for name, a := range an.Analyzer {
		for _, f := range a.Filter {
			if _, ok := an.Filter[f]; !ok && !builtin[f] {
				t.Errorf("analyzer %s: filter %s undefined", name, f)
			}
		}
		for _, f := range a.CharFilter {
			if _, ok := an.CharFilter[f]; !ok {
				t.Errorf("analyzer %s: char_filter %s undefined", name, f)
			}
		}
	}
	for name, n := range an.Normalizer {
		for _, f := range n.Filter {
			if !builtin[f] {
				t.Errorf("normalizer %s: filter %s is not one normalizers allow here", name, f)
			}
		}
	}
	props := m.Mappings.Properties
	for name, p := range props {
		if _, ok := an.Analyzer[p.Analyzer]; p.Analyzer != "" && !ok {
			t.Errorf("%s: analyzer %s undefined", name, p.Analyzer)
		}
		if _, ok := an.Normalizer[p.Normalizer]; p.Normalizer != "" && !ok {
			t.Errorf("%s: normalizer %s undefined", name, p.Normalizer)
		}
		if _, ok := m.Settings.Index.Similarity[p.Similarity]; p.Similarity != "" && !ok {
			t.Errorf("%s: similarity %s undefined", name, p.Similarity)
		}
		for sub, f := range p.Fields {
			if _, ok := an.Analyzer[f.Analyzer]; !ok {
				t.Errorf("%s.%s: analyzer %s undefined", name, sub, f.Analyzer)
			}
		}
	}
	if m.Mappings.Dynamic != "strict" {
		t.Error(`mappings.dynamic should be "strict", so a misspelt field fails its document instead of creating a field`)
	}

	// Fields the queries and documents use.
	for _, f := range []string{fieldConceptID, fieldText, fieldKind, fieldCode, fieldStandard, fieldInvalid, "concept_name", "vocabulary_id", "domain_id", "concept_class_id"} {
		if _, ok := props[f]; !ok {
			t.Errorf("field %s not mapped", f)
		}
	}
	if _, ok := props[fieldText].Fields["ngram"]; !ok || fieldTextNgram != fieldText+".ngram" {
		t.Errorf("%s not mapped", fieldTextNgram)
	}
	if props[fieldConceptID].Type != "integer" || props[fieldCode].Type != "keyword" {
		t.Error("concept_id must be numeric (collapse key) and concept_code a keyword (term query)")
	}
	mt := props[pathMapsTo]
	if mt.Type != "nested" {
		t.Errorf("maps_to is %q, want nested", mt.Type)
	}
	for _, f := range []string{"concept_id", "vocabulary_id", "domain_id", "concept_class_id"} {
		if _, ok := mt.Properties[f]; !ok {
			t.Errorf("maps_to.%s not mapped", f)
		}
	}

	// Document's JSON fields are exactly the mapped ones (dynamic is strict).
	b, _ := json.Marshal(Document{ConceptCode: "x", StandardConcept: "S", InvalidReason: "D", MapsTo: []Target{{}}})
	var doc map[string]json.RawMessage
	json.Unmarshal(b, &doc)
	for f := range doc {
		if _, ok := props[f]; !ok {
			t.Errorf("Document field %s not mapped", f)
		}
	}
	for f := range props {
		if _, ok := doc[f]; !ok {
			t.Errorf("mapped field %s not in Document", f)
		}
	}
}

func TestIndexBodyRecordsVersion(t *testing.T) {
	b, err := indexBody()
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Settings json.RawMessage `json:"settings"`
		Mappings struct {
			Meta map[string]string `json:"_meta"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if body.Mappings.Meta[metaKey] != MappingVersion() || len(MappingVersion()) != 16 || len(body.Settings) == 0 {
		t.Errorf("index body: _meta %v, settings %d bytes", body.Mappings.Meta, len(body.Settings))
	}
}

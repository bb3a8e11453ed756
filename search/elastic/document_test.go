package elastic_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/search/elastic"
)

// testCorpus is a few OMOP concepts around type 2 diabetes: standard
// SNOMED concepts, non-standard ICD codes that map to them, an upgraded
// (invalid) concept, and a drug.
func testCorpus(t testing.TB) *search.Corpus {
	t.Helper()
	b := search.NewCorpusBuilder()
	for _, c := range []search.Concept{
		{ID: 201826, Name: "Type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "44054006"},
		{ID: 4193704, Name: "Type 2 diabetes mellitus without complication", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "313436004"},
		{ID: 443732, Name: "Disorder due to type 2 diabetes mellitus", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Standard: "S", Code: "359642000"},
		{ID: 45533017, Name: "Type 2 diabetes mellitus without complications", Domain: "Condition", Vocabulary: "ICD10CM", Class: "5-char billing code", Code: "E11.9"},
		{ID: 35206882, Name: "Type II diabetes mellitus without mention of complication, not stated as uncontrolled", Domain: "Condition", Vocabulary: "ICD9CM", Class: "5-dig billing code", Code: "250.00"},
		{ID: 40482801, Name: "Type II diabetes mellitus uncontrolled", Domain: "Condition", Vocabulary: "SNOMED", Class: "Clinical Finding", Code: "443694000", InvalidReason: "U"},
		{ID: 1503297, Name: "metformin", Domain: "Drug", Vocabulary: "RxNorm", Class: "Ingredient", Standard: "S", Code: "6809"},
		{ID: 1503328, Name: "metformin hydrochloride 500 MG Oral Tablet", Domain: "Drug", Vocabulary: "RxNorm", Class: "Clinical Drug", Standard: "S", Code: "861007"},
	} {
		if err := b.AddConcept(c); err != nil {
			t.Fatal(err)
		}
	}
	b.AddSynonym(201826, "Type II diabetes mellitus")
	b.AddSynonym(201826, "Diabetes mellitus type 2")
	b.AddSynonym(201826, "type 2 diabetes mellitus") // same as the name: dropped
	b.AddSynonym(4193704, "Type 2 diabetes mellitus without complication (disorder)")
	b.AddSynonym(1503328, "Metformin HCl 500mg tablet")
	b.AddRelationship(45533017, 4193704, "Maps to", "")
	b.AddRelationship(35206882, 201826, "Maps to", "")
	b.AddRelationship(40482801, 443732, "Maps to", "")
	b.AddRelationship(45533017, 35206882, "Maps to", "") // to a non-standard concept: not a target
	return b.Build()
}

func TestConceptDocuments(t *testing.T) {
	c := testCorpus(t)
	con, _ := c.Lookup(201826)
	docs := elastic.ConceptDocuments(c, con)
	var ids, texts, fields []string
	for _, d := range docs {
		ids, texts, fields = append(ids, d.ID), append(texts, d.Text), append(fields, d.Field)
	}
	if want := []string{"201826-0", "201826-1", "201826-2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	if want := []string{"Type 2 diabetes mellitus", "Diabetes mellitus type 2", "Type II diabetes mellitus"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("texts %v, want %v", texts, want)
	}
	if want := []string{"name", "synonym", "synonym"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}

	icd, _ := c.Lookup(45533017)
	got, err := json.Marshal(elastic.ConceptDocuments(c, icd)[0])
	if err != nil {
		t.Fatal(err)
	}
	// No standard_concept or invalid_reason: absent means non-standard and
	// valid. The non-standard ICD9CM target is left out of maps_to.
	want := `{"concept_id":45533017,"text":"Type 2 diabetes mellitus without complications","field":"name",` +
		`"concept_name":"Type 2 diabetes mellitus without complications","concept_code":"E11.9",` +
		`"vocabulary_id":"ICD10CM","domain_id":"Condition","concept_class_id":"5-char billing code",` +
		`"maps_to":[{"concept_id":4193704,"vocabulary_id":"SNOMED","domain_id":"Condition","concept_class_id":"Clinical Finding"}]}`
	if string(got) != want {
		t.Errorf("ICD10CM document:\ngot  %s\nwant %s", got, want)
	}

	old, _ := c.Lookup(40482801)
	d := elastic.ConceptDocuments(c, old)[0]
	if d.InvalidReason != "U" || len(d.MapsTo) != 1 || d.MapsTo[0].ConceptID != 443732 {
		t.Errorf("upgraded concept: invalid_reason %q, maps_to %+v", d.InvalidReason, d.MapsTo)
	}
}

func TestDocumentsForChunks(t *testing.T) {
	c := testCorpus(t)
	var all []string
	var sizes []int
	for n, docs := range elastic.DocumentsFor(c, 3) {
		if n != len(sizes) {
			t.Errorf("chunk numbered %d, want %d", n, len(sizes))
		}
		sizes = append(sizes, len(docs))
		for _, d := range docs {
			all = append(all, d.ID)
		}
	}
	// The corpus orders concepts by id. 201826 has 3 texts and fills the
	// first chunk; a concept is never split, so 1503328's 2 texts make the
	// second chunk 4; 4193704 has 2 texts.
	if want := []int{3, 4, 3, 2}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("chunk sizes %v, want %v", sizes, want)
	}
	want := []string{
		"201826-0", "201826-1", "201826-2",
		"443732-0", "1503297-0", "1503328-0", "1503328-1",
		"4193704-0", "4193704-1", "35206882-0",
		"40482801-0", "45533017-0",
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("documents %v\nwant %v", all, want)
	}

	// Stopping early stops the iteration.
	chunks := 0
	for range elastic.DocumentsFor(c, 1) {
		chunks++
		if chunks == 2 {
			break
		}
	}
	if chunks != 2 {
		t.Errorf("break after 2 chunks: got %d", chunks)
	}
}

func ExampleDocumentsFor() {
	b := search.NewCorpusBuilder()
	b.AddConcept(search.Concept{ID: 45533017, Name: "Type 2 diabetes mellitus without complications", Vocabulary: "ICD10CM", Domain: "Condition", Class: "5-char billing code", Code: "E11.9"})
	b.AddConcept(search.Concept{ID: 4193704, Name: "Type 2 diabetes mellitus without complication", Vocabulary: "SNOMED", Domain: "Condition", Class: "Clinical Finding", Standard: "S", Code: "313436004"})
	b.AddSynonym(4193704, "Type 2 diabetes mellitus without complication (disorder)")
	b.AddRelationship(45533017, 4193704, "Maps to", "")
	for n, docs := range elastic.DocumentsFor(b.Build(), 1000) {
		for _, d := range docs {
			fmt.Println(n, d.ID, d.Field, d.Text, d.MapsTo)
		}
	}
	// Output:
	// 0 4193704-0 name Type 2 diabetes mellitus without complication []
	// 0 4193704-1 synonym Type 2 diabetes mellitus without complication (disorder) []
	// 0 45533017-0 name Type 2 diabetes mellitus without complications [{4193704 SNOMED Condition Clinical Finding}]
}

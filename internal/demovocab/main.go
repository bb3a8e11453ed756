// Command demovocab builds the demo vocabulary in testdata/demo-vocab from
// the development vocabulary (../shared/data/athena-dev): a few thousand
// concepts from vocabularies whose content may be redistributed, in the
// same Athena format, with the synonyms and relationships among them.
//
//	go run ./internal/demovocab -src ../shared/data/athena-dev -out testdata/demo-vocab
//
// The selection is deterministic: rerunning it on the same input writes the
// same files.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portiere/portiere/vocab/athena"
)

// quotas is how many concepts to take per vocabulary. ICD-10-CM is public
// domain; the others come from OHDSI's Apache-2.0 data sets and the CC BY
// Estonian mappings (see the data README). Vocabularies under a licence
// that forbids redistribution (CPT4, MedDRA) are left out.
var quotas = map[string]int{
	"ICD10CM":          2500,
	"SNOMED":           1200,
	"LOINC":            400,
	"RxNorm":           400,
	"RxNorm Extension": 100,
	"UCUM":             150,
	"Visit":            20,
}

func main() {
	src := flag.String("src", "../shared/data/athena-dev", "Athena release to take the subset from")
	out := flag.String("out", "testdata/demo-vocab", "folder to write the subset to")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "demovocab:", err)
		os.Exit(1)
	}
}

func run(srcDir, outDir string) error {
	rel, err := athena.Open(srcDir)
	if err != nil {
		return err
	}
	var all []athena.Concept
	if err := rel.Concepts(func(c athena.Concept) error { all = append(all, c); return nil }); err != nil {
		return err
	}
	var rels []athena.Relationship
	if err := rel.Relationships(func(r athena.Relationship) error { rels = append(rels, r); return nil }); err != nil {
		return err
	}
	keep := choose(all, rels)

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	usedVocab := map[string]bool{}
	n := 0
	err = write(outDir, athena.TableConcept, "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason",
		func(emit func(...string)) error {
			for _, c := range all {
				if keep[c.ID] {
					usedVocab[c.VocabularyID] = true
					n++
					emit(id(c.ID), c.Name, c.DomainID, c.VocabularyID, c.ClassID, c.StandardConcept, c.Code, day(c.ValidStart), day(c.ValidEnd), c.InvalidReason)
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableConceptSynonym, "concept_id\tconcept_synonym_name\tlanguage_concept_id", func(emit func(...string)) error {
		return rel.Synonyms(func(s athena.Synonym) error {
			if keep[s.ConceptID] {
				emit(id(s.ConceptID), s.Name, id(s.LanguageConceptID))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableConceptRelationship, "concept_id_1\tconcept_id_2\trelationship_id\tvalid_start_date\tvalid_end_date\tinvalid_reason", func(emit func(...string)) error {
		for _, r := range rels {
			if keep[r.ConceptID1] && keep[r.ConceptID2] {
				emit(id(r.ConceptID1), id(r.ConceptID2), r.RelationshipID, day(r.ValidStart), day(r.ValidEnd), r.InvalidReason)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableConceptAncestor, "ancestor_concept_id\tdescendant_concept_id\tmin_levels_of_separation\tmax_levels_of_separation", func(emit func(...string)) error {
		return rel.Ancestors(func(a athena.Ancestor) error {
			if keep[a.AncestorID] && keep[a.DescendantID] {
				emit(id(a.AncestorID), id(a.DescendantID), id(a.MinLevels), id(a.MaxLevels))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableVocabulary, "vocabulary_id\tvocabulary_name\tvocabulary_reference\tvocabulary_version\tvocabulary_concept_id", func(emit func(...string)) error {
		return rel.Vocabularies(func(v athena.Vocabulary) error {
			if usedVocab[v.ID] {
				emit(v.ID, v.Name, v.Reference, v.Version, id(v.ConceptID))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableDomain, "domain_id\tdomain_name\tdomain_concept_id", func(emit func(...string)) error {
		return rel.Domains(func(d athena.Domain) error { emit(d.ID, d.Name, id(d.ConceptID)); return nil })
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableConceptClass, "concept_class_id\tconcept_class_name\tconcept_class_concept_id", func(emit func(...string)) error {
		return rel.ConceptClasses(func(c athena.ConceptClass) error { emit(c.ID, c.Name, id(c.ConceptID)); return nil })
	})
	if err != nil {
		return err
	}
	err = write(outDir, athena.TableRelationship, "relationship_id\trelationship_name\tis_hierarchical\tdefines_ancestry\treverse_relationship_id\trelationship_concept_id", func(emit func(...string)) error {
		return rel.RelationshipTypes(func(r athena.RelationshipType) error {
			emit(r.ID, r.Name, r.IsHierarchical, r.DefinesAncestry, r.ReverseID, id(r.ConceptID))
			return nil
		})
	})
	if err != nil {
		return err
	}
	fmt.Printf("demovocab: wrote %d concepts to %s\n", n, outDir)
	return nil
}

// choose picks the subset: per vocabulary, first the concepts that take
// part in relationships (so the demo has "Maps to", "Is a" and panel
// links), then an even spread over the rest by code; finally the "Maps to"
// targets of every chosen concept, so no mapping points outside the demo.
func choose(all []athena.Concept, rels []athena.Relationship) map[int32]bool {
	related := map[int32]bool{}
	for _, r := range rels {
		if r.ConceptID1 != r.ConceptID2 {
			related[r.ConceptID1], related[r.ConceptID2] = true, true
		}
	}
	byVocab := map[string][]athena.Concept{}
	for _, c := range all {
		if _, ok := quotas[c.VocabularyID]; ok {
			byVocab[c.VocabularyID] = append(byVocab[c.VocabularyID], c)
		}
	}
	keep := map[int32]bool{}
	for v, cs := range byVocab {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Code < cs[j].Code || cs[i].Code == cs[j].Code && cs[i].ID < cs[j].ID })
		quota := quotas[v]
		var rest []athena.Concept
		taken := 0
		for _, c := range cs {
			if related[c.ID] && taken < quota*3/4 {
				keep[c.ID] = true
				taken++
			} else {
				rest = append(rest, c)
			}
		}
		if left := quota - taken; left > 0 && len(rest) > 0 {
			step := max(1, len(rest)/left)
			for i := 0; i < len(rest) && taken < quota; i += step {
				keep[rest[i].ID] = true
				taken++
			}
		}
	}
	inVocab := map[int32]bool{}
	for _, c := range all {
		_, ok := quotas[c.VocabularyID]
		inVocab[c.ID] = ok
	}
	for _, r := range rels {
		if r.RelationshipID == "Maps to" && keep[r.ConceptID1] && inVocab[r.ConceptID2] {
			keep[r.ConceptID2] = true
		}
	}
	return keep
}

func write(dir string, t athena.Table, header string, rows func(emit func(...string)) error) error {
	f, err := os.Create(filepath.Join(dir, t.FileName()))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString(header + "\n")
	var bad error
	err = rows(func(fields ...string) {
		for _, s := range fields {
			if strings.ContainsAny(s, "\t\n") && bad == nil {
				bad = fmt.Errorf("%s: field %q holds a tab or line break", t.FileName(), s)
			}
		}
		w.WriteString(strings.Join(fields, "\t") + "\n")
	})
	if err == nil {
		err = bad
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func id(n int32) string { return strconv.Itoa(int(n)) }

func day(t time.Time) string { return t.Format("20060102") }

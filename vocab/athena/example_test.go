package athena_test

import (
	"fmt"
	"testing/fstest"

	"github.com/portiere/portiere/vocab/athena"
)

func ExampleRelease_Concepts() {
	// athena.Open("path/to/vocabulary") reads a folder; any fs.FS works too.
	rel, err := athena.OpenFS(fstest.MapFS{"CONCEPT.csv": {Data: []byte(
		"concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\tvalid_start_date\tvalid_end_date\tinvalid_reason\n" +
			"201826\tType 2 diabetes mellitus\tCondition\tSNOMED\tClinical Finding\tS\t44054006\t19700101\t20991231\t\n")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = rel.Concepts(func(c athena.Concept) error {
		fmt.Println(c.ID, c.Name, c.VocabularyID, c.StandardConcept == "S")
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output: 201826 Type 2 diabetes mellitus SNOMED true
}

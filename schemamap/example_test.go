package schemamap_test

import (
	"fmt"

	"github.com/portiere/portiere/schemamap"
)

func ExampleModel_Suggest() {
	cdm, err := schemamap.LoadCDM54()
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := cdm.Suggest([]schemamap.Column{
		{Table: "patients", Column: "dob", SampleValues: []string{"1956-03-02", "1990-11-23"}},
		{Table: "patients", Column: "sex", SampleValues: []string{"M", "F"}},
	}, schemamap.ModelCDM54)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res {
		best := r.Suggestions[0]
		fmt.Printf("%s → %s.%s %.2f\n", r.Source.Column, best.Table, best.Column, best.Confidence)
	}
	// Output:
	// dob → person.birth_datetime 0.96
	// sex → person.gender_concept_id 0.96
}

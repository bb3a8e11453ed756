package export_test

import (
	"fmt"
	"os"
	"time"

	"github.com/portiere/portiere/export"
)

// A route handler streams a project's decisions straight into the response.
func ExampleNew() {
	f, err := export.ParseFormat("source_to_concept_map")
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := export.New(f, os.Stdout, export.Options{SetID: "https://portiere.example/projects/p1/exports/" + string(f)})
	if err != nil {
		fmt.Println(err)
		return
	}
	decisions := []export.Decision{
		{SourceVocabularyID: "HOSP_DX", SourceCode: "E11.9", SourceDescription: "Type 2 diabetes",
			TargetConceptID: 201826, TargetVocabularyID: "SNOMED", Status: export.StatusApproved,
			Reviewer: "ana@example.org", DecidedAt: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{SourceVocabularyID: "HOSP_DX", SourceCode: "Z87.891", TargetConceptID: 4058137,
			TargetVocabularyID: "SNOMED", Status: export.StatusRejected},
	}
	for _, d := range decisions {
		if err := w.Write(d); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// source_code,source_concept_id,source_vocabulary_id,source_code_description,target_concept_id,target_vocabulary_id,valid_start_date,valid_end_date,invalid_reason
	// E11.9,0,HOSP_DX,Type 2 diabetes,201826,SNOMED,1970-01-01,2099-12-31,
}

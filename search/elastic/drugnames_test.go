package elastic

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/portiere/portiere/search"
)

// The Elasticsearch analyzer must rename drugs exactly as the embedded one
// does, or the two lexical tiers rank differently.
func TestMappingDrugNamesMatchTheAnalyzer(t *testing.T) {
	var m struct {
		Settings struct {
			Index struct {
				Analysis struct {
					Filter map[string]struct {
						Synonyms []string `json:"synonyms"`
					} `json:"filter"`
				} `json:"analysis"`
			} `json:"index"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(mappingJSON, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rule := range m.Settings.Index.Analysis.Filter["clinical_drug_names"].Synonyms {
		from, to, _ := strings.Cut(rule, "=>")
		for _, f := range strings.Split(from, ",") {
			got = append(got, strings.TrimSpace(f)+" => "+strings.TrimSpace(to))
		}
	}
	var want []string
	for from, to := range search.DrugNameEquivalents() {
		want = append(want, from+" => "+to)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mapping.json clinical_drug_names differs from search's INN→USAN table:\nmapping: %v\nsearch:  %v", got, want)
	}
}

package check

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portiere/portiere/config"
)

// TestDeploymentGuideVariables: docs/deployment.md's variable table lists
// every variable config reads, and its "required by" column says exactly
// which roles refuse to start without each.
func TestDeploymentGuideVariables(t *testing.T) {
	b, err := os.ReadFile(repoRoot + "/docs/deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| ([^|]*) \\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		var roles []string
		for _, r := range strings.Split(m[2], ",") {
			if r = strings.TrimSpace(r); r != "" && r != "—" {
				roles = append(roles, r)
			}
		}
		documented[m[1]] = roles
	}
	for _, v := range config.Variables {
		got, ok := documented[v]
		if !ok {
			t.Errorf("docs/deployment.md does not document %s", v)
			continue
		}
		var want []string
		for _, mode := range config.Roles() {
			if slices.Contains(config.RequiredVariables(mode), v) {
				want = append(want, string(mode))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("docs/deployment.md: %s required by %v, config says %v", v, got, want)
		}
	}
}

package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRequiredVariablesAreWhatLoadRefusesWithout(t *testing.T) {
	for _, mode := range Roles() {
		_, err := Load(mode, func(string) string { return "" })
		want := RequiredVariables(mode)
		if len(want) == 0 {
			if err != nil {
				t.Errorf("%s: Load with an empty environment: %v, but RequiredVariables is empty", mode, err)
			}
			continue
		}
		var cerr *Error
		if !errors.As(err, &cerr) || strings.Join(cerr.Missing, ",") != strings.Join(want, ",") {
			t.Errorf("%s: Load reports %v, RequiredVariables says %v", mode, err, want)
		}
		for _, v := range want {
			if !slices.Contains(Variables, v) {
				t.Errorf("%s requires %s, which is not in Variables", mode, v)
			}
		}
	}
}

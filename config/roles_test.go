package config

import (
	"errors"
	"reflect"
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

// TestMapperRequiredVariablesAreRead: every variable the mapper app
// requires is one Load reads and parses into Config.Mapper (a valid value
// changes it), so deployment files checked against the list set real
// settings.
func TestMapperRequiredVariablesAreRead(t *testing.T) {
	valid := map[string]string{"MAPPER_KYC_KEYS": "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}
	base := map[string]string{"DB_PASSWORD": "p", "API_KEY_SALT": strings.Repeat("s", MinSecretLength)}
	empty, err := Load(ModeWeb, func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range MapperRequiredVariables() {
		if !slices.Contains(Variables, v) {
			t.Errorf("the mapper requires %s, which is not in Variables", v)
		}
		val, ok := valid[v]
		if !ok {
			t.Errorf("no valid example of %s in this test", v)
			continue
		}
		cfg, err := Load(ModeWeb, func(k string) string {
			if k == v {
				return val
			}
			return base[k]
		})
		if err != nil {
			t.Errorf("%s=%s: %v", v, val, err)
			continue
		}
		if reflect.DeepEqual(cfg.Mapper, empty.Mapper) {
			t.Errorf("%s does not change Config.Mapper", v)
		}
	}
}

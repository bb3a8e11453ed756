package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestAnalyzerNormalises(t *testing.T) {
	var a Analyzer
	same := [][2]string{
		{"500mg", "500 mg"},
		{"500 milligrams", "500 MG"},
		{"0.1%", "0,10 %"},
		{".5 ml", "0.50 mL"},
		{"Haemorrhage of oesophagus", "hemorrhage esophagus"},
		{"Tumour", "tumor"},
		{"Sjögren syndrome", "sjogren syndrome"},
		{"metabolic disorder", "Metabolism disorders"},
		{"250 µg", "250 mcg"},
		{"aminocaproic acid;50mg;Intravenous", "aminocaproic acid 50 mg intravenous"},
	}
	for _, p := range same {
		a1, a2 := a.Terms(p[0]), a.Terms(p[1])
		if !reflect.DeepEqual(a1, a2) {
			t.Errorf("%q → %v, %q → %v: want equal", p[0], a1, p[1], a2)
		}
	}
	if got := strings.Join(a.Terms("E11.9 Type 2 diabetes"), " "); got != "e 11.9 type 2 diabet" {
		t.Errorf("code and numbers: %q", got)
	}
	if got := a.Terms("list 1,2,3"); !reflect.DeepEqual(got, []string{"list", "1.2", "3"}) {
		t.Errorf("decimal comma: %v", got)
	}
}

func TestAnalyzerWritesStrengthsInMilligrams(t *testing.T) {
	var a Analyzer
	for _, p := range [][2]string{
		{"500 mcg", "0.5 mg"},
		{"1g", "1000 MG"},
		{"0.25mcg", "0.00025 mg"},
		{"1000mcg/ml", "1 mg/mL"},
		{"salbutamol 100 µg", "albuterol 0.1 mg"},
	} {
		a1, a2 := a.Terms(p[0]), a.Terms(p[1])
		if !reflect.DeepEqual(a1, a2) {
			t.Errorf("%q → %v, %q → %v: want equal", p[0], a1, p[1], a2)
		}
	}
	// A unit without a number is left alone.
	if got := a.Terms("g protein"); got[0] != "g" {
		t.Errorf("bare unit: %v", got)
	}
}

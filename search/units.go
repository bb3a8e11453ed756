package search

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A unit string ("mcmol/L", "litres per min", "MG/DL", "mm(Hg)") is parsed
// into a canonical form — a power-of-ten scale, base atoms with exponents,
// annotations — and matched against the UCUM concepts' codes parsed the
// same way. So "mcmol/L", "umol/l" and "micromole per litre" meet "umol/L",
// and "uU/mL" meets OMOP's "10*-6.[U]/mL": the match is on what the unit
// means, not on how its code is spelled. The grammar is UCUM's (The Unified
// Code for Units of Measure, Regenstrief Institute; atoms, prefixes, "/",
// ".", exponents, "10*n", {annotations}) widened with the spellings found
// in hospital systems (words, "per", "mc" for micro, "hr", "lbs", "deg C").

// unitAtom is a base unit: metric atoms take prefixes.
type unitAtom struct {
	code   string
	metric bool
}

// ucumAtoms are the UCUM atoms (case-sensitive codes) that clinical units
// are built from.
var ucumAtoms = map[string]unitAtom{
	"g": {"g", true}, "L": {"L", true}, "l": {"L", true}, "m": {"m", true}, "s": {"s", true},
	"mol": {"mol", true}, "eq": {"eq", true}, "osm": {"osm", true}, "U": {"U", true}, "[U]": {"U", true},
	"[iU]": {"[iU]", true}, "[IU]": {"[iU]", true}, "Bq": {"Bq", true}, "Pa": {"Pa", true}, "kat": {"kat", true},
	"Gy": {"Gy", true}, "Ci": {"Ci", true}, "Sv": {"Sv", true}, "Hz": {"Hz", true}, "J": {"J", true},
	"W": {"W", true}, "V": {"V", true}, "N": {"N", true}, "cal": {"cal", true}, "bar": {"bar", true},
	"A": {"A", true}, "C": {"C", true}, "F": {"F", true}, "Ohm": {"Ohm", true},
	"m[Hg]": {"m[Hg]", true}, "m[H2O]": {"m[H2O]", true}, "Da": {"Da", true}, "u": {"u", false},
	"min": {"min", false}, "h": {"h", false}, "d": {"d", false}, "wk": {"wk", false}, "mo": {"mo", false},
	"a": {"a", false}, "Cel": {"Cel", false}, "[degC]": {"Cel", false}, "[degF]": {"[degF]", false},
	"%": {"%", false}, "[ppm]": {"[ppm]", false}, "[ppb]": {"[ppb]", false}, "[ppth]": {"[ppth]", false},
	"[pptr]": {"[pptr]", false}, "[lb_av]": {"[lb_av]", false}, "[lb_us]": {"[lb_av]", false},
	"[oz_av]": {"[oz_av]", false}, "[in_i]": {"[in_i]", false}, "[ft_i]": {"[ft_i]", false},
	"[yd_i]": {"[yd_i]", false}, "[mi_i]": {"[mi_i]", false}, "[HPF]": {"[HPF]", false}, "[LPF]": {"[LPF]", false},
	"[tb'U]": {"[tb'U]", false}, "[arb'U]": {"[arb'U]", false}, "[CFU]": {"[CFU]", false}, "[drp]": {"[drp]", false},
	"[psi]": {"[psi]", false}, "atm": {"atm", false},
	"[EU]": {"[EU]", false}, "[MPL'U]": {"[MPL'U]", false}, "[GPL'U]": {"[GPL'U]", false}, "[APL'U]": {"[APL'U]", false},
	"[in_i'Hg]": {"[in_i'Hg]", false}, "[in_i'H2O]": {"[in_i'H2O]", false}, "Ao": {"Ao", true}, "[diop]": {"[diop]", false},
}

// squareAtoms are UCUM atoms that are another atom squared or cubed.
var squareAtoms = map[string]struct {
	base string
	exp  int
}{
	"[sin_i]": {"[in_i]", 2}, "[sft_i]": {"[ft_i]", 2}, "[syd_i]": {"[yd_i]", 2},
	"[cin_i]": {"[in_i]", 3}, "[cft_i]": {"[ft_i]", 3}, "[cyd_i]": {"[yd_i]", 3},
}

// unitWords are the spellings of units in hospital systems that are not
// UCUM codes, matched ignoring case. A word with a scale is a prefixed
// unit ("mcg" is 10^-6 g).
var unitWords = map[string]struct {
	scale float64
	atom  string
}{
	"gram": {1, "g"}, "grams": {1, "g"}, "gm": {1, "g"}, "gms": {1, "g"}, "gramme": {1, "g"}, "grammes": {1, "g"},
	"mcg": {1e-6, "g"}, "ug": {1e-6, "g"},
	"liter": {1, "L"}, "liters": {1, "L"}, "litre": {1, "L"}, "litres": {1, "L"}, "ltr": {1, "L"},
	"meter": {1, "m"}, "meters": {1, "m"}, "metre": {1, "m"}, "metres": {1, "m"},
	"second": {1, "s"}, "seconds": {1, "s"}, "sec": {1, "s"}, "secs": {1, "s"},
	"minute": {1, "min"}, "minutes": {1, "min"}, "mins": {1, "min"},
	"hour": {1, "h"}, "hours": {1, "h"}, "hr": {1, "h"}, "hrs": {1, "h"},
	"day": {1, "d"}, "days": {1, "d"}, "week": {1, "wk"}, "weeks": {1, "wk"},
	"month": {1, "mo"}, "months": {1, "mo"}, "year": {1, "a"}, "years": {1, "a"}, "yr": {1, "a"}, "yrs": {1, "a"},
	"mole": {1, "mol"}, "moles": {1, "mol"}, "osmol": {1, "osm"}, "osmole": {1, "osm"}, "osmoles": {1, "osm"},
	"equivalent": {1, "eq"}, "equivalents": {1, "eq"},
	"unit": {1, "U"}, "units": {1, "U"}, "iu": {1, "[iU]"},
	"pascal": {1, "Pa"}, "becquerel": {1, "Bq"}, "katal": {1, "kat"}, "gray": {1, "Gy"},
	"mmhg": {1e-3, "m[Hg]"}, "cmh2o": {1e-2, "m[H2O]"},
	"cc": {1e-6, "m3"}, // handled as cm3, see resolve
	"lb": {1, "[lb_av]"}, "lbs": {1, "[lb_av]"}, "pound": {1, "[lb_av]"}, "pounds": {1, "[lb_av]"},
	"oz": {1, "[oz_av]"}, "ounce": {1, "[oz_av]"}, "ounces": {1, "[oz_av]"},
	"in": {1, "[in_i]"}, "inch": {1, "[in_i]"}, "inches": {1, "[in_i]"}, "ft": {1, "[ft_i]"}, "feet": {1, "[ft_i]"}, "foot": {1, "[ft_i]"},
	"yd": {1, "[yd_i]"}, "yard": {1, "[yd_i]"}, "yards": {1, "[yd_i]"}, "mile": {1, "[mi_i]"}, "miles": {1, "[mi_i]"},
	"ppm": {1, "[ppm]"}, "ppb": {1, "[ppb]"}, "ppt": {1, "[ppth]"}, "hpf": {1, "[HPF]"}, "lpf": {1, "[LPF]"},
	"k": {1e3, ""}, "tu": {1, "[tb'U]"}, "psi": {1, "[psi]"}, "angstrom": {1, "Ao"}, "drop": {1, "[drp]"}, "drops": {1, "[drp]"},
}

// unitPrefixes are the UCUM prefixes, "mc" (micro) as hospitals write it,
// longest first.
var unitPrefixes = []struct {
	p     string
	scale float64
}{
	{"da", 1e1}, {"mc", 1e-6}, {"Y", 1e24}, {"Z", 1e21}, {"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9},
	{"M", 1e6}, {"k", 1e3}, {"h", 1e2}, {"d", 1e-1}, {"c", 1e-2}, {"m", 1e-3}, {"u", 1e-6}, {"n", 1e-9},
	{"p", 1e-12}, {"f", 1e-15}, {"a", 1e-18},
}

// unitAnnotations are the words that qualify a unit the way a UCUM
// annotation does ("mg/g Cr" is "mg/g{creat}"), with their canonical
// annotation.
var unitAnnotations = map[string]string{
	"cr": "creat", "creat": "creat", "creatinine": "creat",
	"hb": "hgb", "hgb": "hgb", "hbg": "hgb", "hemoglobin": "hgb", "haemoglobin": "hgb",
	"spec": "spec", "specimen": "spec", "cells": "cells", "cell": "cells", "copies": "copies",
	"rbc": "rbc", "wbc": "wbc",
}

// unitPhrases rewrite multi-word and punctuated spellings before parsing.
// They apply to the whole string or a word in it, ignoring case.
var unitPhrases = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)^\s*°?\s*c\s*$`), "Cel"}, // a bare "C" in a unit field is a temperature, not coulombs
	{regexp.MustCompile(`(?i)^\s*°?\s*f\s*$`), "[degF]"},
	{regexp.MustCompile(`(?i)\b(?:degrees?|deg)\.?\s*(?:celsius|centigrade|c)\b|°\s*c\b|\bdegc\b|\bcelsius\b|\bcentigrade\b`), "Cel"},
	{regexp.MustCompile(`(?i)\b(?:degrees?|deg)\.?\s*(?:fahrenheit|f)\b|°\s*f\b|\bdegf\b|\bfahrenheit\b`), "[degF]"},
	{regexp.MustCompile(`(?i)\bmm\s*(?:\(\s*hg\s*\)|/\s*hg\b|hg\b|\[hg\]|\s+hg\b)`), "mm[Hg]"},
	{regexp.MustCompile(`(?i)\bcm\s*(?:\(\s*h2o\s*\)|h2o\b|\[h2o\]|\s+h2o\b)`), "cm[H2O]"},
	{regexp.MustCompile(`(?i)\bper\s*cent\b|\bpercent(?:age)?\b|\bpct\b`), "%"},
	{regexp.MustCompile(`(?i)\bmultiples? of (?:the )?median\b|\bmom\b`), "{mom}"},
	{regexp.MustCompile(`(?i)\b(?:sq\.?|square)\s+([a-z]+)`), "${1}2"},
	{regexp.MustCompile(`(?i)\b(?:cu\.?|cubic)\s+([a-z]+)`), "${1}3"},
	{regexp.MustCompile(`(?i)\((s|es)\)`), ""}, // "INCH(S)"
	{regexp.MustCompile(`(?i)\s+per\s+|^per\s+`), "/"},
	{regexp.MustCompile(`#`), ""},
}

// unitExpr is a parsed unit: scale × Π atom^exp, with annotations.
type unitExpr struct {
	scale  float64
	atoms  map[string]int
	annots []string
	// prefix is the power of ten each atom's prefixes contribute: "uU/mL"
	// has U: -6, L: 3 where OMOP's "10*-6.[U]/mL" has U: 0, L: 3. Two
	// spellings with one key are told apart by how many atoms carry the
	// same prefix.
	prefix map[string]int
	braced bool // an annotation was written in braces
}

// prefixExponent is the power of ten of a prefix scale.
func prefixExponent(scale float64) int {
	return int(math.Round(math.Log10(scale)))
}

// samePrefixes counts the atoms that carry the same prefix in u and v.
func (u unitExpr) samePrefixes(v unitExpr) int {
	n := 0
	for a, p := range u.prefix {
		if q, ok := v.prefix[a]; ok && p == q {
			n++
		}
	}
	return n
}

// key is the canonical form two spellings of one unit share.
func (u unitExpr) key() string {
	var parts []string
	for a, e := range u.atoms {
		if e != 0 {
			parts = append(parts, a+"^"+strconv.Itoa(e))
		}
	}
	slices.Sort(parts)
	an := slices.Clone(u.annots)
	slices.Sort(an)
	return fmt.Sprintf("%.6g|%s|%s", u.scale, strings.Join(parts, "."), strings.Join(an, ","))
}

// empty reports whether u names no unit: no atom, and no annotation
// written in braces ("{MOM}"); a bare word like "creatinine" is no unit.
func (u unitExpr) empty() bool {
	return len(u.atoms) == 0 && !u.braced // "mg/mg" has atoms, cancelled
}

// unitParser parses one string; foldCase selects UCUM's case-insensitive
// reading ("MG/DL", "ku/L").
type unitParser struct {
	s        string
	i        int
	foldCase bool
}

// parseUnit parses s into a unit expression; ok is false when any part of
// s is not a unit.
func parseUnit(s string, foldCase bool) (unitExpr, bool) {
	p := &unitParser{s: s, foldCase: foldCase}
	u := unitExpr{scale: 1, atoms: map[string]int{}, prefix: map[string]int{}}
	if !p.expr(&u, 1) || p.i != len(p.s) {
		return unitExpr{}, false
	}
	if u.empty() {
		return unitExpr{}, false
	}
	return u, true
}

func (p *unitParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// expr := term (op term)*, where "/" inverts only the next term (UCUM is
// left-associative: "nmol/h/mg" is nmol per hour per milligram).
func (p *unitParser) expr(u *unitExpr, sign int) bool {
	p.skipSpace()
	if p.peek() == '/' { // "/min", "1/min" handled by the number term
		p.i++
		if !p.term(u, -sign) {
			return false
		}
	} else if !p.term(u, sign) {
		return false
	}
	for {
		sp := p.skipSpace()
		switch c := p.peek(); {
		case c == '/':
			p.i++
			p.skipSpace()
			if !p.term(u, -sign) {
				return false
			}
		case c == '.' || c == '*':
			p.i++
			p.skipSpace()
			if !p.term(u, sign) {
				return false
			}
		case c == 0 || c == ')':
			return true
		case sp || p.s[p.i-1] == '}':
			// Juxtaposition after a space or an annotation: "mg/g Cr",
			// "nmol{BColl}eq".
			if !p.term(u, sign) {
				return false
			}
		case c == '{' || c == '[':
			if !p.term(u, sign) {
				return false
			}
		default:
			return false
		}
	}
}

func (p *unitParser) skipSpace() bool {
	j := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > j
}

func isUnitLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '%' || c == '_' || c == '\''
}

func (p *unitParser) term(u *unitExpr, sign int) bool {
	c := p.peek()
	switch {
	case c == '(':
		p.i++
		if !p.expr(u, sign) || p.peek() != ')' {
			return false
		}
		p.i++
		return true
	case c == '{':
		j := strings.IndexByte(p.s[p.i:], '}')
		if j < 0 {
			return false
		}
		a := strings.ToLower(strings.TrimSpace(p.s[p.i+1 : p.i+j]))
		if canon, ok := unitAnnotations[a]; ok {
			a = canon
		}
		if a != "" {
			u.annots = append(u.annots, a)
			u.braced = true
		}
		p.i += j + 1
		return true
	case c >= '0' && c <= '9':
		j := p.i
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.' && p.i+1 < len(p.s) && p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9') {
			p.i++
		}
		v, err := strconv.ParseFloat(p.s[j:p.i], 64)
		if err != nil {
			return false
		}
		if p.s[j:p.i] == "10" && (p.peek() == '*' || p.peek() == '^') { // 10*3, 10^-6
			p.i++
			e, ok := p.exponent()
			if !ok {
				return false
			}
			v = math.Pow(10, float64(e))
		}
		if p.peek() != 0 && isUnitLetter(p.peek()) { // "24h": a number glued to a unit
			if sign < 0 {
				u.scale /= v
			} else {
				u.scale *= v
			}
			return p.term(u, sign)
		}
		if sign < 0 {
			u.scale /= v
		} else {
			u.scale *= v
		}
		return true
	}
	j := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isUnitLetter(c) {
			p.i++
			continue
		}
		if c == '[' { // "[iU]", "m[Hg]", "[in_i'Hg]"
			k := strings.IndexByte(p.s[p.i:], ']')
			if k < 0 {
				return false
			}
			p.i += k + 1
			continue
		}
		if c >= '0' && c <= '9' && strings.HasPrefix(p.s[j:p.i], "[") { // "[in_i'H2O]" is read above
			p.i++
			continue
		}
		break
	}
	id := p.s[j:p.i]
	if id == "" {
		return false
	}
	exp := 1
	if c := p.peek(); c == '-' || c >= '0' && c <= '9' || (c == '*' || c == '^') && p.i+1 < len(p.s) && (p.s[p.i+1] == '-' || p.s[p.i+1] >= '0' && p.s[p.i+1] <= '9') {
		if c == '*' || c == '^' {
			p.i++
		}
		e, ok := p.exponent()
		if !ok {
			return false
		}
		exp = e
	}
	scale, atom, extra, ok := p.resolve(id)
	if !ok {
		if a, ok := unitAnnotations[strings.ToLower(id)]; ok && exp == 1 {
			u.annots = append(u.annots, a)
			return true
		}
		return false
	}
	e := sign * exp * extra
	u.scale *= math.Pow(scale, float64(e))
	if atom == "" {
		return true // "K/uL": a thousand per microlitre
	}
	u.atoms[atom] += e
	u.prefix[atom] += e * prefixExponent(scale)
	return true
}

func (p *unitParser) exponent() (int, bool) {
	j := p.i
	if p.peek() == '-' || p.peek() == '+' {
		p.i++
	}
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	e, err := strconv.Atoi(p.s[j:p.i])
	return e, err == nil
}

// resolve reads a unit symbol: an atom, a word, or a prefix and an atom.
// extra is the atom's own power (a square inch is an inch squared).
func (p *unitParser) resolve(id string) (scale float64, atom string, extra int, ok bool) {
	if p.foldCase {
		id = strings.ToLower(id)
	}
	atomOf := func(s string) (string, int, bool, bool) {
		if p.foldCase && s == "u" {
			return "U", 1, true, true // "ku/L": units, not atomic mass units
		}
		if sq, ok := squareAtoms[s]; ok {
			return sq.base, sq.exp, false, true
		}
		if a, ok := ucumAtoms[s]; ok {
			return a.code, 1, a.metric, true
		}
		if p.foldCase {
			for k, a := range ucumAtoms {
				if strings.EqualFold(k, s) && (len(k) > 1 || k == "g" || k == "l" || k == "m" || k == "s" || k == "U" || k == "h" || k == "d") {
					return a.code, 1, a.metric, true
				}
			}
		}
		return "", 0, false, false
	}
	if a, x, _, ok := atomOf(id); ok {
		return 1, a, x, true
	}
	if w, ok := unitWords[strings.ToLower(id)]; ok {
		if strings.EqualFold(id, "cc") {
			return 1e-2, "m", 3, true
		}
		return w.scale, w.atom, 1, true
	}
	for _, pre := range unitPrefixes {
		if len(id) <= len(pre.p) {
			continue
		}
		head, rest := id[:len(pre.p)], id[len(pre.p):]
		if head != pre.p {
			continue // case-insensitive reading: id is lower case, so "MG" is milligram
		}
		if a, x, metric, ok := atomOf(rest); ok && metric {
			return pre.scale, a, x, true
		}
		if w, ok := unitWords[strings.ToLower(rest)]; ok && w.scale == 1 && len(rest) > 2 {
			if a, ok := ucumAtoms[w.atom]; ok && a.metric {
				return pre.scale, w.atom, 1, true
			}
		}
	}
	return 0, "", 0, false
}

// normaliseUnitText applies unitPhrases.
func normaliseUnitText(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
	s = strings.NewReplacer("µ", "u", "μ", "u").Replace(s)
	for _, ph := range unitPhrases {
		s = ph.re.ReplaceAllString(s, ph.with)
	}
	return strings.TrimSpace(s)
}

// unitIndex finds UCUM concepts by the meaning of their code.
type unitIndex struct {
	byKey  map[string][]int32 // unitExpr.key → ordinals of UCUM concepts
	parsed map[int32]unitExpr
}

func newUnitIndex(c *Corpus) *unitIndex {
	ix := &unitIndex{byKey: map[string][]int32{}, parsed: map[int32]unitExpr{}}
	for o := range c.Concepts {
		con := &c.Concepts[o]
		if con.Vocabulary != "UCUM" {
			continue
		}
		if u, ok := parseUnit(con.Code, false); ok {
			k := u.key()
			ix.byKey[k] = append(ix.byKey[k], int32(o))
			ix.parsed[int32(o)] = u
		}
	}
	return ix
}

// unitMatch is a UCUM concept whose meaning equals the query's.
type unitMatch struct {
	ordinal int32
	exact   bool // the query spells the concept's code (up to case)
	same    int  // atoms with the query's prefix
}

// match parses text as a unit and returns the UCUM concepts that mean the
// same, best spelling first. It returns nil when text is not a unit or no
// concept means it. caseFolded reports that only the case-insensitive
// reading matched (a weaker reading: "K/L" is kelvin per litre read
// case-sensitively).
func (ix *unitIndex) match(c *Corpus, text string, admit func(int32) bool) (out []unitMatch, caseFolded bool) {
	if len(text) > 40 || strings.Count(text, " ") > 3 {
		return nil, false // a unit is short: spare drug and lab names the parse
	}
	norm := normaliseUnitText(text)
	if norm == "" || len(norm) > 40 {
		return nil, false
	}
	for _, fold := range []bool{false, true} {
		u, ok := parseUnit(norm, fold)
		if !ok {
			continue
		}
		for _, o := range ix.byKey[u.key()] {
			if admit != nil && !admit(o) {
				continue
			}
			out = append(out, unitMatch{ordinal: o, exact: strings.EqualFold(c.Concepts[o].Code, norm), same: u.samePrefixes(ix.parsed[o])})
		}
		if len(out) > 0 {
			slices.SortStableFunc(out, func(a, b unitMatch) int {
				ca, cb := &c.Concepts[a.ordinal], &c.Concepts[b.ordinal]
				switch {
				case a.exact != b.exact:
					if a.exact {
						return -1
					}
					return 1
				case a.same != b.same:
					return b.same - a.same
				case (ca.Standard == "S") != (cb.Standard == "S"):
					if ca.Standard == "S" {
						return -1
					}
					return 1
				}
				return len(ca.Code) - len(cb.Code)
			})
			return out, fold
		}
	}
	return nil, false
}

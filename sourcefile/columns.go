package sourcefile

import (
	"strings"
)

// Columns names the header columns holding each field. In Options, empty
// names are detected from the header; in a Result, they are the header names
// as written in the file ("" for an absent optional column).
type Columns struct {
	Code        string // required
	Description string // required
	Count       string // optional: occurrences of the code; absent means each row counts 1
	Specimen    string // optional context
	Unit        string // optional context
	DomainHint  string // optional context: the OMOP domain the code belongs to
	Category    string // optional context
}

type role int

const (
	roleCode role = iota
	roleDescription
	roleCount
	roleSpecimen
	roleUnit
	roleDomainHint
	roleCategory
	numRoles
)

var roleNames = [numRoles]string{"code", "description", "count", "specimen", "unit", "domain hint", "category"}

// headerNames lists, per role and in order of preference, the normalised
// header names recognised. No name appears under two roles.
var headerNames = [numRoles][]string{
	roleCode:        {"code", "source_code", "local_code", "source_value", "code_value", "concept_code", "item_code", "test_code"},
	roleDescription: {"description", "source_description", "name", "term", "source_name", "source_term", "display", "label", "text", "code_description", "long_name"},
	roleCount:       {"count", "source_count", "frequency", "freq", "n", "occurrences", "occurrence_count", "record_count", "num_records"},
	roleSpecimen:    {"specimen", "specimen_type", "sample_type"},
	roleUnit:        {"unit", "units", "unit_of_measure", "uom", "source_unit"},
	roleDomainHint:  {"domain", "domain_hint", "domain_id", "target_domain"},
	roleCategory:    {"category", "source_category", "class", "group"},
}

// AcceptedHeaders returns, for each column role ("code", "description",
// "count", "specimen", "unit", "domain hint", "category"), the header names
// Parse recognises, in order of preference. Matching ignores case and treats
// spaces, hyphens and dots as underscores. The map is a fresh copy.
func AcceptedHeaders() map[string][]string {
	m := make(map[string][]string, numRoles)
	for r := range numRoles {
		m[roleNames[r]] = append([]string(nil), headerNames[r]...)
	}
	return m
}

func (c Columns) get(r role) string {
	return [numRoles]string{c.Code, c.Description, c.Count, c.Specimen, c.Unit, c.DomainHint, c.Category}[r]
}

func (c *Columns) set(r role, name string) {
	*[numRoles]*string{&c.Code, &c.Description, &c.Count, &c.Specimen, &c.Unit, &c.DomainHint, &c.Category}[r] = name
}

// normalizeHeader makes "Source Code", "source-code" and "SOURCE_CODE" equal.
func normalizeHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.':
			return '_'
		}
		return r
	}, s)
}

// resolveColumns maps each role to a header index (-1 when absent), using
// explicit names where given. It fails with *ColumnError for a missing
// required column, an absent explicit name, an ambiguous header or one
// column claimed by two roles.
func resolveColumns(header []string, explicit Columns) ([numRoles]int, error) {
	var idx [numRoles]int
	norm := make([]string, len(header))
	for i, h := range header {
		norm[i] = normalizeHeader(h)
	}
	shown := make([]string, 0, min(len(header), 21))
	for i, h := range header {
		if i == 20 {
			shown = append(shown, "…")
			break
		}
		shown = append(shown, short(h))
	}
	find := func(name string) []int {
		var at []int
		for i, n := range norm {
			if n == name {
				at = append(at, i)
			}
		}
		return at
	}
	used := map[int]role{}
	for r := range numRoles {
		idx[r] = -1
		if name := explicit.get(r); name != "" {
			at := find(normalizeHeader(name))
			switch len(at) {
			case 0:
				return idx, &ColumnError{Role: roleNames[r], Named: name, Header: shown}
			case 1:
				idx[r] = at[0]
			default:
				return idx, &ColumnError{Role: roleNames[r], Header: shown, Detail: "several columns are named " + quote(name)}
			}
		} else {
			for _, cand := range headerNames[r] {
				at := find(cand)
				if len(at) > 1 {
					return idx, &ColumnError{Role: roleNames[r], Header: shown, Detail: "several columns are named " + quote(cand) + "; pass the column name"}
				}
				if len(at) == 1 {
					idx[r] = at[0]
					break
				}
			}
		}
		if idx[r] < 0 {
			if r == roleCode || r == roleDescription {
				return idx, &ColumnError{Role: roleNames[r], Header: shown, Accepted: headerNames[r]}
			}
			continue
		}
		if other, dup := used[idx[r]]; dup {
			return idx, &ColumnError{Role: roleNames[r], Header: shown,
				Detail: "column " + quote(short(header[idx[r]])) + " is already the " + roleNames[other] + " column"}
		}
		used[idx[r]] = r
	}
	return idx, nil
}

func quote(s string) string { return `"` + s + `"` }

// short cuts s to 40 bytes, so that messages quote at most an excerpt of
// what a file holds.
func short(s string) string {
	if len(s) <= 40 {
		return s
	}
	return strings.ToValidUTF8(s[:40], "") + "…"
}

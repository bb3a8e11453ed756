package tenancy

import (
	"regexp"
	"strings"
)

var slugInvalid = regexp.MustCompile(`[^a-z0-9]+`)

// SlugOf derives an organization's slug from its name: lower-case letters
// and digits, runs of anything else turned into one '-', at most 48
// characters (room for a suffix that makes it unique). It returns "org"
// for a name with no letter or digit, so the result is always a valid
// slug.
func SlugOf(name string) string {
	s := strings.Trim(slugInvalid.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 48 {
		s = strings.TrimRight(s[:48], "-")
	}
	if len(s) < 2 {
		return "org" + s
	}
	return s
}

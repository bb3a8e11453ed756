package check

import (
	"bufio"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func itoa(n int) string { return strconv.Itoa(n) }

func portOf(hostport string) string {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	return p
}

func urlPort(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	if p := pu.Port(); p != "" {
		return p
	}
	if pu.Scheme == "https" {
		return "443"
	}
	return "80"
}

var shellPortiere = regexp.MustCompile(`(?:^|[\s;&|{(])portiere\s+([a-z]+)`)

// shellRole is the subcommand of the first `portiere <subcommand>` in a
// shell line (a service that runs the binary through sh -c), "?" if none.
func shellRole(line string) string {
	if m := shellPortiere.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return "?"
}

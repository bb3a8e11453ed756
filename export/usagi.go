package export

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// UsagiColumns are the columns OHDSI Usagi writes when it saves a mapping
// (WriteCodeMappingsToFile in OHDSI/Usagi, without ADD_INFO columns), in
// Usagi's order. Usagi reads a file with these columns back.
var UsagiColumns = []string{
	"sourceCode", "sourceName", "sourceFrequency", "sourceAutoAssignedConceptIds",
	"matchScore", "mappingStatus", "equivalence", "statusSetBy", "statusSetOn",
	"conceptId", "conceptName", "domainId", "mappingType", "comment",
	"createdBy", "createdOn", "assignedReviewer",
}

// UsagiWriter writes decisions as a Usagi mapping file. Create one with
// NewUsagi.
//
// Usagi's CSV dialect is not RFC 4180: its reader is line based, so a field
// never spans lines. UsagiWriter writes what Usagi's own writer would:
// backslashes doubled, carriage returns dropped, line feeds written as the
// two characters \n, and a field quoted (quotes doubled) only when it holds
// a quote or a comma.
type UsagiWriter struct {
	w      *bufio.Writer
	header bool
	closed bool
}

// NewUsagi returns a writer of the Usagi mapping CSV. Every decision is
// written, with Usagi's statuses:
//
//	approved, overridden  APPROVED   equivalence from Match (EQUIVALENT, WIDER, NARROWER, INEXACT)
//	rejected              FLAGGED    equivalence UNMATCHED, conceptId 0 (the rejected target is not kept)
//	undecided             UNCHECKED  equivalence UNREVIEWED, conceptId the proposal or 0
//
// matchScore is the confidence with two decimals; statusSetOn and createdOn
// are Unix milliseconds, as Usagi stores them; statusSetBy is the reviewer;
// createdBy is the reviewer for an override and "Portiere" (with the
// method) for a proposal. Decisions of one source code must be consecutive
// (Usagi groups a code's rows) and share the code-level fields.
func NewUsagi(w io.Writer) *UsagiWriter {
	return &UsagiWriter{w: bufio.NewWriter(w)}
}

// Write writes one row for d; it returns ErrInvalidDecision for a malformed
// decision.
func (u *UsagiWriter) Write(d Decision) error {
	if u.closed {
		return ErrClosed
	}
	if err := d.validate(); err != nil {
		return err
	}
	if err := u.writeHeader(); err != nil {
		return err
	}
	status, equivalence := "UNCHECKED", "UNREVIEWED"
	conceptID, name, domain := d.TargetConceptID, d.TargetConceptName, d.TargetDomainID
	switch d.Status {
	case StatusApproved, StatusOverridden:
		status, equivalence = "APPROVED", usagiEquivalence[d.Match]
	case StatusRejected:
		status, equivalence = "FLAGGED", "UNMATCHED"
		conceptID, name, domain = 0, "", ""
	}
	var setBy, setOn string = "", "0"
	if d.Status != StatusUndecided {
		setBy, setOn = d.Reviewer, unixMillis(d)
	}
	createdBy, createdOn := "Portiere", "0"
	if d.Method != "" {
		createdBy += " (" + d.Method + ")"
	}
	if d.Status == StatusOverridden {
		createdBy, createdOn = d.Reviewer, unixMillis(d)
	}
	return u.line([]string{
		d.SourceCode, d.SourceDescription, strconv.FormatInt(d.SourceCount, 10), "",
		strconv.FormatFloat(d.Confidence, 'f', 2, 64), status, equivalence, setBy, setOn,
		strconv.FormatInt(max(conceptID, 0), 10), name, domain, "MAPS_TO", d.Comment,
		createdBy, createdOn, "",
	})
}

// Close writes the header if no row was written and flushes.
func (u *UsagiWriter) Close() error {
	if u.closed {
		return ErrClosed
	}
	u.closed = true
	if err := u.writeHeader(); err != nil {
		return err
	}
	return u.w.Flush()
}

var usagiEquivalence = map[Match]string{
	MatchExact: "EQUIVALENT", MatchBroader: "WIDER", MatchNarrower: "NARROWER", MatchInexact: "INEXACT",
}

func unixMillis(d Decision) string {
	if d.DecidedAt.IsZero() {
		return "0"
	}
	return strconv.FormatInt(d.DecidedAt.UnixMilli(), 10)
}

func (u *UsagiWriter) writeHeader() error {
	if u.header {
		return nil
	}
	u.header = true
	return u.line(UsagiColumns)
}

// line writes one record the way Usagi's WriteCSVFile.columns2line does.
func (u *UsagiWriter) line(fields []string) error {
	for i, f := range fields {
		if i > 0 {
			u.w.WriteByte(',')
		}
		u.w.WriteString(usagiField(f))
	}
	_, err := u.w.WriteString("\n")
	return err
}

var usagiEscaper = strings.NewReplacer(`\`, `\\`, "\r", "", "\n", `\n`)

func usagiField(s string) string {
	quoted := strings.ContainsRune(s, '"')
	s = usagiEscaper.Replace(s)
	if quoted {
		s = strings.ReplaceAll(s, `"`, `""`)
	}
	if quoted || strings.ContainsRune(s, ',') {
		s = `"` + s + `"`
	}
	return s
}

package athena

import (
	"errors"
	"fmt"
)

// ErrNoConceptFile is returned by Open and OpenFS when the folder holds no
// CONCEPT.csv, the one file a release cannot do without.
var ErrNoConceptFile = errors.New("athena: no CONCEPT.csv in the vocabulary folder")

// ParseError reports malformed input: the file, the 1-based line (the
// header is line 1) and, when one column is at fault, its name.
type ParseError struct {
	File   string // file name as found in the folder, e.g. "CONCEPT.csv"
	Line   int
	Column string // header name of the offending column; "" for whole-line problems
	Msg    string
	Err    error // underlying error, if any
}

func (e *ParseError) Error() string {
	msg := e.Msg
	if e.Column != "" {
		msg = "column " + e.Column + ": " + msg
	}
	return fmt.Sprintf("athena: %s line %d: %s", e.File, e.Line, msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

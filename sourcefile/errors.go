package sourcefile

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Parse's errors wrap exactly one of them; the typed errors
// below carry the details.
var (
	// ErrEmpty: no header, or a header and no data rows. HTTP 422.
	ErrEmpty = errors.New("sourcefile: empty file")
	// ErrTooLarge: the file exceeds Limits.MaxBytes, MaxRows or MaxColumns
	// (see *LimitError). HTTP 413.
	ErrTooLarge = errors.New("sourcefile: file too large")
	// ErrEncoding: the file is not UTF-8 (see *EncodingError). HTTP 422.
	ErrEncoding = errors.New("sourcefile: not UTF-8")
	// ErrMissingColumn: no code or description column could be found, or a
	// column the caller named is absent (see *ColumnError). HTTP 422.
	ErrMissingColumn = errors.New("sourcefile: missing column")
	// ErrMalformed: one or more rows are malformed (see *RowErrors). HTTP 422.
	ErrMalformed = errors.New("sourcefile: malformed rows")
)

// LimitError says which limit a file broke.
type LimitError struct {
	What  string // "file size", "rows" or "columns"
	Limit int64
	Unit  string // "bytes", "rows", "columns"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("sourcefile: file too large: %s exceeds the limit of %d %s", e.What, e.Limit, e.Unit)
}

// Unwrap returns ErrTooLarge.
func (e *LimitError) Unwrap() error { return ErrTooLarge }

// EncodingError says why a file is not UTF-8. Line is 0 when the problem is
// the whole file (a UTF-16 byte order mark).
type EncodingError struct {
	Line     int
	Encoding string // the encoding the file appears to use, e.g. "UTF-16LE" or "Latin-1 (ISO-8859-1)"
	Detail   string
}

func (e *EncodingError) Error() string {
	var b strings.Builder
	b.WriteString("sourcefile: not UTF-8: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Detail)
	if e.Encoding != "" {
		fmt.Fprintf(&b, "; the file looks %s encoded", e.Encoding)
	}
	b.WriteString("; save it as UTF-8 and upload it again")
	return b.String()
}

// Unwrap returns ErrEncoding.
func (e *EncodingError) Unwrap() error { return ErrEncoding }

// ColumnError says which column is missing or ambiguous.
type ColumnError struct {
	Role     string   // "code", "description", … ; the column's purpose
	Named    string   // the name the caller asked for, if any
	Header   []string // the file's header, as written (truncated to 20 names)
	Accepted []string // header names recognised for Role
	Detail   string   // set for ambiguous headers
}

func (e *ColumnError) Error() string {
	hdr := strings.Join(e.Header, ", ")
	switch {
	case e.Detail != "":
		return fmt.Sprintf("sourcefile: missing column: %s column: %s (header: %s)", e.Role, e.Detail, hdr)
	case e.Named != "":
		return fmt.Sprintf("sourcefile: missing column: no column %q for the %s (header: %s)", e.Named, e.Role, hdr)
	}
	return fmt.Sprintf("sourcefile: missing column: no %s column in the header (%s); name it one of %s, or pass the column name",
		e.Role, hdr, strings.Join(e.Accepted, ", "))
}

// Unwrap returns ErrMissingColumn.
func (e *ColumnError) Unwrap() error { return ErrMissingColumn }

// RowError is one malformed row. Line is the file's physical line (1-based,
// the header is line 1 unless it spans more).
type RowError struct {
	Line   int
	Detail string
}

func (e RowError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Detail) }

// RowErrors lists malformed rows in file order: the first Limits.MaxErrors
// of them, and Total counts them all.
type RowErrors struct {
	Rows  []RowError
	Total int
}

func (e *RowErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sourcefile: malformed rows: %d malformed row", e.Total)
	if e.Total != 1 {
		b.WriteString("s")
	}
	for i, r := range e.Rows {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
	}
	if more := e.Total - len(e.Rows); more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	return b.String()
}

// Unwrap returns ErrMalformed.
func (e *RowErrors) Unwrap() error { return ErrMalformed }

package athena

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Format is the flavour of one file, detected from its header line.
type Format int

// The flavours Rows reads.
const (
	FormatAthena Format = iota // tab-separated, unquoted, dates YYYYMMDD
	FormatCSV                  // comma-separated, RFC 4180 quoting, dates YYYY-MM-DD
)

func (f Format) String() string {
	if f == FormatCSV {
		return "csv"
	}
	return "athena"
}

// maxLine bounds one line of a file. Real rows are a few hundred bytes; the
// bound keeps memory constant when a file has no line breaks at all.
const maxLine = 1 << 20

// Rows is a cursor over the rows of one file:
//
//	rows, err := rel.ConceptRows()
//	if err != nil { ... }
//	defer rows.Close()
//	for rows.Next() {
//		c := rows.Row()
//	}
//	if err := rows.Err(); err != nil { ... }
//
// For a table the release lacks, Next returns false at once. Rows is not
// safe for concurrent use.
type Rows[T any] struct {
	file   string
	format Format
	size   int64
	closer io.Closer
	src    source
	rec    record
	parse  func(*record) T
	row    T
	err    error
}

// source yields the fields of one data line at a time; the slice and its
// strings stay valid until the next call.
type source interface {
	next() ([]string, error) // io.EOF after the last line; *ParseError on bad input
	line() int               // 1-based line of the fields last returned
	offset() int64           // bytes consumed so far
}

// Next advances to the next row. It returns false at the end of the file or
// on the first error, which Err then returns; either way the file is closed.
func (r *Rows[T]) Next() bool {
	if r.src == nil || r.err != nil {
		return false
	}
	fields, err := r.src.next()
	if err != nil {
		if err != io.EOF {
			r.err = err
		}
		r.Close()
		return false
	}
	r.rec.fields = fields
	r.rec.failed = false
	row := r.parse(&r.rec)
	if r.rec.failed {
		r.err = &ParseError{File: r.file, Line: r.src.line(), Column: r.rec.cols[r.rec.errCol].name, Msg: r.rec.errMsg}
		r.Close()
		return false
	}
	r.row = row
	return true
}

// Row returns the current row.
func (r *Rows[T]) Row() T { return r.row }

// Err returns the error that ended the iteration, or nil at a clean end.
func (r *Rows[T]) Err() error { return r.err }

// Close releases the file. It is safe to call more than once.
func (r *Rows[T]) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	r.src = nil
	return err
}

// File is the file's name as found in the folder, or the canonical name
// when the release lacks the table.
func (r *Rows[T]) File() string { return r.file }

// Format is the flavour detected from the header.
func (r *Rows[T]) Format() Format { return r.format }

// Line is the 1-based line number of the current row.
func (r *Rows[T]) Line() int {
	if r.src == nil {
		return 0
	}
	return r.src.line()
}

// Offset is how many bytes of the file have been consumed; with Size it
// gives the fraction done.
func (r *Rows[T]) Offset() int64 {
	if r.src == nil {
		return r.size
	}
	return r.src.offset()
}

// Size is the file's size in bytes (0 for a table the release lacks).
func (r *Rows[T]) Size() int64 { return r.size }

// column is one CDM column a table reads.
type column struct {
	name     string
	optional bool // nullable in the CDM: may be missing from the header
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func openRows[T any](rel *Release, t Table, cols []column, parse func(*record) T) (*Rows[T], error) {
	name, ok := rel.files[t]
	if !ok {
		return &Rows[T]{file: t.FileName()}, nil
	}
	f, err := rel.fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("athena: %w", err)
	}
	rows := &Rows[T]{file: name, closer: f, parse: parse, rec: record{cols: cols}}
	if st, err := f.Stat(); err == nil {
		rows.size = st.Size()
	}
	if err := rows.start(bufio.NewReaderSize(f, 256<<10)); err != nil {
		f.Close()
		return nil, err
	}
	return rows, nil
}

// start reads the header: it picks the flavour and maps the table's columns
// to field positions.
func (r *Rows[T]) start(br *bufio.Reader) error {
	var skipped int64
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
		skipped = 3
	}
	first, err := peekLine(br)
	if err != nil {
		return &ParseError{File: r.file, Line: 1, Msg: "read header", Err: err}
	}
	if len(bytes.TrimSpace(first)) == 0 {
		// An empty file reads as a header-only one: no rows.
		r.src = emptySource{}
		return nil
	}
	var header []string
	if bytes.IndexByte(first, '\t') >= 0 || bytes.IndexByte(first, ',') < 0 {
		ts := &tabSource{file: r.file, br: br, off: skipped}
		header, err = ts.header()
		r.src, r.format = ts, FormatAthena
	} else {
		cs := &csvSource{file: r.file, r: csv.NewReader(br), base: skipped}
		cs.r.ReuseRecord = true
		header, err = cs.header()
		r.src, r.format = cs, FormatCSV
	}
	if err != nil {
		return err
	}
	return r.mapColumns(header)
}

func (r *Rows[T]) mapColumns(header []string) error {
	pos := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if j, dup := pos[h]; dup {
			return &ParseError{File: r.file, Line: 1, Msg: fmt.Sprintf("column %q appears twice (fields %d and %d)", h, j+1, i+1)}
		}
		pos[h] = i
	}
	r.rec.idx = make([]int, len(r.rec.cols))
	var missing []string
	for i, c := range r.rec.cols {
		j, ok := pos[c.name]
		switch {
		case ok:
			r.rec.idx[i] = j
		case c.optional:
			r.rec.idx[i] = -1
		default:
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		what := "column"
		if len(missing) > 1 {
			what = "columns"
		}
		return &ParseError{File: r.file, Line: 1, Msg: fmt.Sprintf("missing required %s %s (header has: %s)",
			what, strings.Join(missing, ", "), strings.Join(header, ", "))}
	}
	return nil
}

// peekLine returns the first line without consuming it (up to the buffer
// size, which is plenty for a header).
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 512; ; n *= 2 {
		n = min(n, br.Size())
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i], nil
		}
		if err == io.EOF || err == bufio.ErrBufferFull || n == br.Size() {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

type emptySource struct{}

func (emptySource) next() ([]string, error) { return nil, io.EOF }
func (emptySource) line() int               { return 1 }
func (emptySource) offset() int64           { return 0 }

// tabSource reads the Athena flavour: one row per line, fields split on
// tabs, no quoting. Each line becomes one string and the fields are slices
// of it, so a row costs one allocation.
type tabSource struct {
	file   string
	br     *bufio.Reader
	n      int // fields per line, from the header
	lineNo int
	off    int64
	fields []string
	long   []byte // lines longer than the read buffer are gathered here
}

func (s *tabSource) header() ([]string, error) {
	b, err := s.readLine()
	if err != nil {
		return nil, s.ioErr(err)
	}
	s.lineNo = 1
	h := strings.Split(string(trimEOL(b)), "\t")
	s.n = len(h)
	s.fields = make([]string, 0, s.n)
	return h, nil
}

func (s *tabSource) next() ([]string, error) {
	for {
		b, err := s.readLine()
		if err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, s.ioErr(err)
		}
		s.lineNo++
		b = trimEOL(b)
		if len(b) == 0 {
			continue // blank lines, e.g. a trailing one, carry no row
		}
		if !utf8.Valid(b) {
			return nil, &ParseError{File: s.file, Line: s.lineNo, Msg: "not valid UTF-8"}
		}
		line := string(b)
		f := s.fields[:0]
		for {
			i := strings.IndexByte(line, '\t')
			if i < 0 {
				f = append(f, line)
				break
			}
			f = append(f, line[:i])
			line = line[i+1:]
		}
		s.fields = f
		if len(f) != s.n {
			return nil, &ParseError{File: s.file, Line: s.lineNo,
				Msg: fmt.Sprintf("wrong column count: %d tab-separated fields, the header has %d", len(f), s.n)}
		}
		return f, nil
	}
}

// readLine returns the next line including its '\n', or the unterminated
// last one.
func (s *tabSource) readLine() ([]byte, error) {
	b, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > maxLine {
				return nil, &ParseError{File: s.file, Line: s.lineNo + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
			}
			b, err = s.br.ReadSlice('\n')
			s.long = append(s.long, b...)
		}
		b = s.long
	}
	s.off += int64(len(b))
	if err == io.EOF && len(b) > 0 {
		return b, nil
	}
	return b, err
}

func (s *tabSource) ioErr(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return &ParseError{File: s.file, Line: s.lineNo + 1, Msg: "read failed", Err: err}
}

func (s *tabSource) line() int     { return s.lineNo }
func (s *tabSource) offset() int64 { return s.off }

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// csvSource reads the CDM-export flavour with encoding/csv, which handles
// quoting, embedded line breaks and CRLF.
type csvSource struct {
	file   string
	r      *csv.Reader
	base   int64 // bytes skipped before the reader started (a BOM)
	lineNo int
}

func (s *csvSource) header() ([]string, error) {
	h, err := s.r.Read()
	if err != nil {
		return nil, s.convert(err, nil)
	}
	s.lineNo = 1
	// FieldsPerRecord was 0, so the reader now expects len(h) fields per
	// record. ReuseRecord means h is overwritten by the next Read.
	return append([]string(nil), h...), nil
}

func (s *csvSource) next() ([]string, error) {
	rec, err := s.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, s.convert(err, rec)
	}
	s.lineNo, _ = s.r.FieldPos(0)
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return nil, &ParseError{File: s.file, Line: s.lineNo, Msg: "not valid UTF-8"}
		}
	}
	return rec, nil
}

func (s *csvSource) convert(err error, rec []string) error {
	var ce *csv.ParseError
	if !errors.As(err, &ce) {
		return &ParseError{File: s.file, Line: s.lineNo + 1, Msg: "read failed", Err: err}
	}
	if errors.Is(ce.Err, csv.ErrFieldCount) {
		return &ParseError{File: s.file, Line: ce.StartLine,
			Msg: fmt.Sprintf("wrong column count: %d comma-separated fields, the header has %d", len(rec), s.r.FieldsPerRecord)}
	}
	return &ParseError{File: s.file, Line: ce.Line, Msg: ce.Err.Error(), Err: ce.Err}
}

func (s *csvSource) line() int     { return s.lineNo }
func (s *csvSource) offset() int64 { return s.base + s.r.InputOffset() }

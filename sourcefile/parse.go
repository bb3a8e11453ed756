package sourcefile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Default limits, used for every zero field of Limits.
const (
	DefaultMaxBytes      = 20 << 20 // 20 MiB: about 200,000 rows of typical source codes
	DefaultMaxRows       = 1_000_000
	DefaultMaxColumns    = 256
	DefaultMaxFieldBytes = 4096
	DefaultMaxErrors     = 100
)

// Limits bound what Parse accepts. Zero fields take the defaults above.
type Limits struct {
	MaxBytes      int64 // whole file, BOM included
	MaxRows       int   // data rows, header excluded
	MaxColumns    int   // header fields
	MaxFieldBytes int   // one field; a longer one is a malformed row
	MaxErrors     int   // malformed rows listed in *RowErrors (all are counted)
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = DefaultMaxColumns
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = DefaultMaxErrors
	}
	return l
}

// Options configure Parse. The zero value detects everything and applies
// the default limits.
type Options struct {
	Limits  Limits
	Columns Columns
	// Delimiter is ',', ';' or '\t'; 0 detects it.
	Delimiter rune
	// DescriptionAsCode lets a row with an empty code use its description
	// as the code, for free-text sources that have no codes (as Usagi
	// allows). Off, an empty code is a malformed row.
	DescriptionAsCode bool
}

// Code is one distinct source code of a file.
type Code struct {
	Code        string
	Description string // the first non-empty description given for the code
	Count       int64  // summed count column, or the number of rows without one
	Rows        int    // rows that named the code
	Line        int    // the line it first appears on
	Specimen    string // context columns: first non-empty value seen
	Unit        string
	DomainHint  string
	Category    string
}

// Result is a parsed file.
type Result struct {
	Codes      []Code // distinct codes in order of first appearance
	Rows       int    // data rows read (blank rows are skipped and not counted)
	TotalCount int64  // sum of Codes[i].Count
	Delimiter  rune
	BOM        bool     // the file started with a UTF-8 byte order mark
	Header     []string // the header row as written
	Columns    Columns  // the header name used for each role
}

// Parse reads a CSV of source codes from r (see the package documentation
// for the accepted shape) and returns its distinct codes. It reads r once,
// streaming, and stops as soon as a limit is exceeded.
//
// It returns a complete *Result and nil, or nil and an error wrapping one
// of: ErrEmpty, ErrTooLarge (*LimitError), ErrEncoding (*EncodingError),
// ErrMissingColumn (*ColumnError), ErrMalformed (*RowErrors, listing every
// malformed row up to Limits.MaxErrors); a read error from r or ctx's error
// is returned wrapped. Parse is safe for concurrent use on different readers.
func Parse(ctx context.Context, r io.Reader, opts Options) (*Result, error) {
	lim := opts.Limits.withDefaults()
	if opts.Delimiter != 0 && !isCandidate(opts.Delimiter) {
		return nil, fmt.Errorf("sourcefile: delimiter %q not supported (want comma, semicolon or tab)", opts.Delimiter)
	}
	br := bufio.NewReaderSize(&limitedReader{r: r, left: lim.MaxBytes, limit: lim.MaxBytes}, 64<<10)

	res := &Result{}
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		res.BOM = true
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return nil, &EncodingError{Encoding: "UTF-16LE", Detail: "the file starts with a UTF-16 little-endian byte order mark"}
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, &EncodingError{Encoding: "UTF-16BE", Detail: "the file starts with a UTF-16 big-endian byte order mark"}
	}

	sample, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, readError(err)
	}
	if len(bytes.TrimSpace(sample)) == 0 {
		return nil, fmt.Errorf("%w: the file has no header and no rows", ErrEmpty)
	}
	if i := bytes.IndexByte(sample, 0); i >= 0 {
		enc := "UTF-16LE"
		if i%2 == 0 {
			enc = "UTF-16BE"
		}
		return nil, &EncodingError{Line: 1 + bytes.Count(sample[:i], []byte{'\n'}), Encoding: enc + " (without a byte order mark)", Detail: "the file contains NUL bytes"}
	}
	res.Delimiter = opts.Delimiter
	if res.Delimiter == 0 {
		res.Delimiter = detectDelimiter(sample, errors.Is(err, io.EOF))
	}

	cr := csv.NewReader(br)
	cr.Comma = res.Delimiter
	cr.FieldsPerRecord = -1 // rows are checked against the header here, to report them all
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%w: the file has no header and no rows", ErrEmpty)
		case errors.As(err, &pe):
			return nil, &RowErrors{Rows: []RowError{{Line: pe.Line, Detail: "header: " + pe.Err.Error()}}, Total: 1}
		}
		return nil, readError(err)
	}
	if len(header) > lim.MaxColumns {
		return nil, &LimitError{What: "the header's column count", Limit: int64(lim.MaxColumns), Unit: "columns"}
	}
	for i, h := range header {
		if !utf8.ValidString(h) {
			line, _ := cr.FieldPos(i)
			return nil, invalidUTF8(line, h)
		}
	}
	res.Header = make([]string, len(header))
	for i, h := range header {
		res.Header[i] = strings.TrimSpace(h)
	}
	if len(header) == 1 && opts.Delimiter == 0 {
		return nil, &ColumnError{Role: "code", Header: res.Header,
			Detail: "the header has a single column: no comma, semicolon or tab separates a code and a description"}
	}
	idx, err := resolveColumns(res.Header, opts.Columns)
	if err != nil {
		return nil, err
	}
	for r := range numRoles {
		if idx[r] >= 0 {
			res.Columns.set(r, res.Header[idx[r]])
		}
	}

	p := aggregator{lim: lim, descriptionAsCode: opts.DescriptionAsCode, idx: idx, width: len(header), byCode: map[string]int{}, res: res}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, readError(err)
			}
			if limErr := (*LimitError)(nil); errors.As(pe.Err, &limErr) {
				return nil, limErr
			}
			if pe.StartLine != pe.Line {
				p.fail(pe.StartLine, "%v (the quoted field opened here is still open at line %d)", pe.Err, pe.Line)
			} else {
				p.fail(pe.Line, "%v", pe.Err)
			}
			continue
		}
		if blank(rec) {
			continue
		}
		res.Rows++
		if res.Rows > lim.MaxRows {
			return nil, &LimitError{What: "the number of data rows", Limit: int64(lim.MaxRows), Unit: "rows"}
		}
		if res.Rows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("sourcefile: %w", err)
			}
		}
		line, _ := cr.FieldPos(0)
		for i, f := range rec {
			if !utf8.ValidString(f) {
				l, _ := cr.FieldPos(i)
				return nil, invalidUTF8(l, f)
			}
			if strings.IndexByte(f, 0) >= 0 {
				l, _ := cr.FieldPos(i)
				return nil, &EncodingError{Line: l, Detail: "a NUL byte: the file is binary or a mix of encodings"}
			}
		}
		p.row(line, rec)
	}
	if p.errs.Total > 0 {
		return nil, &p.errs
	}
	if res.Rows == 0 {
		return nil, fmt.Errorf("%w: the file has a header but no data rows", ErrEmpty)
	}
	return res, nil
}

// aggregator folds rows into distinct codes and collects row errors. Once a
// row has failed, later rows are still checked but no longer aggregated:
// the result will not be returned.
type aggregator struct {
	lim               Limits
	descriptionAsCode bool
	idx               [numRoles]int
	width             int
	byCode            map[string]int
	res               *Result
	errs              RowErrors
}

func (p *aggregator) fail(line int, format string, args ...any) {
	p.errs.Total++
	if len(p.errs.Rows) < p.lim.MaxErrors {
		p.errs.Rows = append(p.errs.Rows, RowError{Line: line, Detail: fmt.Sprintf(format, args...)})
	}
}

func (p *aggregator) row(line int, rec []string) {
	if len(rec) != p.width {
		p.fail(line, "%d fields, the header has %d", len(rec), p.width)
		return
	}
	for i, f := range rec {
		if len(f) > p.lim.MaxFieldBytes {
			p.fail(line, "column %q is %d bytes long, the limit is %d", short(p.res.Header[i]), len(f), p.lim.MaxFieldBytes)
			return
		}
	}
	field := func(r role) string {
		if p.idx[r] < 0 {
			return ""
		}
		return strings.TrimSpace(rec[p.idx[r]])
	}
	code := field(roleCode)
	if code == "" && p.descriptionAsCode {
		code = field(roleDescription)
	}
	if code == "" {
		if p.descriptionAsCode {
			p.fail(line, "empty code in column %q and empty description", short(p.res.Columns.Code))
		} else {
			p.fail(line, "empty code in column %q (a source without codes can use its descriptions as codes: DescriptionAsCode)", short(p.res.Columns.Code))
		}
		return
	}
	count := int64(1)
	if p.idx[roleCount] >= 0 {
		var err error
		if count, err = parseCount(field(roleCount)); err != nil {
			p.fail(line, "column %q: %v", short(p.res.Columns.Count), err)
			return
		}
	}
	if p.errs.Total > 0 {
		return
	}
	at, seen := p.byCode[code]
	if !seen {
		at = len(p.res.Codes)
		p.byCode[code] = at
		p.res.Codes = append(p.res.Codes, Code{Code: strings.Clone(code), Line: line})
	}
	c := &p.res.Codes[at]
	if c.Count > math.MaxInt64-count || p.res.TotalCount > math.MaxInt64-count {
		p.fail(line, "counts of code %s add up beyond %d", excerpt(code), int64(math.MaxInt64))
		return
	}
	c.Count += count
	c.Rows++
	p.res.TotalCount += count
	firstNonEmpty(&c.Description, field(roleDescription))
	firstNonEmpty(&c.Specimen, field(roleSpecimen))
	firstNonEmpty(&c.Unit, field(roleUnit))
	firstNonEmpty(&c.DomainHint, field(roleDomainHint))
	firstNonEmpty(&c.Category, field(roleCategory))
}

func firstNonEmpty(dst *string, v string) {
	if *dst == "" && v != "" {
		*dst = strings.Clone(v)
	}
}

// parseCount reads a non-negative whole number. "12.0" is accepted because
// spreadsheet and pandas exports write integers that way.
func parseCount(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty count (write 0, or leave the count column out)")
	}
	num := s
	if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
		num = whole
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("count %s is too large", excerpt(s))
	case err != nil:
		return 0, fmt.Errorf("count %s is not a whole number", excerpt(s))
	case n < 0:
		return 0, fmt.Errorf("count %s is negative", excerpt(s))
	}
	return n, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// excerpt quotes at most 40 bytes of s, so an error never carries a whole
// (possibly huge or sensitive) field.
func excerpt(s string) string {
	if len(s) > 40 {
		s = strings.ToValidUTF8(s[:40], "") + "…"
	}
	return strconv.Quote(s)
}

// invalidUTF8 names the first bad byte of field and guesses the encoding:
// bytes 0x80–0x9F are printable only in Windows-1252.
func invalidUTF8(line int, field string) *EncodingError {
	for i := 0; i < len(field); {
		r, size := utf8.DecodeRuneInString(field[i:])
		if r == utf8.RuneError && size <= 1 {
			b := field[i]
			enc := "Latin-1 (ISO-8859-1) or Windows-1252"
			if b >= 0x80 && b <= 0x9F {
				enc = "Windows-1252"
			}
			return &EncodingError{Line: line, Encoding: enc, Detail: fmt.Sprintf("byte 0x%02X is not valid UTF-8", b)}
		}
		i += size
	}
	return &EncodingError{Line: line, Detail: "invalid UTF-8"}
}

func readError(err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	return fmt.Errorf("sourcefile: read upload: %w", err)
}

// limitedReader returns a *LimitError once more than left bytes are read,
// so an oversized upload is refused without reading all of it.
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &LimitError{What: "the file size", Limit: l.limit, Unit: "bytes"}
	}
	// Read one byte beyond the limit to tell "exactly at" from "over".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, &LimitError{What: "the file size", Limit: l.limit, Unit: "bytes"}
	}
	return n, err
}

func isCandidate(d rune) bool { return d == ',' || d == ';' || d == '\t' }

// detectDelimiter picks the candidate that splits the sample's header into
// the most fields among those that split most of the following lines into
// the same number. complete says the sample holds the whole file, so its
// last line is whole too.
func detectDelimiter(sample []byte, complete bool) rune {
	lines := splitLines(sample, complete, 50)
	best, bestScore, bestWidth := ',', -1, 0
	for _, d := range []rune{',', ';', '\t'} {
		if len(lines) == 0 {
			break
		}
		width := countFields(lines[0], byte(d))
		if width < 2 {
			continue
		}
		score := 0
		for _, l := range lines[1:] {
			if countFields(l, byte(d)) == width {
				score++
			}
		}
		if score > bestScore || score == bestScore && width > bestWidth {
			best, bestScore, bestWidth = d, score, width
		}
	}
	return best
}

// splitLines returns up to max lines of sample, treating newlines inside
// quotes as part of the field.
func splitLines(sample []byte, complete bool, max int) [][]byte {
	var lines [][]byte
	inQuotes, start := false, 0
	for i, b := range sample {
		switch {
		case b == '"':
			inQuotes = !inQuotes
		case b == '\n' && !inQuotes:
			lines = append(lines, bytes.TrimSuffix(sample[start:i], []byte{'\r'}))
			start = i + 1
			if len(lines) == max {
				return lines
			}
		}
	}
	if complete && start < len(sample) {
		lines = append(lines, sample[start:])
	}
	return lines
}

func countFields(line []byte, d byte) int {
	n, inQuotes := 1, false
	for _, b := range line {
		switch {
		case b == '"':
			inQuotes = !inQuotes
		case b == d && !inQuotes:
			n++
		}
	}
	return n
}

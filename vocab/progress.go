package vocab

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Stage is a step of an import.
type Stage string

// The stages of an import, in order.
const (
	StageFingerprint Stage = "fingerprint" // hashing the release files
	StageCopy        Stage = "copy"        // loading one file into its staging table
	StageIndex       Stage = "index"       // building keys and indexes, checking duplicates
	StageDiff        Stage = "diff"        // comparing with the live vocabulary
	StageSwap        Stage = "swap"        // replacing the live tables
)

// Update is one progress report.
type Update struct {
	Stage Stage
	Table string // StageCopy, StageIndex: the table being worked on
	File  string // StageCopy: the file being read
	Rows  int64  // StageCopy: rows loaded from File so far
	Bytes int64  // StageCopy: bytes of File read so far
	Size  int64  // StageCopy: File's size
	// RowsPerSecond is Rows over the time since the file was opened.
	RowsPerSecond float64
	Elapsed       time.Duration // time since the stage (or file) started
	Done          bool          // last update of the stage, or of the file during StageCopy
}

// Progress receives updates while an import runs. Updates come from one
// goroutine at a time, in order; during StageCopy at most about ten a
// second, each file ending with one whose Done is set.
type Progress interface {
	Update(Update)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Update)

// Update calls f(u).
func (f ProgressFunc) Update(u Update) { f(u) }

// NewProgress picks the renderer for an import run from a command line: a
// progress bar on f when it is a terminal, else log lines on log.
func NewProgress(f *os.File, log *slog.Logger) Progress {
	if term.IsTerminal(int(f.Fd())) {
		return NewTerminalProgress(f)
	}
	return NewLogProgress(log, 5*time.Second)
}

// TerminalProgress draws a progress bar per file, redrawn in place with
// '\r'. It suits a terminal only: elsewhere the redraws pile up. It is not
// safe for concurrent use.
type TerminalProgress struct {
	// Now is the clock that spaces redraws; nil means time.Now.
	Now func() time.Time

	w        io.Writer
	lastDraw time.Time
	lastLen  int
}

// NewTerminalProgress returns a TerminalProgress writing to w.
func NewTerminalProgress(w io.Writer) *TerminalProgress { return &TerminalProgress{w: w} }

// Update implements Progress.
func (t *TerminalProgress) Update(u Update) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if u.Stage == StageCopy && !u.Done && now().Sub(t.lastDraw) < 100*time.Millisecond {
		return
	}
	t.lastDraw = now()
	var line string
	switch {
	case u.Stage == StageCopy:
		const width = 30
		frac := 1.0
		if u.Size > 0 {
			frac = min(float64(u.Bytes)/float64(u.Size), 1)
		}
		full := int(frac * width)
		bar := strings.Repeat("=", full)
		if full < width {
			bar += ">" + strings.Repeat(" ", width-full-1)
		}
		line = fmt.Sprintf("%-26s [%s] %3.0f%% %12s rows %8s rows/s", u.File, bar, frac*100, thousands(u.Rows), siRate(u.RowsPerSecond))
		if u.Done {
			line += "  " + u.Elapsed.Round(10*time.Millisecond).String()
		}
	case u.Done:
		line = fmt.Sprintf("%-26s done in %s", stageLabel(u), u.Elapsed.Round(10*time.Millisecond))
	default:
		line = stageLabel(u) + " ..."
	}
	pad := ""
	if n := t.lastLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	t.lastLen = len(line)
	end := ""
	if u.Done {
		end, t.lastLen = "\n", 0
	}
	fmt.Fprint(t.w, "\r"+line+pad+end)
}

func stageLabel(u Update) string {
	switch u.Stage {
	case StageFingerprint:
		return "fingerprinting release"
	case StageIndex:
		if u.Table != "" {
			return "indexing " + u.Table
		}
		return "indexing"
	case StageDiff:
		return "comparing with live vocabulary"
	case StageSwap:
		return "swapping in new vocabulary"
	}
	return string(u.Stage)
}

// LogProgress writes progress as structured log lines: one per file loaded
// and per stage that ends (index builds and fingerprinting only when they
// took a second or more), and one every interval while a file loads. It is not
// safe for concurrent use.
type LogProgress struct {
	log      *slog.Logger
	interval time.Duration
	last     time.Time
}

// NewLogProgress returns a LogProgress logging to log at most once per
// interval while a file loads.
func NewLogProgress(log *slog.Logger, interval time.Duration) *LogProgress {
	return &LogProgress{log: log, interval: interval, last: time.Now()}
}

// Update implements Progress.
func (l *LogProgress) Update(u Update) {
	switch {
	case u.Stage == StageCopy && u.Done:
		l.log.Info("vocabulary file loaded", "file", u.File, "table", u.Table, "rows", u.Rows,
			"rows_per_s", int64(u.RowsPerSecond), "elapsed", u.Elapsed.Round(time.Millisecond).String())
	case u.Stage == StageCopy:
		if time.Since(l.last) < l.interval {
			return
		}
		pct := 100.0
		if u.Size > 0 {
			pct = float64(u.Bytes) * 100 / float64(u.Size)
		}
		l.log.Info("loading vocabulary file", "file", u.File, "rows", u.Rows,
			"rows_per_s", int64(u.RowsPerSecond), "percent", int(pct))
	case u.Done && (u.Stage == StageIndex || u.Stage == StageFingerprint) && u.Elapsed < time.Second:
		// Per-table index builds and hashing are quick on all but the big
		// tables; a line for each would drown the ones that matter.
		return
	case u.Done:
		l.log.Info("vocabulary import step done", "step", stageLabel(u), "elapsed", u.Elapsed.Round(time.Millisecond).String())
	default:
		return
	}
	l.last = time.Now()
}

// thousands formats n with comma separators: 1234567 → "1,234,567".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// siRate formats a rate compactly: 950, 12.3k, 1.25M.
func siRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

package vocab_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/vocab"
)

func TestTerminalProgress(t *testing.T) {
	var b bytes.Buffer
	p := vocab.NewTerminalProgress(&b)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return clock }
	p.Update(vocab.Update{Stage: vocab.StageCopy, Table: "concept", File: "CONCEPT.csv", Rows: 1000, Bytes: 50, Size: 100, RowsPerSecond: 250000})
	clock = clock.Add(50 * time.Millisecond)
	p.Update(vocab.Update{Stage: vocab.StageCopy, Table: "concept", File: "CONCEPT.csv", Rows: 1500, Bytes: 60, Size: 100}) // too soon: skipped
	clock = clock.Add(time.Second)
	p.Update(vocab.Update{Stage: vocab.StageCopy, Table: "concept", File: "CONCEPT.csv", Rows: 1700, Bytes: 70, Size: 100}) // drawn
	p.Update(vocab.Update{Stage: vocab.StageCopy, Table: "concept", File: "CONCEPT.csv", Rows: 1234567, Bytes: 100, Size: 100,
		RowsPerSecond: 1.5e6, Elapsed: 800 * time.Millisecond, Done: true})
	p.Update(vocab.Update{Stage: vocab.StageIndex, Table: "concept"})
	p.Update(vocab.Update{Stage: vocab.StageIndex, Table: "concept", Done: true, Elapsed: 1500 * time.Millisecond})
	out := b.String()
	for _, want := range []string{
		"\rCONCEPT.csv", "[===============>              ]  50%", "1,000 rows", "250.0k rows/s", "1,700 rows",
		"[==============================] 100%", "1,234,567 rows", "1.50M rows/s", "800ms\n",
		"\rindexing concept ...", "\rindexing concept", "done in 1.5s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "1,500 rows") {
		t.Errorf("redrawn faster than 10 times a second:\n%q", out)
	}
}

func TestLogProgress(t *testing.T) {
	var b bytes.Buffer
	p := vocab.NewLogProgress(slog.New(slog.NewTextHandler(&b, nil)), time.Hour)
	p.Update(vocab.Update{Stage: vocab.StageCopy, File: "CONCEPT.csv", Rows: 10}) // within the interval: quiet
	p.Update(vocab.Update{Stage: vocab.StageCopy, Table: "concept", File: "CONCEPT.csv", Rows: 20, RowsPerSecond: 99, Done: true})
	p.Update(vocab.Update{Stage: vocab.StageSwap})
	p.Update(vocab.Update{Stage: vocab.StageSwap, Done: true, Elapsed: time.Second})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "file=CONCEPT.csv") || !strings.Contains(lines[0], "rows=20") ||
		!strings.Contains(lines[0], "rows_per_s=99") || !strings.Contains(lines[1], "swapping in new vocabulary") {
		t.Fatalf("log:\n%s", b.String())
	}
}

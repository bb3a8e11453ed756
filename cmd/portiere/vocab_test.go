package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/portiere/portiere/platform/postgres/dbtest"
)

// setDBEnv points the DB_* variables at a fresh, empty test database.
func setDBEnv(t *testing.T) {
	t.Helper()
	name := dbtest.NewEmpty(t)
	cfg, err := pgx.ParseConfig(dbtest.URL(t, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DB_HOST", cfg.Host)
	t.Setenv("DB_PORT", strconv.Itoa(int(cfg.Port)))
	t.Setenv("DB_NAME", name)
	t.Setenv("DB_USER", cfg.User)
	t.Setenv("DB_PASSWORD", cfg.Password)
	t.Setenv("LOG_LEVEL", "ERROR")
	// No Temporal: a test never reaches one on this machine by accident.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
}

func TestVocabImport(t *testing.T) {
	setDBEnv(t)
	var out, errOut bytes.Buffer
	// An empty database: the command migrates it first.
	if err := run([]string{"vocab", "import", "../../testdata/demo-vocab", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep struct {
		ImportID int64 `json:"import_id"`
		Tables   []struct {
			Table string `json:"table"`
			Rows  int64  `json:"rows"`
		} `json:"tables"`
		Concepts struct {
			FirstImport bool  `json:"first_import"`
			Added       int64 `json:"added"`
		} `json:"concepts"`
		TargetsInvalidated struct {
			Total    int64 `json:"total"`
			Concepts []any `json:"concepts"`
		} `json:"targets_invalidated"`
		SearchIndex struct {
			IndexBuild any    `json:"index_build"`
			Pending    string `json:"pending"`
		} `json:"search_index"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !rep.Concepts.FirstImport || rep.Concepts.Added != 4756 || len(rep.Tables) != 8 || rep.ImportID == 0 ||
		rep.TargetsInvalidated.Concepts == nil {
		t.Fatalf("report %+v", rep)
	}
	// Temporal is unreachable: the report says the index was not rebuilt
	// and how to start the build.
	if rep.SearchIndex.IndexBuild != nil || !strings.Contains(rep.SearchIndex.Pending, "portiere init") {
		t.Errorf("search_index %+v", rep.SearchIndex)
	}

	// The demo built into the binary is the same release.
	out.Reset()
	if err := run([]string{"vocab", "import", "--demo"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"Imported embedded demo vocabulary", "concept ", "4,756", "Same release as the previous import", "Targets invalidated: none",
		"Search index: NOT rebuilt", "portiere init"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}

	if err := run([]string{"vocab", "import", t.TempDir()}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "CONCEPT.csv") {
		t.Fatalf("folder without CONCEPT.csv: %v", err)
	}
	if err := run([]string{"vocab", "import"}, &out, &errOut); err == nil {
		t.Fatal("import without DIR accepted")
	}
}

// Without DB_HOST, DB_PASSWORD or a running dev stack the command says
// what is missing and how else it could find a database.
func TestVocabImportNeedsADatabase(t *testing.T) {
	t.Setenv("DB_HOST", "")
	t.Setenv("DB_PASSWORD", "")
	var out bytes.Buffer
	err := run([]string{"vocab", "import", "--data-dir", t.TempDir(), "../../testdata/demo-vocab"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") || !strings.Contains(err.Error(), "portiere dev") {
		t.Fatalf("got %v", err)
	}
}

func TestVocabImportHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"vocab", "import", "--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"portiere vocab import DIR", "--json", "--data-dir", "--demo"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

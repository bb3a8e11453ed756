package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portiere/portiere"
	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/devstack"
	"github.com/portiere/portiere/platform/migrate"
	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/platform/temporal"
	"github.com/portiere/portiere/vocab"
	"github.com/portiere/portiere/vocab/athena"
	"github.com/portiere/portiere/vocab/vocabstore"
	"github.com/portiere/portiere/workflows"
)

func vocabCommand(ctx context.Context) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vocab",
		Short: "Manage the OMOP vocabulary (import Athena releases)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(vocabImportCommand(ctx))
	return cmd
}

// shownTargets is how many invalidated targets the text report lists.
const shownTargets = 20

func vocabImportCommand(ctx context.Context) *cobra.Command {
	var dataDir string
	var asJSON, demo bool
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Replace the vocabulary with the Athena release in DIR",
		Long: `Replace the vocabulary with the release in DIR: an Athena download
(CONCEPT.csv, CONCEPT_SYNONYM.csv, CONCEPT_RELATIONSHIP.csv, ...; tab-separated)
or a CDM database export of the same tables (comma-separated, quoted).
Only CONCEPT.csv is required.

Every file is loaded and checked first; the live tables are replaced in one
transaction at the end, so bad input leaves the current vocabulary in use.
The report says which concepts were added, removed or changed, and which
valid standard concepts (mapping targets) are no longer valid and standard.

The database comes from DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD.
When DB_HOST is unset and 'portiere dev' is running, its private database
(found through --data-dir) is used. Pending migrations are applied first.`,
		Example: `  portiere vocab import ~/Downloads/vocabulary_download_v5
  portiere vocab import --demo --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if demo {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, logger, err := vocabConfig(dataDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			pool, err := postgres.Open(ctx, cfg.DB.ConnString(), postgres.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer pool.Close()
			if _, err := migrate.Up(ctx, pool, migrate.Schema()); err != nil {
				return err
			}

			var progress vocab.Progress = vocab.NewLogProgress(logger, 5*time.Second)
			if f, ok := cmd.ErrOrStderr().(*os.File); ok {
				progress = vocab.NewProgress(f, logger)
			}
			im := vocab.NewImporter(vocabstore.New(pool))
			var rep vocab.Report
			if demo {
				rel, err := athena.OpenFS(portiere.DemoVocabulary())
				if err != nil {
					return err
				}
				rep, err = im.ImportRelease(ctx, rel, "embedded demo vocabulary", progress)
				if err != nil {
					return err
				}
			} else if rep, err = im.Import(ctx, args[0], progress); err != nil {
				return err
			}
			// The served index must follow the vocabulary: start its build
			// (and the Elasticsearch population) now.
			follow := startIndexFollowUp(ctx, cfg, logger)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					reportJSON
					SearchIndex indexFollowUp `json:"search_index"`
				}{reportDTO(rep), follow})
			}
			printReport(cmd.OutOrStdout(), rep)
			follow.print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".portiere", "data folder of a running 'portiere dev', used when DB_HOST is unset")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&demo, "demo", false, "import the demo vocabulary built into the binary instead of DIR")
	return cmd
}

// followUpDial bounds how long a vocabulary import waits for Temporal
// before reporting that the index build must be started by hand.
const followUpDial = 3 * time.Second

// indexFollowUp is what a vocabulary import started so that the served
// search index follows the new vocabulary.
type indexFollowUp struct {
	IndexBuild *workflows.Run `json:"index_build,omitempty"`
	ESPopulate *workflows.Run `json:"es_populate,omitempty"`
	// Pending, when the workflows could not be started, says how to start
	// them.
	Pending string `json:"pending,omitempty"`
}

// startIndexFollowUp starts IndexBuildWorkflow, and ESPopulateWorkflow
// when Elasticsearch is configured, on the Temporal cfg names (a running
// `portiere dev`'s by default). When Temporal cannot be reached it says
// which command starts them.
func startIndexFollowUp(ctx context.Context, cfg config.Config, logger *slog.Logger) indexFollowUp {
	pending := func(err error) indexFollowUp {
		return indexFollowUp{Pending: fmt.Sprintf("Temporal at %s: %v; the search index still serves the previous vocabulary: "+
			"start its build with 'TEMPORAL_ADDRESS=%s portiere init' once the worker runs", cfg.Temporal.Address, err, cfg.Temporal.Address)}
	}
	tc, err := temporal.Dial(ctx, cfg.Temporal.Address, cfg.Temporal.Namespace, logger, followUpDial)
	if err != nil {
		return pending(err)
	}
	defer tc.Close()
	wc := &workflows.Client{Temporal: tc, ESAlias: workflows.ElasticsearchAlias}
	var f indexFollowUp
	run, err := wc.StartIndexBuild(ctx, workflows.IndexBuildInput{})
	if err != nil {
		return pending(err)
	}
	f.IndexBuild = &run
	if cfg.Elasticsearch.Configured() {
		run, err := wc.StartESPopulate(ctx, workflows.ESPopulateInput{})
		if err != nil {
			f.Pending = fmt.Sprintf("Elasticsearch population not started (%v): run 'portiere init'", err)
			return f
		}
		f.ESPopulate = &run
	}
	return f
}

func (f indexFollowUp) print(w io.Writer) {
	fmt.Fprintln(w)
	if f.IndexBuild != nil {
		fmt.Fprintf(w, "Search index: build started (workflow %s, run %s); API and worker switch to it when it is saved.\n", f.IndexBuild.WorkflowID, f.IndexBuild.RunID)
	}
	if f.ESPopulate != nil {
		fmt.Fprintf(w, "Elasticsearch: population started (workflow %s, run %s).\n", f.ESPopulate.WorkflowID, f.ESPopulate.RunID)
	}
	if f.Pending != "" {
		fmt.Fprintf(w, "Search index: NOT rebuilt. %s\n", f.Pending)
	}
}

// vocabConfig picks the database: DB_* when DB_HOST is set, else the
// private cluster of a running `portiere dev`, else DB_* with its defaults
// (which then needs DB_PASSWORD).
func vocabConfig(dataDir string, stderr io.Writer) (config.Config, *slog.Logger, error) {
	probe, _, err := loadConfig(config.ModeCLI, stderr)
	if err != nil {
		return config.Config{}, nil, err
	}
	if !probe.IsSet("DB_HOST") {
		abs, err := absDir(dataDir)
		if err != nil {
			return config.Config{}, nil, err
		}
		db, err := devstack.RunningDatabase(abs)
		switch {
		case err == nil:
			cfg, logger, err := loadConfig(config.ModeCLI, stderr)
			if err != nil {
				return config.Config{}, nil, err
			}
			cfg.DB = db
			logger.Info("using the database of the running portiere dev", "data_dir", abs, "port", db.Port)
			return cfg, logger, nil
		case !errors.Is(err, devstack.ErrNotRunning):
			return config.Config{}, nil, err
		}
		cfg, logger, err := loadConfig(config.ModeMigrate, stderr)
		if err != nil {
			return config.Config{}, nil, fmt.Errorf("%w (or start 'portiere dev': with DB_HOST unset its database in %s is used)", err, abs)
		}
		return cfg, logger, nil
	}
	return loadConfig(config.ModeMigrate, stderr)
}

func printReport(w io.Writer, rep vocab.Report) {
	fmt.Fprintf(w, "Imported %s (import %d, %s)\n", rep.Source.Path, rep.ImportID, rep.FinishedAt.Sub(rep.StartedAt).Round(time.Millisecond))
	fmt.Fprintf(w, "Fingerprint %s\n\n", rep.Source.Fingerprint)
	fmt.Fprintf(w, "  %-22s %12s %12s\n", "table", "rows", "before")
	for _, t := range rep.Tables {
		before := "?"
		if t.Previous >= 0 {
			before = thousands(t.Previous)
		}
		note := ""
		if t.File == "" {
			note = "  (no file: now empty)"
		}
		fmt.Fprintf(w, "  %-22s %12s %12s%s\n", t.Table, thousands(t.Rows), before, note)
	}
	fmt.Fprintln(w)
	d := rep.Diff
	switch {
	case d.FirstImport:
		fmt.Fprintf(w, "First import: %s concepts added.\n", thousands(d.Added))
	case rep.SameRelease():
		fmt.Fprintln(w, "Same release as the previous import: no concept changed.")
	case d.Empty():
		fmt.Fprintln(w, "No concept changed.")
	default:
		c := d.Changes
		fmt.Fprintf(w, "Concepts: %s added, %s removed, %s changed (name %s, domain %s, class %s, standard flag %s, validity %s, code %s).\n",
			thousands(d.Added), thousands(d.Removed), thousands(d.Changed), thousands(c.Name), thousands(c.Domain),
			thousands(c.Class), thousands(c.Standard), thousands(c.Validity), thousands(c.Code))
	}
	if d.TargetsInvalidated == 0 {
		if !d.FirstImport {
			fmt.Fprintln(w, "Targets invalidated: none; every valid standard concept still is one.")
		}
		return
	}
	fmt.Fprintf(w, "Targets invalidated: %s valid standard concepts are now removed, invalid or non-standard; mappings point to %s of them (%s mapping items to review):\n",
		thousands(d.TargetsInvalidated), thousands(d.MappedTargetsInvalidated), thousands(d.MappingsAffected))
	var parts []string
	for i, t := range d.InvalidatedTargets {
		if i == shownTargets {
			break
		}
		if t.MappedItems > 0 {
			parts = append(parts, fmt.Sprintf("%d (%s, %s mapped)", t.ConceptID, t.Reason, thousands(t.MappedItems)))
		} else {
			parts = append(parts, fmt.Sprintf("%d (%s)", t.ConceptID, t.Reason))
		}
	}
	fmt.Fprintf(w, "  %s", strings.Join(parts, ", "))
	if d.TargetsInvalidated > int64(len(parts)) {
		fmt.Fprintf(w, ", ... (--json lists up to %d)", vocab.MaxListedTargets)
	}
	fmt.Fprintln(w)
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// reportJSON is the --json form of a vocab.Report.
type reportJSON struct {
	ImportID            int64       `json:"import_id"`
	Source              string      `json:"source"`
	Fingerprint         string      `json:"fingerprint"`
	PreviousFingerprint string      `json:"previous_fingerprint,omitempty"`
	SameRelease         bool        `json:"same_release"`
	StartedAt           time.Time   `json:"started_at"`
	FinishedAt          time.Time   `json:"finished_at"`
	Tables              []tableJSON `json:"tables"`
	Concepts            struct {
		FirstImport bool  `json:"first_import"`
		Added       int64 `json:"added"`
		Removed     int64 `json:"removed"`
		Changed     int64 `json:"changed"`
		Changes     struct {
			Name     int64 `json:"name"`
			Domain   int64 `json:"domain"`
			Class    int64 `json:"class"`
			Standard int64 `json:"standard"`
			Validity int64 `json:"validity"`
			Code     int64 `json:"code"`
		} `json:"changes"`
	} `json:"concepts"`
	TargetsInvalidated struct {
		Total            int64        `json:"total"`
		Mapped           int64        `json:"mapped"`
		MappingsAffected int64        `json:"mappings_affected"`
		Concepts         []targetJSON `json:"concepts"`
	} `json:"targets_invalidated"`
}

type tableJSON struct {
	Table    string `json:"table"`
	File     string `json:"file"`
	Rows     int64  `json:"rows"`
	Previous *int64 `json:"previous"`
}

type targetJSON struct {
	ConceptID   int32  `json:"concept_id"`
	Reason      string `json:"reason"`
	MappedItems int64  `json:"mapped_items"`
}

func reportDTO(rep vocab.Report) reportJSON {
	var out reportJSON
	out.ImportID, out.Source, out.Fingerprint = rep.ImportID, rep.Source.Path, rep.Source.Fingerprint
	out.PreviousFingerprint, out.SameRelease = rep.PreviousFingerprint, rep.SameRelease()
	out.StartedAt, out.FinishedAt = rep.StartedAt, rep.FinishedAt
	for _, t := range rep.Tables {
		tj := tableJSON{Table: string(t.Table), File: t.File, Rows: t.Rows}
		if t.Previous >= 0 {
			prev := t.Previous
			tj.Previous = &prev
		}
		out.Tables = append(out.Tables, tj)
	}
	d := rep.Diff
	c := &out.Concepts
	c.FirstImport, c.Added, c.Removed, c.Changed = d.FirstImport, d.Added, d.Removed, d.Changed
	c.Changes.Name, c.Changes.Domain, c.Changes.Class = d.Changes.Name, d.Changes.Domain, d.Changes.Class
	c.Changes.Standard, c.Changes.Validity, c.Changes.Code = d.Changes.Standard, d.Changes.Validity, d.Changes.Code
	out.TargetsInvalidated.Total = d.TargetsInvalidated
	out.TargetsInvalidated.Mapped = d.MappedTargetsInvalidated
	out.TargetsInvalidated.MappingsAffected = d.MappingsAffected
	out.TargetsInvalidated.Concepts = []targetJSON{}
	for _, t := range d.InvalidatedTargets {
		out.TargetsInvalidated.Concepts = append(out.TargetsInvalidated.Concepts, targetJSON{ConceptID: t.ConceptID, Reason: string(t.Reason), MappedItems: t.MappedItems})
	}
	return out
}

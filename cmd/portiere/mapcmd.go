package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/mapping"
	"github.com/portiere/portiere/search"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/athena"
)

func mapCommand(ctx context.Context) *cobra.Command {
	var o struct {
		athenaDir, input, output, indexDir, fusion string
		topK                                       int
		vocabularies, domains                      []string
		standardOnly                               bool
	}
	cmd := &cobra.Command{
		Use:   "map --athena DIR --input IN.csv --output OUT.csv",
		Short: "Map a CSV of source terms against an Athena export, locally (no server)",
		Long: `Map source terms to standard concepts without any server.

IN.csv has a header with source_code,source_description and optionally
vocabulary_id and domain_id (per-row filters, ';'-separated lists) and
category, specimen and unit (the row's context: "Chemistry", "Serum",
"mmol/L" — hints, never filters). Other columns are ignored. OUT.csv gets
one row per candidate:

  source_code,source_description,rank,concept_id,concept_name,vocabulary_id,
  domain_id,concept_class_id,standard_concept,score,confidence,status

status is the routing of the term's best candidate: auto, review or manual.
A term without any candidate gets one row with rank 0 and status manual. A
bad input row stops the run with its line number.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.athenaDir == "" || o.input == "" || o.output == "" {
				return fmt.Errorf("--athena, --input and --output are required")
			}
			if o.topK < 1 || o.topK > 1000 {
				return fmt.Errorf("--top-k must be between 1 and 1000")
			}
			log := cmd.ErrOrStderr()
			in, err := os.Open(o.input)
			if err != nil {
				return err
			}
			terms, err := mapping.ReadSourceCSV(in)
			in.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", o.input, err)
			}

			start := time.Now()
			rel, err := athena.Open(o.athenaDir)
			if err != nil {
				return err
			}
			corpus, err := rel.LoadCorpus()
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "portiere map: %d concepts loaded from %s in %s\n", len(corpus.Concepts), o.athenaDir, time.Since(start).Round(time.Millisecond))
			cfg, err := config.LoadEnv(config.ModeCLI)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: cfg.LogLevel}))
			engine, info, err := searchindex.Build(ctx, corpus, searchindex.Config{
				EmbeddingModel: cfg.Search.EmbeddingModel, ModelPath: cfg.Search.EmbeddingModelPath,
				RuntimeLibrary: cfg.Tools.ONNXRuntimeLib, IndexDir: o.indexDir, Logger: logger, Fusion: search.Fusion(o.fusion),
			})
			if err != nil {
				return err
			}
			state := "loaded from cache"
			if info.DenseBuilt {
				state = "built and cached"
			}
			fmt.Fprintf(log, "portiere map: search index %s (%s) %s in %s\n", info.Version, o.indexDir, state, info.Took)

			filter := search.Filter{Vocabularies: o.vocabularies, Domains: o.domains, StandardOnly: o.standardOnly}
			for _, v := range o.vocabularies {
				if !engine.HasVocabulary(v) {
					return fmt.Errorf("--vocabulary %s: no concept of that vocabulary in %s", v, o.athenaDir)
				}
			}
			start = time.Now()
			last := time.Now()
			progress := func(done, total int) {
				if time.Since(last) >= 5*time.Second {
					last = time.Now()
					fmt.Fprintf(log, "portiere map: %d of %d terms (%.0f%%)\n", done, total, 100*float64(done)/float64(total))
				}
			}
			ms := mapping.Map(ctx, engine, terms, mapping.Options{TopK: o.topK, Filter: filter, Progress: progress})
			if err := ctx.Err(); err != nil {
				return err
			}
			var failed int
			for _, m := range ms {
				if m.Err != nil {
					failed++
					fmt.Fprintf(log, "portiere map: line %d (%s): %v\n", m.Term.Line, m.Term.Code, m.Err)
				}
			}
			if err := writeFileAtomic(o.output, func(f *os.File) error { return mapping.WriteCandidatesCSV(f, ms) }); err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(log, "portiere map: %d terms mapped in %s (%.0f terms/s), %d failed; wrote %s\n",
				len(terms), el.Round(time.Millisecond), float64(len(terms))/el.Seconds(), failed, o.output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.athenaDir, "athena", "", "folder of an Athena vocabulary export (CONCEPT.csv, ...)")
	f.StringVar(&o.input, "input", "", "CSV of source terms")
	f.StringVar(&o.output, "output", "", "CSV to write candidates to")
	f.IntVar(&o.topK, "top-k", 10, "candidates per term")
	f.StringSliceVar(&o.vocabularies, "vocabulary", nil, "only these vocabulary_ids (comma-separated)")
	f.StringSliceVar(&o.domains, "domain", nil, "only these domain_ids (comma-separated)")
	f.BoolVar(&o.standardOnly, "standard-only", false, "only standard concepts (non-standard matches count as their Maps to targets)")
	f.StringVar(&o.indexDir, "index-dir", filepath.Join(".portiere", "cache"), "where built indexes are cached, keyed by vocabulary fingerprint and embedder")
	f.StringVar(&o.fusion, "fusion", "", "weighted (default), rrf, lexical or dense")
	return cmd
}

// writeFileAtomic writes path through a temporary file in the same folder,
// so a failed or interrupted run never leaves a half-written file.
func writeFileAtomic(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

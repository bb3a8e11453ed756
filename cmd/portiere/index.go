package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/portiere/portiere/platform/postgres"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/vocab/vocabstore"
)

func indexCommand(ctx context.Context) *cobra.Command {
	cmd := &cobra.Command{Use: "index", Short: "Build and inspect the search index"}
	cmd.AddCommand(indexBuildCommand(ctx))
	return cmd
}

func indexBuildCommand(ctx context.Context) *cobra.Command {
	var dataDir string
	var force bool
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the search index from the vocabulary in PostgreSQL (saved at FAISS_INDEX_PATH)",
		Long: `Build the dense search index from the vocabulary in PostgreSQL and save it,
with its metadata, at FAISS_INDEX_PATH (written atomically). An index already
there that was built from the same vocabulary and embedder is kept unless
--force is given. Running APIs load it on their next start; the Temporal
IndexBuildWorkflow does the same durably and lets replicas reload it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := vocabConfig(dataDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			pool, err := postgres.Open(ctx, cfg.DB.ConnString(), postgres.Options{MaxConns: 4})
			if err != nil {
				return err
			}
			defer pool.Close()
			corpus, err := vocabstore.New(pool).LoadCorpus(ctx)
			if err != nil {
				return err
			}
			if len(corpus.Concepts) == 0 {
				return fmt.Errorf("the vocabulary is empty: import one first with 'portiere vocab import DIR'")
			}
			if !cfg.IsSet("FAISS_INDEX_PATH") {
				// Where `portiere dev` with the same data folder looks.
				abs, err := absDir(dataDir)
				if err != nil {
					return err
				}
				cfg.Search.FAISSIndexPath = filepath.Join(abs, "index", "faiss.index")
			}
			if force {
				for _, suffix := range []string{"", ".meta.json", ".ids"} {
					os.Remove(cfg.Search.FAISSIndexPath + suffix)
				}
			}
			idx := searchindex.Config{
				EmbeddingModel: cfg.Search.EmbeddingModel, ModelPath: cfg.Search.EmbeddingModelPath,
				RuntimeLibrary: cfg.Tools.ONNXRuntimeLib, IndexPath: cfg.Search.FAISSIndexPath, Logger: logger,
			}
			emb, err := searchindex.NewEmbedder(idx)
			if err != nil {
				return err
			}
			// The same pipeline IndexBuildWorkflow runs, in one call.
			if f := searchindex.CheckFreshness(corpus, emb, idx.IndexPath); f.Stale {
				logger.Info("building the search index", "reason", f.Reason)
				if _, err := searchindex.BuildAndSave(ctx, corpus, emb, idx.IndexPath); err != nil {
					return err
				}
			}
			_, info, err := searchindex.OpenWith(ctx, corpus, emb, idx)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				Path string `json:"path"`
				searchindex.Info
			}{cfg.Search.FAISSIndexPath, info})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", ".portiere", "data folder of a running 'portiere dev', used when DB_HOST is unset")
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even if the saved index matches")
	return cmd
}

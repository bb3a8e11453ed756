// Command portiere is the Portiere platform in one binary: the API server,
// the Temporal worker, schema migrations, and `portiere dev`, which runs the
// whole stack on one machine.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/portiere/portiere/config"
	"github.com/portiere/portiere/platform/postgres"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if err := runWithInput(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portiere:", err)
		os.Exit(1)
	}
}

// run builds the command tree and executes args with no standard input; it
// returns the first error.
func run(args []string, stdout, stderr io.Writer) error {
	return runWithInput(args, nil, stdout, stderr)
}

// runWithInput is run with stdin (a password for `user create`).
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := &cobra.Command{
		Use:   "portiere",
		Short: "Map clinical source codes and terms to standard vocabularies (OMOP)",
		Long: `Portiere maps local clinical codes and terms to standard vocabularies
(SNOMED CT, ICD-10-CM, RxNorm, LOINC in OMOP/Athena form).

Start everything on this machine with 'portiere dev'. In production run
'portiere migrate', then 'portiere api' and 'portiere worker' side by side,
configured through environment variables (see the README).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(stdin)
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		devCommand(ctx),
		apiCommand(ctx),
		workerCommand(ctx),
		initCommand(ctx),
		migrateCommand(ctx),
		mapCommand(ctx),
		indexCommand(ctx),
		vocabCommand(ctx),
		orgCommand(ctx),
		userCommand(ctx),
		apikeyCommand(ctx),
		webCommand(ctx),
		mapperCommand(ctx),
		versionCommand(),
	)
	return root.ExecuteContext(ctx)
}

// loadConfig reads the environment for mode and builds the JSON logger.
func loadConfig(mode config.Mode, stderr io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.LoadEnv(mode)
	if err != nil {
		return config.Config{}, nil, err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return cfg, logger, nil
}

// loadConfigAndDB is loadConfig followed by opening the pool of DB_*: the
// prologue of every command that talks to PostgreSQL. The caller closes
// the pool.
func loadConfigAndDB(ctx context.Context, mode config.Mode, stderr io.Writer, opts postgres.Options) (config.Config, *slog.Logger, *pgxpool.Pool, error) {
	cfg, logger, err := loadConfig(mode, stderr)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	pool, err := postgres.Open(ctx, cfg.DB.ConnString(), opts)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	return cfg, logger, pool, nil
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "portiere", version)
			return nil
		},
	}
}

// ignoreCancel treats a shutdown by signal as success.
func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

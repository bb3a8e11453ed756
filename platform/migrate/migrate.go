// Package migrate applies Portiere's versioned PostgreSQL schema migrations.
//
// Migrations are SQL files named NNNN_description.sql, embedded in the
// binary. Each one runs in its own transaction together with the row that
// records it, so a failing migration leaves the schema as it was. A
// session-level advisory lock serialises concurrent runs: the second runner
// waits, then finds nothing left to do. An applied migration whose file has
// since changed is reported, never silently re-run.
package migrate

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed sql/*.sql
var embedded embed.FS

// Schema is the set of migrations shipped with this binary.
func Schema() fs.FS {
	sub, _ := fs.Sub(embedded, "sql")
	return sub
}

// Migration is one versioned schema change.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// lockKey is the advisory-lock key all Portiere migrators agree on
// ("portiere" in ASCII, truncated to 63 bits).
const lockKey int64 = 0x706f727469657265

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load reads and orders the migrations in fsys. Names must be
// NNNN_description.sql with unique, increasing versions.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrate: %s: name must be NNNN_description.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Result says what a run did.
type Result struct {
	Applied []Migration // migrations this run applied, in order
	Current int         // schema version after the run
}

// ChecksumError reports an applied migration whose file has changed since.
type ChecksumError struct {
	Version int
	Name    string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("migrate: migration %04d_%s was changed after it was applied; add a new migration instead", e.Version, e.Name)
}

// Up applies every migration in fsys that the database has not seen yet.
// It is safe to call concurrently from several processes.
func Up(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) (Result, error) {
	migrations, err := Load(fsys)
	if err != nil {
		return Result{}, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()

	if _, err := conn.Exec(ctx, `select pg_advisory_lock($1)`, lockKey); err != nil {
		return Result{}, fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() {
		// Unlock on a fresh context: ctx may be cancelled already, and a
		// lock left held would block every later migrator on this session.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `select pg_advisory_unlock($1)`, lockKey)
	}()

	const create = `
create table if not exists schema_migrations (
	version    integer primary key,
	name       text not null,
	checksum   text not null,
	applied_at timestamptz not null default now()
)`
	if _, err := conn.Exec(ctx, create); err != nil {
		return Result{}, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedChecksums(ctx, conn.Conn())
	if err != nil {
		return Result{}, err
	}

	var res Result
	for _, m := range migrations {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return res, &ChecksumError{Version: m.Version, Name: m.Name}
			}
			res.Current = m.Version
			continue
		}
		if err := apply(ctx, conn.Conn(), m); err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, m)
		res.Current = m.Version
	}
	for v := range applied {
		res.Current = max(res.Current, v)
	}
	return res, nil
}

func appliedChecksums(ctx context.Context, conn *pgx.Conn) (map[int]string, error) {
	rows, err := conn.Query(ctx, `select version, checksum from schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	out := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		out[v] = sum
	}
	return out, rows.Err()
}

func apply(ctx context.Context, conn *pgx.Conn, m Migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into schema_migrations (version, name, checksum) values ($1, $2, $3)`,
			m.Version, m.Name, m.Checksum)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %04d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}

// Version returns the highest applied migration, or 0 on an empty database.
func Version(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var v int
	err := pool.QueryRow(ctx, `select coalesce(max(version), 0) from schema_migrations`).Scan(&v)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return v, nil
}

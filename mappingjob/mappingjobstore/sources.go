package mappingjobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portiere/portiere/mappingjob"
)

var _ mappingjob.SourceStore = (*Store)(nil)

const sourceColumns = `id, project_id, name, format, kind, path, header, columns, delimiter, rows, distinct_codes, total_count,
	coalesce(created_by::text, ''), created_at`

func scanSource(row pgx.Row) (mappingjob.Source, error) {
	var src mappingjob.Source
	var cols []byte
	err := row.Scan(&src.ID, &src.ProjectID, &src.Name, &src.Format, &src.Kind, &src.Path, &src.Header, &cols, &src.Delimiter,
		&src.Rows, &src.DistinctCodes, &src.TotalCount, &src.CreatedBy, &src.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return src, fmt.Errorf("%w: source", mappingjob.ErrNotFound)
	}
	if err != nil {
		return src, translate(err)
	}
	if err := json.Unmarshal(cols, &src.Columns); err != nil {
		return src, fmt.Errorf("mappingjob: columns of source %s: %w", src.ID, err)
	}
	return src, nil
}

// CreateSource stores src and its codes in one transaction: the source row
// first, then the codes with COPY (the fastest way in; an upload's codes
// are distinct, so there is nothing to merge). Any failure rolls both
// back. A name taken in the project — by a source, or by codes added
// without a source row (AddSourceCodes) — is mappingjob.ErrSourceExists.
func (s *Store) CreateSource(ctx context.Context, src mappingjob.Source, codes []mappingjob.SourceCode) (mappingjob.Source, error) {
	if src.Name == "" {
		return mappingjob.Source{}, fmt.Errorf("%w: a source needs a name", mappingjob.ErrInvalid)
	}
	cols, err := json.Marshal(src.Columns)
	if err != nil {
		return mappingjob.Source{}, fmt.Errorf("mappingjob: %w", err)
	}
	header := src.Header
	if header == nil {
		header = []string{}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return mappingjob.Source{}, translate(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	const q = `
		insert into sources (project_id, name, format, kind, path, header, columns, delimiter, rows, distinct_codes, total_count, created_by)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, '')::uuid)
		returning ` + sourceColumns
	created, err := scanSource(tx.QueryRow(ctx, q, src.ProjectID, src.Name, src.Format, src.Kind, src.Path, header, cols, src.Delimiter,
		src.Rows, src.DistinctCodes, src.TotalCount, src.CreatedBy))
	if err != nil {
		return mappingjob.Source{}, sourceError(src, err)
	}
	if len(codes) > 0 {
		rows := make([][]any, len(codes))
		for i, c := range codes {
			if c.Code == "" {
				return mappingjob.Source{}, fmt.Errorf("%w: source code %d of %d is empty", mappingjob.ErrInvalid, i+1, len(codes))
			}
			rows[i] = []any{src.ProjectID, created.ID, created.Name, c.Code, c.Description, c.Count, c.Column,
				c.Specimen, c.Unit, c.DomainHint, c.Category}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"source_codes"},
			[]string{"project_id", "source_id", "source", "source_code", "source_description", "source_count", "source_column",
				"specimen", "unit", "domain_hint", "category"},
			pgx.CopyFromRows(rows))
		if err != nil {
			return mappingjob.Source{}, sourceError(src, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return mappingjob.Source{}, translate(err)
	}
	return created, nil
}

// sourceError names the taken source name for a unique violation.
func sourceError(src mappingjob.Source, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: the project already has a source named %q", mappingjob.ErrSourceExists, src.Name)
	}
	return translate(err)
}

// Sources returns project's sources, oldest first.
func (s *Store) Sources(ctx context.Context, project string) ([]mappingjob.Source, error) {
	q := `select ` + sourceColumns + ` from sources where project_id = $1 order by created_at, id`
	rows, err := s.pool.Query(ctx, q, project)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []mappingjob.Source{}
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	return out, translate(rows.Err())
}

// Source returns project's source id; an id of another project's source,
// or a malformed one, is mappingjob.ErrNotFound.
func (s *Store) Source(ctx context.Context, project, id string) (mappingjob.Source, error) {
	q := `select ` + sourceColumns + ` from sources where project_id = $1 and id = $2`
	return scanSource(s.pool.QueryRow(ctx, q, project, id))
}

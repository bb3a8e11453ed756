// Package mapperstore is the PostgreSQL storage of package mapper: the
// tables mappers, mapper_documents, mapper_audit (migration 0014) and the
// mapper app's sessions (mapper_sessions, Sessions).
package mapperstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/mapper"
)

// Store implements mapper.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ mapper.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const mapperColumns = `id, line_user_id, display_name, legal_name, email, title, affiliation, vocabularies, domains,
	years_experience, status, status_reason, stripe_account_id, tier, rate_percent, submitted_at, decided_at, created_at, updated_at`

func scanMapper(row pgx.Row) (mapper.Mapper, error) {
	var m mapper.Mapper
	var status string
	err := row.Scan(&m.ID, &m.LineUserID, &m.DisplayName, &m.LegalName, &m.Email, &m.Title, &m.Affiliation,
		&m.Expertise.Vocabularies, &m.Expertise.Domains, &m.YearsExperience, &status, &m.StatusReason,
		&m.StripeAccountID, &m.Tier, &m.RatePercent, &m.SubmittedAt, &m.DecidedAt, &m.CreatedAt, &m.UpdatedAt)
	m.Status = mapper.Status(status)
	return m, err
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", mapper.ErrNotFound, what)
	}
	return fmt.Errorf("mapperstore: %s: %w", what, err)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Create implements mapper.Store.
func (s *Store) Create(ctx context.Context, m mapper.Mapper) error {
	const q = `insert into mappers (` + mapperColumns + `)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`
	_, err := s.pool.Exec(ctx, q, m.ID, m.LineUserID, m.DisplayName, m.LegalName, m.Email, m.Title, m.Affiliation,
		nonNil(m.Expertise.Vocabularies), nonNil(m.Expertise.Domains), m.YearsExperience, string(m.Status), m.StatusReason,
		m.StripeAccountID, m.Tier, m.RatePercent, m.SubmittedAt, m.DecidedAt, m.CreatedAt, m.UpdatedAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: LINE user %s is registered already", mapper.ErrConflict, m.LineUserID)
	}
	if errors.As(err, &pe) && pe.Code == "23514" {
		return fmt.Errorf("%w: %s", mapper.ErrInvalid, pe.ConstraintName)
	}
	if err != nil {
		return fmt.Errorf("mapperstore: create mapper: %w", err)
	}
	return nil
}

// Mapper implements mapper.Store.
func (s *Store) Mapper(ctx context.Context, id string) (mapper.Mapper, error) {
	const q = `select ` + mapperColumns + ` from mappers where id = $1`
	m, err := scanMapper(s.pool.QueryRow(ctx, q, id))
	if err != nil {
		return mapper.Mapper{}, notFound(err, "mapper "+id)
	}
	return m, nil
}

// MapperByLineUser implements mapper.Store.
func (s *Store) MapperByLineUser(ctx context.Context, lineUserID string) (mapper.Mapper, error) {
	const q = `select ` + mapperColumns + ` from mappers where line_user_id = $1`
	m, err := scanMapper(s.pool.QueryRow(ctx, q, lineUserID))
	if err != nil {
		return mapper.Mapper{}, notFound(err, "mapper of LINE user "+lineUserID)
	}
	return m, nil
}

// Mappers implements mapper.Store.
func (s *Store) Mappers(ctx context.Context, states ...mapper.Status) ([]mapper.Mapper, error) {
	const q = `select ` + mapperColumns + ` from mappers
		where cardinality($1::text[]) = 0 or status = any($1)
		order by submitted_at nulls last, created_at, id`
	ss := make([]string, len(states))
	for i, st := range states {
		ss[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, q, ss)
	if err != nil {
		return nil, fmt.Errorf("mapperstore: list mappers: %w", err)
	}
	defer rows.Close()
	var out []mapper.Mapper
	for rows.Next() {
		m, err := scanMapper(rows)
		if err != nil {
			return nil, fmt.Errorf("mapperstore: list mappers: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SaveRegistration implements mapper.Store.
func (s *Store) SaveRegistration(ctx context.Context, id string, from mapper.Status, r mapper.Registration, at time.Time) (mapper.Mapper, error) {
	const q = `update mappers set legal_name = $3, email = $4, title = $5, affiliation = $6, vocabularies = $7, domains = $8,
			years_experience = $9, status = 'pending', status_reason = '', submitted_at = $10, updated_at = $10
		where id = $1 and status = $2
		returning ` + mapperColumns
	m, err := scanMapper(s.pool.QueryRow(ctx, q, id, string(from), r.LegalName, r.Email, r.Title, r.Affiliation,
		nonNil(r.Expertise.Vocabularies), nonNil(r.Expertise.Domains), r.YearsExperience, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return mapper.Mapper{}, s.conflictOrMissing(ctx, id, from)
	}
	if err != nil {
		return mapper.Mapper{}, fmt.Errorf("mapperstore: save registration: %w", err)
	}
	return m, nil
}

// conflictOrMissing tells an absent mapper from one whose status moved.
func (s *Store) conflictOrMissing(ctx context.Context, id string, from mapper.Status) error {
	m, err := s.Mapper(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: mapper %s is %s now, not %s", mapper.ErrConflict, id, m.Status, from)
}

const auditInsert = `insert into mapper_audit (at, actor_line_id, action, mapper_id, document_id, detail)
	values ($1, $2, $3, $4, $5, $6)`

func audit(ctx context.Context, tx pgx.Tx, a mapper.AuditEntry) error {
	if _, err := tx.Exec(ctx, auditInsert, a.At, a.ActorLineID, a.Action, a.MapperID, a.DocumentID, a.Detail); err != nil {
		return fmt.Errorf("mapperstore: audit: %w", err)
	}
	return nil
}

// SetStatus implements mapper.Store.
func (s *Store) SetStatus(ctx context.Context, id string, from, to mapper.Status, reason string, at time.Time, a mapper.AuditEntry) (mapper.Mapper, error) {
	const q = `update mappers set status = $3, status_reason = $4, decided_at = $5, updated_at = $5
		where id = $1 and status = $2
		returning ` + mapperColumns
	var m mapper.Mapper
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		m, err = scanMapper(tx.QueryRow(ctx, q, id, string(from), string(to), reason, at))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.conflictOrMissing(ctx, id, from)
		}
		if err != nil {
			return fmt.Errorf("mapperstore: set status: %w", err)
		}
		a.MapperID = id
		return audit(ctx, tx, a)
	})
	return m, err
}

// SetTerms implements mapper.Store.
func (s *Store) SetTerms(ctx context.Context, id, tier string, ratePercent int, at time.Time, a mapper.AuditEntry) (mapper.Mapper, error) {
	const q = `update mappers set tier = $2, rate_percent = $3, updated_at = $4 where id = $1 returning ` + mapperColumns
	var m mapper.Mapper
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		m, err = scanMapper(tx.QueryRow(ctx, q, id, tier, ratePercent, at))
		if err != nil {
			return notFound(err, "mapper "+id)
		}
		a.MapperID = id
		return audit(ctx, tx, a)
	})
	return m, err
}

// SetStripeAccount implements mapper.Store.
func (s *Store) SetStripeAccount(ctx context.Context, id, accountID string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `update mappers set stripe_account_id = $2, updated_at = $3 where id = $1`, id, accountID, at)
	if err != nil {
		return fmt.Errorf("mapperstore: set Stripe account: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: mapper %s", mapper.ErrNotFound, id)
	}
	return nil
}

// AddDocument implements mapper.Store.
func (s *Store) AddDocument(ctx context.Context, d mapper.Document) error {
	const q = `insert into mapper_documents (id, mapper_id, kind, content_type, size_bytes, key_id, sealed, uploaded_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8)`
	_, err := s.pool.Exec(ctx, q, d.ID, d.MapperID, string(d.Kind), d.ContentType, d.Size, d.KeyID, d.Sealed, d.UploadedAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return fmt.Errorf("%w: mapper %s", mapper.ErrNotFound, d.MapperID)
	}
	if err != nil {
		return fmt.Errorf("mapperstore: add document: %w", err)
	}
	return nil
}

const documentColumns = `id, mapper_id, kind, content_type, size_bytes, key_id, uploaded_at`

// Documents implements mapper.Store.
func (s *Store) Documents(ctx context.Context, mapperID string) ([]mapper.Document, error) {
	const q = `select ` + documentColumns + ` from mapper_documents where mapper_id = $1 order by uploaded_at, id`
	rows, err := s.pool.Query(ctx, q, mapperID)
	if err != nil {
		return nil, fmt.Errorf("mapperstore: documents: %w", err)
	}
	defer rows.Close()
	var out []mapper.Document
	for rows.Next() {
		var d mapper.Document
		var kind string
		if err := rows.Scan(&d.ID, &d.MapperID, &kind, &d.ContentType, &d.Size, &d.KeyID, &d.UploadedAt); err != nil {
			return nil, fmt.Errorf("mapperstore: documents: %w", err)
		}
		d.Kind = mapper.DocumentKind(kind)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Document implements mapper.Store: the read and its audit entry commit
// together.
func (s *Store) Document(ctx context.Context, id string, a mapper.AuditEntry) (mapper.Document, error) {
	const q = `select ` + documentColumns + `, sealed from mapper_documents where id = $1`
	var d mapper.Document
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var kind string
		err := tx.QueryRow(ctx, q, id).Scan(&d.ID, &d.MapperID, &kind, &d.ContentType, &d.Size, &d.KeyID, &d.UploadedAt, &d.Sealed)
		if err != nil {
			return notFound(err, "document "+id)
		}
		d.Kind = mapper.DocumentKind(kind)
		a.MapperID, a.DocumentID = d.MapperID, d.ID
		return audit(ctx, tx, a)
	})
	return d, err
}

// SealedWithout implements mapper.Store.
func (s *Store) SealedWithout(ctx context.Context, keyID string, limit int) ([]mapper.Document, error) {
	const q = `select ` + documentColumns + `, sealed from mapper_documents where key_id <> $1 order by id limit $2`
	rows, err := s.pool.Query(ctx, q, keyID, limit)
	if err != nil {
		return nil, fmt.Errorf("mapperstore: documents to reseal: %w", err)
	}
	defer rows.Close()
	var out []mapper.Document
	for rows.Next() {
		var d mapper.Document
		var kind string
		if err := rows.Scan(&d.ID, &d.MapperID, &kind, &d.ContentType, &d.Size, &d.KeyID, &d.UploadedAt, &d.Sealed); err != nil {
			return nil, fmt.Errorf("mapperstore: documents to reseal: %w", err)
		}
		d.Kind = mapper.DocumentKind(kind)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Reseal implements mapper.Store.
func (s *Store) Reseal(ctx context.Context, id, oldKeyID, newKeyID string, sealed []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `update mapper_documents set key_id = $3, sealed = $4 where id = $1 and key_id = $2`,
		id, oldKeyID, newKeyID, sealed)
	if err != nil {
		return false, fmt.Errorf("mapperstore: reseal document %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Audit implements mapper.Store.
func (s *Store) Audit(ctx context.Context, mapperID string) ([]mapper.AuditEntry, error) {
	const q = `select id, at, actor_line_id, action, mapper_id, document_id, detail
		from mapper_audit where mapper_id = $1 order by at desc, id desc`
	rows, err := s.pool.Query(ctx, q, mapperID)
	if err != nil {
		return nil, fmt.Errorf("mapperstore: audit: %w", err)
	}
	defer rows.Close()
	var out []mapper.AuditEntry
	for rows.Next() {
		var a mapper.AuditEntry
		if err := rows.Scan(&a.ID, &a.At, &a.ActorLineID, &a.Action, &a.MapperID, &a.DocumentID, &a.Detail); err != nil {
			return nil, fmt.Errorf("mapperstore: audit: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

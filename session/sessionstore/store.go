// Package sessionstore is the PostgreSQL storage of session: the
// web_sessions table.
package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/session"
)

// Store implements session.Store on a pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ session.Store = (*Store)(nil)

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateSession implements session.Store. An unknown user or organization
// is an error wrapping session.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, se session.Session) error {
	const q = `
		insert into web_sessions (token_hash, user_id, organization_id, csrf_token, created_at, last_seen_at, expires_at, user_agent)
		values ($1, $2, $3, $4, $5, $5, $6, $7)`
	_, err := s.pool.Exec(ctx, q, se.TokenHash, se.UserID, nullable(se.OrganizationID), se.CSRFToken, se.CreatedAt, se.ExpiresAt, se.UserAgent)
	if err != nil {
		return fmt.Errorf("sessionstore: create session: %w", err)
	}
	return nil
}

// touchEvery is how stale last_seen_at may get before a lookup rewrites
// it: a write on every page view would cost a row version per request for
// a value only the profile page shows.
const touchEvery = time.Minute

// Session implements session.Store. It records now as the last use when
// the recorded one is older than a minute.
func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (session.Session, error) {
	const q = `
		select token_hash, user_id, coalesce(organization_id::text, ''), csrf_token, created_at, last_seen_at, expires_at, user_agent
		from web_sessions
		where token_hash = $1 and expires_at > $2`
	var se session.Session
	err := s.pool.QueryRow(ctx, q, tokenHash, now).Scan(&se.TokenHash, &se.UserID, &se.OrganizationID, &se.CSRFToken,
		&se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("sessionstore: session: %w", err)
	}
	if now.Sub(se.LastSeenAt) >= touchEvery {
		if _, err := s.pool.Exec(ctx, `update web_sessions set last_seen_at = $2 where token_hash = $1`, tokenHash, now); err != nil {
			return session.Session{}, fmt.Errorf("sessionstore: touch session: %w", err)
		}
		se.LastSeenAt = now
	}
	return se, nil
}

// SetSessionOrganization implements session.Store.
func (s *Store) SetSessionOrganization(ctx context.Context, tokenHash, orgID string) error {
	const q = `update web_sessions set organization_id = $2 where token_hash = $1`
	tag, err := s.pool.Exec(ctx, q, tokenHash, nullable(orgID))
	if err != nil {
		return fmt.Errorf("sessionstore: switch organization: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return session.ErrNotFound
	}
	return nil
}

// DeleteSession implements session.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.pool.Exec(ctx, `delete from web_sessions where token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("sessionstore: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions implements session.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from web_sessions where user_id = $1 and token_hash <> $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("sessionstore: delete sessions of %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpired removes sessions that expired before now; Session never
// returns them, this only keeps the table small. It returns how many went.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from web_sessions where expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("sessionstore: delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

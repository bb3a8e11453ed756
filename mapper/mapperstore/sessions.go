package mapperstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/session"
)

// Sessions implements session.Store on mapper_sessions for the mapper app:
// a session's UserID is the mapper's id, and there is no organization. It
// is safe for concurrent use.
type Sessions struct {
	pool *pgxpool.Pool
}

var _ session.Store = (*Sessions)(nil)

// NewSessions returns the mapper app's session store on pool.
func NewSessions(pool *pgxpool.Pool) *Sessions { return &Sessions{pool: pool} }

// touchEvery: as sessionstore, the last use is rewritten at most once a
// minute.
const touchEvery = time.Minute

// CreateSession implements session.Store. An unknown mapper is an error
// wrapping session.ErrNotFound.
func (s *Sessions) CreateSession(ctx context.Context, se session.Session) error {
	const q = `insert into mapper_sessions (token_hash, mapper_id, csrf_token, created_at, last_seen_at, expires_at, user_agent)
		values ($1, $2, $3, $4, $4, $5, $6)`
	_, err := s.pool.Exec(ctx, q, se.TokenHash, se.UserID, se.CSRFToken, se.CreatedAt, se.ExpiresAt, se.UserAgent)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return fmt.Errorf("%w: mapper %s", session.ErrNotFound, se.UserID)
	}
	if err != nil {
		return fmt.Errorf("mapperstore: create session: %w", err)
	}
	return nil
}

// Session implements session.Store.
func (s *Sessions) Session(ctx context.Context, tokenHash string, now time.Time) (session.Session, error) {
	const q = `select token_hash, mapper_id, csrf_token, created_at, last_seen_at, expires_at, user_agent
		from mapper_sessions where token_hash = $1 and expires_at > $2`
	var se session.Session
	err := s.pool.QueryRow(ctx, q, tokenHash, now).Scan(&se.TokenHash, &se.UserID, &se.CSRFToken,
		&se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return session.Session{}, session.ErrNotFound
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("mapperstore: session: %w", err)
	}
	if now.Sub(se.LastSeenAt) >= touchEvery {
		if _, err := s.pool.Exec(ctx, `update mapper_sessions set last_seen_at = $2 where token_hash = $1`, tokenHash, now); err != nil {
			return session.Session{}, fmt.Errorf("mapperstore: touch session: %w", err)
		}
		se.LastSeenAt = now
	}
	return se, nil
}

// SetSessionOrganization implements session.Store: mapper sessions work in
// no organization, so only "" is accepted.
func (s *Sessions) SetSessionOrganization(ctx context.Context, tokenHash, orgID string) error {
	if orgID != "" {
		return errors.New("mapperstore: a mapper session has no organization")
	}
	return nil
}

// DeleteSession implements session.Store.
func (s *Sessions) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := s.pool.Exec(ctx, `delete from mapper_sessions where token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("mapperstore: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions implements session.Store for mapper userID.
func (s *Sessions) DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from mapper_sessions where mapper_id = $1 and token_hash <> $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("mapperstore: delete sessions of %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpired removes sessions that expired before now (Session never
// returns them; this keeps the table small) and returns how many went.
func (s *Sessions) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from mapper_sessions where expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("mapperstore: delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

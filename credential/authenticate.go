package credential

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// HeaderAPIKey is the header the SDK also sends an API key in.
const HeaderAPIKey = "X-Portiere-API-Key"

// DefaultTouchInterval is how often at most a key's last-used time is
// written: once a minute is precise enough for a listing and spares the
// database a write per request.
const DefaultTouchInterval = time.Minute

// touchTimeout bounds one background last-used write.
const touchTimeout = 5 * time.Second

// KeyStore is what the Authenticator needs from the place API keys live.
// KeyByHash and KeyByID return ErrKeyNotFound when no key matches; any other
// error is a storage failure. TouchKey records that key id was used at at;
// it runs in the background, possibly concurrently for different keys, so
// implementations must be safe for concurrent use.
type KeyStore interface {
	KeyLookup
	KeyByHash(ctx context.Context, hash KeyHash) (KeyRecord, error)
	TouchKey(ctx context.Context, id string, at time.Time) error
}

// Headers gives access to request headers by name; http.Header satisfies
// it, and HeaderFunc adapts anything else (e.g. fiber's c.Get).
type Headers interface {
	Get(name string) string
}

// HeaderFunc adapts a function to Headers.
type HeaderFunc func(name string) string

// Get returns f(name).
func (f HeaderFunc) Get(name string) string { return f(name) }

// AuthenticatorConfig holds what NewAuthenticator needs. Keys, Hasher and
// Tokens are required.
type AuthenticatorConfig struct {
	Keys   KeyStore
	Hasher *KeyHasher
	Tokens *TokenService
	// OperatorToken (ADMIN_TOKEN) authenticates operators; empty disables
	// it. It must be at least MinSecretLength bytes.
	OperatorToken string
	// TouchInterval throttles last-used writes per key; 0 means
	// DefaultTouchInterval.
	TouchInterval time.Duration
	// Logger receives failures of background last-used writes; nil discards.
	Logger *slog.Logger
}

// Authenticator resolves request credentials to a Principal and exchanges
// API keys for access tokens. It is safe for concurrent use. Close waits for
// its background last-used writes.
type Authenticator struct {
	keys          KeyStore
	hasher        *KeyHasher
	tokens        *TokenService
	operator      [sha256.Size]byte
	hasOperator   bool
	touchInterval time.Duration
	log           *slog.Logger
	now           func() time.Time

	mu        sync.Mutex
	closed    bool
	lastTouch map[string]time.Time
	touches   sync.WaitGroup
}

// NewAuthenticator returns an Authenticator for cfg, or an error naming a
// missing dependency or, wrapping ErrWeakSecret, a short operator token.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("credential: NewAuthenticator needs a KeyStore")
	case cfg.Hasher == nil:
		return nil, errors.New("credential: NewAuthenticator needs a KeyHasher")
	case cfg.Tokens == nil:
		return nil, errors.New("credential: NewAuthenticator needs a TokenService")
	}
	a := &Authenticator{
		keys: cfg.Keys, hasher: cfg.Hasher, tokens: cfg.Tokens,
		touchInterval: cfg.TouchInterval, log: cfg.Logger, now: time.Now,
		lastTouch: make(map[string]time.Time),
	}
	if a.touchInterval <= 0 {
		a.touchInterval = DefaultTouchInterval
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.OperatorToken != "" {
		if len(cfg.OperatorToken) < MinSecretLength {
			return nil, fmt.Errorf("%w: operator token has %d bytes, want at least %d", ErrWeakSecret, len(cfg.OperatorToken), MinSecretLength)
		}
		if LooksLikeAPIKey(cfg.OperatorToken) {
			return nil, fmt.Errorf("credential: the operator token must not start with %q: it would be read as an API key", APIKeyMarker)
		}
		// Comparing digests gives a constant-time comparison of equal-length
		// values whatever the presented token's length.
		a.operator, a.hasOperator = sha256.Sum256([]byte(cfg.OperatorToken)), true
	}
	return a, nil
}

// Authenticate resolves the credential in h to a Principal. It accepts
// "Authorization: Bearer <credential>" where the credential is an API key
// (pt_sk_…), an access token from ExchangeKey, or the operator token; and
// "X-Portiere-API-Key: <api key>". Both headers may be sent only if they
// carry the same key (the SDK's fallback does exactly that).
//
// Missing, malformed, unknown, expired and revoked credentials give a
// *DeniedError wrapping ErrUnauthenticated whose Detail says which; a
// storage failure is returned as a plain wrapped error (answer 500). On
// success with an API key, the key's last-used time is written in the
// background, at most once per TouchInterval.
func (a *Authenticator) Authenticate(ctx context.Context, h Headers) (Principal, error) {
	bearer, hasBearer, err := bearerCredential(h.Get("Authorization"))
	if err != nil {
		return Principal{}, err
	}
	headerKey := strings.TrimSpace(h.Get(HeaderAPIKey))
	switch {
	case hasBearer && headerKey != "" && headerKey != bearer:
		return Principal{}, unauthenticated("Authorization and %s carry different credentials; send one", HeaderAPIKey)
	case !hasBearer && headerKey == "":
		return Principal{}, unauthenticated("credentials required: send Authorization: Bearer <token or API key> or %s", HeaderAPIKey)
	case !hasBearer:
		if !LooksLikeAPIKey(headerKey) {
			return Principal{}, unauthenticated("%s must hold an API key (%s…)", HeaderAPIKey, APIKeyMarker)
		}
		bearer = headerKey
	}

	if LooksLikeAPIKey(bearer) {
		key, err := a.resolveKey(ctx, bearer)
		if err != nil {
			return Principal{}, err
		}
		a.touch(ctx, key.ID)
		return key.principal(), nil
	}
	if a.hasOperator {
		got := sha256.Sum256([]byte(bearer))
		if subtle.ConstantTimeCompare(got[:], a.operator[:]) == 1 {
			return Principal{Operator: true}, nil
		}
	}
	claims, err := a.tokens.Verify(ctx, bearer)
	if err != nil {
		return Principal{}, err
	}
	a.touch(ctx, claims.KeyID)
	return claims.Principal(), nil
}

// ExchangeKey checks apiKey and issues an access token for it (POST
// /api/v1/auth/token). Errors are those of Authenticate for an API key.
func (a *Authenticator) ExchangeKey(ctx context.Context, apiKey string) (Token, error) {
	key, err := a.resolveKey(ctx, strings.TrimSpace(apiKey))
	if err != nil {
		return Token{}, err
	}
	a.touch(ctx, key.ID)
	return a.tokens.Issue(key)
}

// Close stops background last-used writes from starting and waits for
// those in flight. Authenticate keeps working after Close, without writes.
func (a *Authenticator) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.touches.Wait()
}

// bearerCredential extracts the credential of a Bearer Authorization
// header. It reports whether one was present.
func bearerCredential(header string) (string, bool, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", false, nil
	}
	scheme, cred, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, unauthenticated("Authorization must use the Bearer scheme")
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return "", false, unauthenticated("Authorization: Bearer carries no credential")
	}
	return cred, true, nil
}

func (a *Authenticator) resolveKey(ctx context.Context, raw string) (KeyRecord, error) {
	if _, err := ParseAPIKey(raw); err != nil {
		// err names the defect (length, character position) but never the key.
		return KeyRecord{}, unauthenticated("%s", strings.TrimPrefix(err.Error(), "credential: "))
	}
	hash := a.hasher.Hash(raw)
	key, err := a.keys.KeyByHash(ctx, hash)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return KeyRecord{}, unauthenticated("invalid API key")
	case err != nil:
		return KeyRecord{}, fmt.Errorf("credential: look up API key: %w", err)
	case !a.hasher.Matches(raw, key.Hash):
		// The store found a row by hash yet its hash differs: never trust it.
		return KeyRecord{}, unauthenticated("invalid API key")
	case key.Revoked():
		return KeyRecord{}, unauthenticated("API key revoked")
	}
	return key, nil
}

// touch writes key id's last-used time in the background unless it was
// written less than touchInterval ago. The write outlives the request (its
// context is detached from ctx's cancellation) but not touchTimeout.
func (a *Authenticator) touch(ctx context.Context, id string) {
	now := a.now()
	a.mu.Lock()
	if a.closed || now.Sub(a.lastTouch[id]) < a.touchInterval {
		a.mu.Unlock()
		return
	}
	a.lastTouch[id] = now
	a.touches.Add(1)
	a.mu.Unlock()

	bg := context.WithoutCancel(ctx)
	go func() {
		defer a.touches.Done()
		tctx, cancel := context.WithTimeout(bg, touchTimeout)
		defer cancel()
		if err := a.keys.TouchKey(tctx, id, now); err != nil {
			a.log.Warn("credential: record API key use", "key_id", id, "err", err)
		}
	}()
}

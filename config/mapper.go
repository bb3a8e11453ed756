package config

import (
	"encoding/base64"
	"strings"
)

// Mapper configures the Portiere Mapper app (portiere web --app=mapper, and
// beside the dashboard under portiere dev).
type Mapper struct {
	// Port is MAPPER_PORT: where portiere dev serves the mapper app
	// (portiere web takes --port). Default 3001.
	Port int
	// LineChannelID is LINE_CHANNEL_ID: the LINE Login channel; every ID
	// token's audience must be it.
	LineChannelID string
	// LIFFID is NEXT_PUBLIC_LIFF_ID: the LIFF app the login page starts.
	LIFFID string
	// LineAPIURL is LINE_API_BASE_URL: LINE's API (the ID token verify
	// endpoint); default https://api.line.me. Tests point it at a local
	// issuer.
	LineAPIURL string
	// AdminLineUserIDs is ADMIN_LINE_USER_IDS: the LINE users who
	// administer the mapper platform (comma-separated).
	AdminLineUserIDs []string
	// KYCKeys is MAPPER_KYC_KEYS: "id:base64key,…", 32-byte AES keys for
	// KYC documents; the first seals new documents, the others still open
	// the documents they sealed (rotation: docs/mapper.md).
	KYCKeys []KYCKey
	// KYCMaxBytes is MAPPER_KYC_MAX_BYTES: the largest KYC document
	// accepted (default 10 MiB).
	KYCMaxBytes int64
	// DevLogin is MAPPER_DEV_LOGIN: a sign-in form taking any LINE user id,
	// for local development without LINE. Refused outside dev mode.
	DevLogin bool
	// LineChannelToken is LINE_CHANNEL_ACCESS_TOKEN: the Messaging API
	// channel's access token the worker tells mappers of their payouts
	// with; empty sends no notifications.
	LineChannelToken string
	// PayoutMinCents is MAPPER_PAYOUT_MIN_CENTS: the smallest balance, in
	// cents, a payout batch pays (default 1000).
	PayoutMinCents int64
	// ConsensusMinVotes is MAPPER_CONSENSUS_MIN_VOTES: the fewest votes
	// that resolve a crowd task (default 3; at least 1).
	ConsensusMinVotes int
}

// KYCKey is one named KYC encryption key.
type KYCKey struct {
	ID  string
	Key []byte
}

// Mapper defaults.
const (
	DefaultMapperPort    = 3001
	DefaultLineAPIURL    = "https://api.line.me"
	DefaultKYCMaxBytes   = 10 << 20
	DefaultPayoutMin     = 1000
	DefaultMinVotes      = 3
	kycKeyBytes          = 32
	maxKYCKeyIDLength    = 32
	mapperDevLoginInProd = "is for local development only: it signs anyone in as any LINE user. Unset it, or run portiere dev"
)

func (p *parser) loadMapper(mode Mode) Mapper {
	m := Mapper{
		Port:          p.port("MAPPER_PORT", DefaultMapperPort),
		LineChannelID: p.str("LINE_CHANNEL_ID", ""),
		LIFFID:        p.str("NEXT_PUBLIC_LIFF_ID", ""),
		LineAPIURL:    p.httpURL("LINE_API_BASE_URL"),
		KYCMaxBytes:   int64(p.positiveInt("MAPPER_KYC_MAX_BYTES", DefaultKYCMaxBytes)),
		DevLogin:      p.boolean("MAPPER_DEV_LOGIN", false),

		LineChannelToken:  p.str("LINE_CHANNEL_ACCESS_TOKEN", ""),
		PayoutMinCents:    int64(p.positiveInt("MAPPER_PAYOUT_MIN_CENTS", DefaultPayoutMin)),
		ConsensusMinVotes: p.positiveInt("MAPPER_CONSENSUS_MIN_VOTES", DefaultMinVotes),
	}
	if m.LineAPIURL == "" {
		m.LineAPIURL = DefaultLineAPIURL
	}
	for _, id := range strings.Split(p.str("ADMIN_LINE_USER_IDS", ""), ",") {
		if id = strings.TrimSpace(id); id != "" {
			m.AdminLineUserIDs = append(m.AdminLineUserIDs, id)
		}
	}
	m.KYCKeys = p.kycKeys("MAPPER_KYC_KEYS")
	if m.DevLogin && mode != ModeDev {
		p.fail("MAPPER_DEV_LOGIN", mapperDevLoginInProd)
	}
	return m
}

// kycKeys parses "id:base64,id:base64": ids unique, keys 32 bytes.
func (p *parser) kycKeys(name string) []KYCKey {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return nil
	}
	var out []KYCKey
	seen := map[string]bool{}
	for i, part := range strings.Split(v, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || id == "" || len(id) > maxKYCKeyIDLength {
			p.fail(name, "entry %d is not id:base64key (an id of 1-%d characters)", i+1, maxKYCKeyIDLength)
			return nil
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != kycKeyBytes {
			p.fail(name, "key %q is not %d bytes of standard base64 (openssl rand -base64 32)", id, kycKeyBytes)
			return nil
		}
		if seen[id] {
			p.fail(name, "key id %q appears twice", id)
			return nil
		}
		seen[id] = true
		out = append(out, KYCKey{ID: id, Key: key})
	}
	return out
}

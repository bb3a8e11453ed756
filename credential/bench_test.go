package credential_test

import (
	"context"
	"testing"
	"time"

	"github.com/portiere/portiere/credential"
)

// BenchmarkVerifyPassword is the cost of one sign-in with
// DefaultPasswordParams (64 MiB, 3 passes, 4 lanes): it bounds how many
// sign-ins a server core absorbs per second.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := credential.HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := credential.VerifyPassword("correct horse battery staple", h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is the per-request cost of each credential kind,
// with an in-memory key store (the database round trip comes on top).
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b, time.Hour)
	raw := f.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	tok, err := f.auth.ExchangeKey(context.Background(), raw)
	if err != nil {
		b.Fatal(err)
	}
	for name, authz := range map[string]string{"api-key": "Bearer " + raw, "jwt": "Bearer " + tok.AccessToken, "operator": "Bearer " + operatorToken} {
		b.Run(name, func(b *testing.B) {
			h := headers("Authorization", authz)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.auth.Authenticate(context.Background(), h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

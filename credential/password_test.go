package credential_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/portiere/portiere/credential"
)

// cheap keeps most tests fast; TestHashPasswordDefaults covers the real cost.
var cheap = credential.PasswordParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPasswordDefaults(t *testing.T) {
	h, err := credential.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not a PHC argon2id string with the default parameters", h)
	}
	if err := credential.VerifyPassword("correct horse battery staple", h); err != nil {
		t.Fatalf("VerifyPassword(right) = %v", err)
	}
	if err := credential.VerifyPassword("correct horse battery stapl", h); !errors.Is(err, credential.ErrPasswordMismatch) {
		t.Fatalf("VerifyPassword(wrong) = %v", err)
	}
	if credential.PasswordNeedsRehash(h) {
		t.Error("a default hash needs rehash")
	}
}

func TestPasswordHashesDifferBySalt(t *testing.T) {
	a, _ := credential.HashPasswordWith("same password", cheap)
	b, _ := credential.HashPasswordWith("same password", cheap)
	if a == b {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, h := range []string{a, b} {
		if err := credential.VerifyPassword("same password", h); err != nil {
			t.Fatal(err)
		}
	}
	if !credential.PasswordNeedsRehash(a) {
		t.Error("a cheap hash does not need rehash")
	}
}

// Hashes made by libargon2 (the reference C implementation) through
// argon2-cffi 25.x, so stored hashes interoperate with other tools:
//
//	hash_secret(b"password", b"somesaltsomesalt", time_cost=2, memory_cost=1024,
//	            parallelism=1, hash_len=32, type=Type.ID)
//	PasswordHasher().hash("correct horse battery staple")
func TestVerifyPasswordReferenceVectors(t *testing.T) {
	vectors := map[string]string{
		"password":                     "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CKGe5/bX9YnCq2rxjW5yQXKxn31v1GKzhDCrMc6r6vA",
		"correct horse battery staple": "$argon2id$v=19$m=65536,t=3,p=4$1Fjv5Jc7IVINDxYFqBK4Lg$Aizlz64CFlf+yLv90pidlqXARKIiMlnB4vaYHQQtl0E",
	}
	for pw, h := range vectors {
		if err := credential.VerifyPassword(pw, h); err != nil {
			t.Errorf("VerifyPassword(%q, reference hash) = %v", pw, err)
		}
		if err := credential.VerifyPassword(pw+"!", h); !errors.Is(err, credential.ErrPasswordMismatch) {
			t.Errorf("VerifyPassword(wrong, reference hash) = %v", err)
		}
	}
}

func TestHashPasswordPolicy(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", credential.MaxPasswordLength+1)} {
		if _, err := credential.HashPasswordWith(pw, cheap); !errors.Is(err, credential.ErrPasswordPolicy) {
			t.Errorf("HashPassword(len %d) = %v, want ErrPasswordPolicy", len(pw), err)
		}
	}
	if _, err := credential.HashPasswordWith("long enough", credential.PasswordParams{Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}); err == nil {
		t.Error("absurd memory parameter accepted")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, _ := credential.HashPasswordWith("long enough", cheap)
	f := strings.Split(good, "$")
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	cases := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":        join("", "argon2i", f[2], f[3], f[4], f[5]),
		"version 16":     join("", "argon2id", "v=16", f[3], f[4], f[5]),
		"params order":   join("", "argon2id", f[2], "t=1,m=1024,p=1", f[4], f[5]),
		"huge memory":    join("", "argon2id", f[2], "m=99999999,t=1,p=1", f[4], f[5]),
		"huge time":      join("", "argon2id", f[2], "m=1024,t=1000,p=1", f[4], f[5]),
		"zero threads":   join("", "argon2id", f[2], "m=1024,t=1,p=0", f[4], f[5]),
		"salt not b64":   join("", "argon2id", f[2], f[3], "!!!", f[5]),
		"hash too short": join("", "argon2id", f[2], f[3], f[4], "AAAA"),
		"extra field":    good + "$x",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			if err := credential.VerifyPassword("long enough", h); !errors.Is(err, credential.ErrMalformedHash) {
				t.Fatalf("VerifyPassword(%q) = %v, want ErrMalformedHash", h, err)
			}
			if !credential.PasswordNeedsRehash(h) {
				t.Error("malformed hash does not need rehash")
			}
		})
	}
	if err := credential.VerifyPassword(strings.Repeat("x", credential.MaxPasswordLength+1), good); !errors.Is(err, credential.ErrPasswordMismatch) {
		t.Errorf("oversized password: %v", err)
	}
}

func TestPasswordGate(t *testing.T) {
	const phc = "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CKGe5/bX9YnCq2rxjW5yQXKxn31v1GKzhDCrMc6r6vA"
	g := credential.NewPasswordGate(1)
	ctx := context.Background()
	if err := g.Verify(ctx, "password", phc); err != nil {
		t.Fatal(err)
	}
	if err := g.Verify(ctx, "nope", phc); !errors.Is(err, credential.ErrPasswordMismatch) {
		t.Fatal(err)
	}
	h, err := g.Hash(ctx, "a long enough password")
	if err != nil || credential.VerifyPassword("a long enough password", h) != nil {
		t.Fatalf("Hash: %q, %v", h, err)
	}

}

package credential_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/portiere/portiere/credential"
)

const (
	testSalt   = "salt-salt-salt-salt-salt-salt-salt-salt"
	testSecret = "jwt-secret-jwt-secret-jwt-secret-jwt"
)

func TestNewAPIKeyFormatAndUniqueness(t *testing.T) {
	format := regexp.MustCompile(`^pt_sk_[a-z2-7]{52}$`)
	seen := map[string]bool{}
	prefixes := map[string]bool{}
	for range 2000 {
		k := credential.NewAPIKey()
		if !format.MatchString(k) {
			t.Fatalf("key %q does not match %v", k, format)
		}
		if _, err := credential.ParseAPIKey(k); err != nil {
			t.Fatalf("ParseAPIKey(new key) = %v", err)
		}
		p, err := credential.KeyPrefix(k)
		if err != nil || len(p) != len("pt_sk_")+8 || !strings.HasPrefix(k, p) {
			t.Fatalf("KeyPrefix(%q) = %q, %v", k, p, err)
		}
		if seen[k] || prefixes[p] {
			t.Fatalf("repeated key or prefix after %d keys", len(seen))
		}
		seen[k], prefixes[p] = true, true
	}
}

func TestParseAPIKeyRejects(t *testing.T) {
	body := "abcdefghijklmnopqrstuvwxyz234567" + strings.Repeat("q", 20)
	good := "pt_sk_" + body
	if _, err := credential.ParseAPIKey(good); err != nil {
		t.Fatalf("ParseAPIKey(%q) = %v", good, err)
	}
	cases := map[string]struct {
		in   string
		want string
	}{
		"empty":          {"", "empty"},
		"no marker":      {"sk_" + body, `does not start with "pt_sk_"`},
		"live marker":    {"pt_sk_live_" + body[:47], "invalid character at position 11"},
		"short":          {good[:len(good)-1], "51 characters"},
		"long":           {good + "a", "53 characters"},
		"uppercase":      {"pt_sk_" + strings.ToUpper(body[:1]) + body[1:], "invalid character at position 7"},
		"digit 1":        {"pt_sk_" + body[:10] + "1" + body[11:], "position 17"},
		"jwt":            {"eyJhbGciOiJIUzI1NiJ9.e30.sig", "does not start"},
		"padding bits":   {"pt_sk_" + body[:51] + "b", "last character"},
		"trailing space": {good + " ", "53 characters"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := credential.ParseAPIKey(c.in)
			if !errors.Is(err, credential.ErrMalformedKey) {
				t.Fatalf("ParseAPIKey(%q) = %v, want ErrMalformedKey", c.in, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if c.in != "" && len(c.in) > 20 && strings.Contains(err.Error(), c.in) {
				t.Errorf("error echoes the key: %q", err)
			}
			if _, err := credential.KeyPrefix(c.in); !errors.Is(err, credential.ErrMalformedKey) {
				t.Errorf("KeyPrefix(%q) = %v, want ErrMalformedKey", c.in, err)
			}
		})
	}
}

func TestKeyHasher(t *testing.T) {
	if _, err := credential.NewKeyHasher("short"); !errors.Is(err, credential.ErrWeakSecret) {
		t.Fatalf("NewKeyHasher(short) = %v, want ErrWeakSecret", err)
	}
	h, err := credential.NewKeyHasher(testSalt)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := credential.NewKeyHasher(testSalt + "x")
	k1, k2 := credential.NewAPIKey(), credential.NewAPIKey()

	if h.Hash(k1) != h.Hash(k1) {
		t.Error("hash is not deterministic")
	}
	if h.Hash(k1) == h.Hash(k2) {
		t.Error("two keys share a hash")
	}
	if h.Hash(k1) == other.Hash(k1) {
		t.Error("hash does not depend on the salt")
	}
	if !h.Matches(k1, h.Hash(k1)) || h.Matches(k2, h.Hash(k1)) || h.Matches(k1, other.Hash(k1)) {
		t.Error("Matches disagrees with Hash")
	}
	// Known answer: HMAC-SHA256 with the salt as key, so the stored value can
	// be reproduced by an operator with openssl.
	// Computed with: printf '%s' pt_sk_aaa…a | openssl dgst -sha256 -hmac "$salt"
	const want = "747417d3cddc0dab6e8b0d1216b98d0195f1723be33d2f8d042ebd104c47893b"
	s := h.Hash("pt_sk_" + strings.Repeat("a", 52)).String()
	if s != want {
		t.Fatalf("Hash = %s, want %s", s, want)
	}
	back, err := credential.ParseKeyHash(s)
	if err != nil || back != h.Hash("pt_sk_"+strings.Repeat("a", 52)) {
		t.Fatalf("ParseKeyHash(String()) = %v, %v", back, err)
	}
	if _, err := credential.ParseKeyHash("zz"); err == nil {
		t.Error("ParseKeyHash accepted a bad string")
	}
}

func TestKeyHasherIssue(t *testing.T) {
	h, _ := credential.NewKeyHasher(testSalt)
	a, b := h.Issue(), h.Issue()
	if a.Key == b.Key || a.Hash == b.Hash {
		t.Fatal("two issued keys are equal")
	}
	p, err := credential.KeyPrefix(a.Key)
	if err != nil || p != a.Prefix || a.Hash != h.Hash(a.Key) {
		t.Fatalf("issued %+v: prefix %q (%v), hash of key %v", a, p, err, h.Hash(a.Key))
	}
}

package credential_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/portiere/portiere/credential"
)

// FuzzAuthenticate feeds arbitrary header values to Authenticate. Whatever
// comes in, it must not panic, must answer with ErrUnauthenticated (never
// another error: the store works), and may succeed only for the one valid
// key, its token, or the operator token.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f, time.Hour)
	raw := fx.addKey("key-1", credential.RoleMember, credential.ScopeWrite, "")
	tok, err := fx.auth.ExchangeKey(context.Background(), raw)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{
		{"Bearer " + raw, ""}, {"", raw}, {"Bearer " + tok.AccessToken, ""}, {"Bearer " + operatorToken, ""},
		{"Basic abc", ""}, {"Bearer", ""}, {"Bearer pt_sk_", ""}, {"Bearer eyJhbGciOiJub25lIn0.e30.", ""},
		{"bearer " + raw, raw}, {"Bearer " + raw[:len(raw)-1] + "b", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, key string) {
		h := http.Header{}
		h["Authorization"] = []string{authz}
		h["X-Portiere-Api-Key"] = []string{key}
		p, err := fx.auth.Authenticate(context.Background(), h)
		if err != nil {
			if !errors.Is(err, credential.ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
			if p != (credential.Principal{}) {
				t.Fatalf("principal %+v returned with an error", p)
			}
			return
		}
		switch {
		case p.Operator:
		case p.KeyID == "key-1" && p.OrganizationID == "org-1":
		default:
			t.Fatalf("authenticated as %+v from %q / %q", p, authz, key)
		}
	})
}

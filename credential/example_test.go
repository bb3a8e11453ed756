package credential_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/portiere/portiere/credential"
)

// The life of an API key: created and stored as a hash, exchanged for an
// access token, presented on a request, checked against a route's rule.
func Example() {
	ctx := context.Background()
	keys := newMemKeys() // the tenancy store in production
	hasher, _ := credential.NewKeyHasher("an API_KEY_SALT of at least 32 bytes")
	tokens, _ := credential.NewTokenService("a JWT_SECRET of at least 32 bytes!!", keys)
	auth, _ := credential.NewAuthenticator(credential.AuthenticatorConfig{Keys: keys, Hasher: hasher, Tokens: tokens})
	defer auth.Close()

	raw := credential.NewAPIKey() // shown to its owner once
	keys.put(credential.KeyRecord{ID: "key-1", OrganizationID: "org-1", Role: credential.RoleMember,
		Scope: credential.ScopeRead, Hash: hasher.Hash(raw)})

	tok, _ := auth.ExchangeKey(ctx, raw)
	fmt.Println(tok.TokenType, tok.ExpiresIn.Seconds())

	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok.AccessToken)
	p, err := auth.Authenticate(ctx, h)
	fmt.Println(p.OrganizationID, p.KeyID, err)

	fmt.Println(p.CanRead("proj-1"))
	err = p.CanWrite("proj-1")
	var denied *credential.DeniedError
	if errors.As(err, &denied) && errors.Is(err, credential.ErrForbidden) {
		fmt.Println("403:", denied.Detail)
	}
	// Output:
	// bearer 3600
	// org-1 key-1 <nil>
	// <nil>
	// 403: this API key has read scope
}

package line_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/line/linetest"
)

const channel = "1660000001"

func verifier(t *testing.T, base string) *line.Verifier {
	t.Helper()
	v, err := line.NewVerifier(line.VerifierOptions{BaseURL: base, ChannelID: channel})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	iss, base := linetest.Start(t, channel)
	v := verifier(t, base)
	ctx := context.Background()
	user := "U4af4980629bd6f8fbd2e1d9c2a4a0e11"

	id, err := v.Verify(ctx, iss.Issue(linetest.Token{Subject: user, Name: "Somchai", Nonce: "n-1"}), "n-1")
	if err != nil || id.UserID != user || id.DisplayName != "Somchai" || id.ExpiresAt.Before(time.Now()) {
		t.Fatalf("valid token: %+v %v", id, err)
	}

	refused := map[string]struct{ token, nonce, why string }{
		"forged":        {iss.Forge(linetest.Token{Subject: user, Nonce: "n"}), "n", "Signature"},
		"expired":       {iss.Issue(linetest.Token{Subject: user, Nonce: "n", ExpiresAt: time.Now().Add(-time.Minute)}), "n", "expired"},
		"other channel": {iss.Issue(linetest.Token{Subject: user, Nonce: "n", Audience: "1669999999"}), "n", "Audience"},
		"other nonce":   {iss.Issue(linetest.Token{Subject: user, Nonce: "n"}), "m", "Nonce"},
		"nonce missing": {iss.Issue(linetest.Token{Subject: user}), "n", "Nonce"},
		"not a JWT":     {"hello", "n", "JWT"},
		"tampered": {func() string {
			tok := iss.Issue(linetest.Token{Subject: user, Nonce: "n"})
			parts := strings.Split(tok, ".")
			return parts[0] + "." + parts[1] + "x." + parts[2]
		}(), "n", "IdToken"},
	}
	// A LIFF token carries no nonce; the login passes none.
	if id, err := v.Verify(ctx, iss.Issue(linetest.Token{Subject: user}), ""); err != nil || id.UserID != user {
		t.Fatalf("LIFF token without nonce: %+v %v", id, err)
	}
	for name, c := range refused {
		if _, err := v.Verify(ctx, c.token, c.nonce); !errors.Is(err, line.ErrInvalidToken) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: got %v, want ErrInvalidToken naming %q", name, err, c.why)
		}
	}
}

// The claims LINE's endpoint returns are checked again: a misconfigured
// or impersonated endpoint cannot sign in a token for another channel, an
// expired one, or another login's nonce.
func TestVerifyChecksTheAnswer(t *testing.T) {
	answer := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	v := verifier(t, srv.URL)
	exp := time.Now().Add(time.Hour).Unix()
	tok := "a.b.c"
	cases := map[string]string{
		"issuer":       `{"iss":"https://evil.example","sub":"U1","aud":"` + channel + `","exp":` + itoa(exp) + `,"nonce":"n"}`,
		"channel":      `{"iss":"https://access.line.me","sub":"U1","aud":"other","exp":` + itoa(exp) + `,"nonce":"n"}`,
		"expired":      `{"iss":"https://access.line.me","sub":"U1","aud":"` + channel + `","exp":` + itoa(time.Now().Add(-time.Second).Unix()) + `,"nonce":"n"}`,
		"nonce":        `{"iss":"https://access.line.me","sub":"U1","aud":"` + channel + `","exp":` + itoa(exp) + `,"nonce":"x"}`,
		"subject":      `{"iss":"https://access.line.me","sub":"","aud":"` + channel + `","exp":` + itoa(exp) + `,"nonce":"n"}`,
		"nonce absent": `{"iss":"https://access.line.me","sub":"U1","aud":"` + channel + `","exp":` + itoa(exp) + `}`,
	}
	for name, a := range cases {
		answer = a
		if _, err := v.Verify(context.Background(), tok, "n"); !errors.Is(err, line.ErrInvalidToken) {
			t.Errorf("%s: accepted: %v", name, err)
		}
	}
	answer = `{"iss":"https://access.line.me","sub":"U1","aud":"` + channel + `","exp":` + itoa(exp) + `,"nonce":"n"}`
	if id, err := v.Verify(context.Background(), tok, "n"); err != nil || id.UserID != "U1" {
		t.Fatalf("a good answer: %+v %v", id, err)
	}
}

func TestVerifyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := verifier(t, srv.URL).Verify(context.Background(), "a.b.c", "n")
	if err == nil || errors.Is(err, line.ErrInvalidToken) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("LINE down: %v", err)
	}
}

func TestNewVerifier(t *testing.T) {
	if _, err := line.NewVerifier(line.VerifierOptions{}); err == nil || !strings.Contains(err.Error(), "LINE_CHANNEL_ID") {
		t.Fatalf("no channel: %v", err)
	}
	if _, err := line.NewVerifier(line.VerifierOptions{ChannelID: "1", BaseURL: "ftp://x"}); err == nil {
		t.Fatal("ftp base URL accepted")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

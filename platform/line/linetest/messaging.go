package linetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Message is one push the Messaging recorder delivered.
type Message struct {
	To       string
	Text     string
	RetryKey string
}

// Messaging stands in for LINE's Messaging API push endpoint (POST
// /v2/bot/message/push): it checks the channel access token, answers 409
// to a retry key it accepted before (as LINE does) and records each
// delivered message once. Fail makes the next n pushes answer 500. It is
// safe for concurrent use.
type Messaging struct {
	Token string

	mu        sync.Mutex
	delivered []Message
	seen      map[string]bool
	failNext  int
	requests  int
}

// StartMessaging serves a recorder expecting token on 127.0.0.1 for the
// test's duration and returns it with its base URL
// (line.PusherOptions.BaseURL).
func StartMessaging(t testing.TB, token string) (*Messaging, string) {
	t.Helper()
	m := &Messaging{Token: token}
	mux := http.NewServeMux()
	m.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return m, srv.URL
}

// Register mounts the push endpoint on mux.
func (m *Messaging) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v2/bot/message/push", m.push)
}

// Fail makes the next n pushes answer 500 without delivering.
func (m *Messaging) Fail(n int) {
	m.mu.Lock()
	m.failNext = n
	m.mu.Unlock()
}

// Delivered returns the messages delivered, in order.
func (m *Messaging) Delivered() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.delivered...)
}

// Requests is how many push requests arrived, delivered or not.
func (m *Messaging) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

func (m *Messaging) push(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+m.Token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Authentication failed. Confirm that the access token in the authorization header is valid."}`))
		return
	}
	if m.failNext > 0 {
		m.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"An error occurred in the internal server"}`))
		return
	}
	key := r.Header.Get("X-Line-Retry-Key")
	if key != "" && m.seen[key] {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"message":"The retry key is already accepted"}`))
		return
	}
	var body struct {
		To       string `json:"to"`
		Messages []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.To == "" || len(body.Messages) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"The request body has 1 error(s)"}`))
		return
	}
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if key != "" {
		m.seen[key] = true
	}
	for _, msg := range body.Messages {
		m.delivered = append(m.delivered, Message{To: body.To, Text: msg.Text, RetryKey: key})
	}
	_, _ = w.Write([]byte(`{"sentMessages":[{"id":"1","quoteToken":"q"}]}`))
}

package line

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrPushRefused wraps an answer of the Messaging API that retrying will
// not change (a bad request, an unknown user, a bad channel token).
var ErrPushRefused = errors.New("line: push refused")

// Pusher sends Messaging API push messages (POST {base}/v2/bot/message/push)
// with a channel access token. Every push carries an X-Line-Retry-Key
// derived from the caller's key, so a retried push after a lost answer is
// delivered once: LINE answers a repeated retry key with 409, which Push
// reads as done. It is safe for concurrent use.
type Pusher struct {
	base   string
	token  string
	client *http.Client
}

// PusherOptions are a Pusher's settings.
type PusherOptions struct {
	// BaseURL is LINE's API (default DefaultAPIBaseURL); tests point it at
	// linetest's recorder.
	BaseURL string
	// Token is the Messaging API channel access token. Required.
	Token string
	// Client makes the request (default: a client with a 10 s timeout).
	Client *http.Client
}

// NewPusher returns a Pusher; the token is required.
func NewPusher(o PusherOptions) (*Pusher, error) {
	if o.Token == "" {
		return nil, errors.New("line: the Messaging API needs a channel access token")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultAPIBaseURL
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Pusher{base: strings.TrimRight(o.BaseURL, "/"), token: o.Token, client: o.Client}, nil
}

// RetryKey turns key (any stable string naming the notification, such as
// a payout id) into the UUID-shaped X-Line-Retry-Key LINE requires.
func RetryKey(key string) string {
	h := sha256.Sum256([]byte(key))
	h[6] = h[6]&0x0f | 0x50 // version 5-style, variant RFC 4122
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// PushText sends text to the LINE user to. key names the notification:
// pushing the same key again does not deliver it twice. An error wraps
// ErrPushRefused when LINE refused the push for good; any other error is
// worth retrying with the same key.
func (p *Pusher) PushText(ctx context.Context, to, text, key string) error {
	if to == "" || text == "" || key == "" {
		return fmt.Errorf("%w: a push needs a recipient, a text and a key", ErrPushRefused)
	}
	body, err := json.Marshal(map[string]any{"to": to, "messages": []map[string]string{{"type": "text", "text": text}}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v2/bot/message/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("X-Line-Retry-Key", RetryKey(key))
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("line: push: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
	switch {
	case res.StatusCode == http.StatusOK, res.StatusCode == http.StatusConflict: // 409: this retry key was accepted before
		return nil
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return fmt.Errorf("line: push: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: HTTP %d: %s", ErrPushRefused, res.StatusCode, bytes.TrimSpace(msg))
	}
}

package line_test

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/portiere/portiere/platform/line"
	"github.com/portiere/portiere/platform/line/linetest"
)

func TestPushDeliversOncePerKey(t *testing.T) {
	rec, base := linetest.StartMessaging(t, "tok")
	p, err := line.NewPusher(line.PusherOptions{BaseURL: base, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const user = "U0123456789abcdef0123456789abcdef"
	if err := p.PushText(ctx, user, "Paid: USD 12.34", "payout-po_1"); err != nil {
		t.Fatal(err)
	}
	// The same notification again (a retried activity): LINE answers 409,
	// which is done, and nothing is delivered twice.
	if err := p.PushText(ctx, user, "Paid: USD 12.34", "payout-po_1"); err != nil {
		t.Fatalf("repeated key: %v", err)
	}
	rec.Fail(1)
	if err := p.PushText(ctx, user, "Paid: USD 1.00", "payout-po_2"); err == nil || errors.Is(err, line.ErrPushRefused) {
		t.Fatalf("500: %v, want a retryable error", err)
	}
	if err := p.PushText(ctx, user, "Paid: USD 1.00", "payout-po_2"); err != nil {
		t.Fatal(err)
	}
	got := rec.Delivered()
	if len(got) != 2 || got[0].Text != "Paid: USD 12.34" || got[0].To != user || got[1].Text != "Paid: USD 1.00" || rec.Requests() != 4 {
		t.Fatalf("delivered %+v after %d requests", got, rec.Requests())
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got[0].RetryKey) {
		t.Fatalf("retry key %q is not a UUID", got[0].RetryKey)
	}
	bad, _ := line.NewPusher(line.PusherOptions{BaseURL: base, Token: "wrong"})
	if err := bad.PushText(ctx, user, "x", "k"); !errors.Is(err, line.ErrPushRefused) {
		t.Fatalf("bad token: %v, want ErrPushRefused", err)
	}
	if _, err := line.NewPusher(line.PusherOptions{}); err == nil {
		t.Fatal("a pusher without token")
	}
}

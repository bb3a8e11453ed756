package credential

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPasswordGateWaitsAndGivesUp(t *testing.T) {
	const phc = "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CKGe5/bX9YnCq2rxjW5yQXKxn31v1GKzhDCrMc6r6vA"
	g := NewPasswordGate(1)
	if err := g.acquire(context.Background()); err != nil { // hold the only slot
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Verify(ctx, "password", phc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with the gate full = %v, want DeadlineExceeded", err)
	}
	if _, err := g.Hash(ctx, "long enough password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with the gate full = %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Verify(context.Background(), "password", phc) }()
	select {
	case err := <-done:
		t.Fatalf("Verify ran while the slot was held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.release()
	if err := <-done; err != nil {
		t.Fatalf("Verify after release = %v", err)
	}
}

package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/portiere/portiere/platform/ratelimit"
)

// A limit of 3 per minute allows a burst of 3; the 4th request waits for
// the next emission, every 20 s.
func ExampleMemory() {
	now := time.Unix(1_700_000_000, 0)
	l := ratelimit.NewMemory(func() time.Time { return now })
	for i := 0; i < 4; i++ {
		d, _ := l.Allow(context.Background(), "key-1", 3)
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Output:
	// true 2 0s
	// true 1 0s
	// true 0 0s
	// false 0 20s
}

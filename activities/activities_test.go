package activities

import (
	"context"
	"testing"
	"time"
)

// `portiere dev` runs the Elasticsearch population's activities in process,
// outside any worker: a chunk slower than keepAlive's interval must not
// heartbeat (the SDK panics: "Not an activity context").
func TestKeepAliveOutsideAnActivity(t *testing.T) {
	stop := keepAlive(context.Background())
	time.Sleep(2500 * time.Millisecond) // past the first tick
	stop()
}

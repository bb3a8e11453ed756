package cache

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func exercise(t *testing.T, c Cache) {
	t.Helper()
	ctx := context.Background()
	if _, ok := c.Get(ctx, "absent"); ok {
		t.Fatal("hit on an absent key")
	}
	c.Set(ctx, "k", []byte("v1"), time.Minute)
	if v, ok := c.Get(ctx, "k"); !ok || string(v) != "v1" {
		t.Fatalf("got %q %v", v, ok)
	}
	c.Set(ctx, "k", []byte("v2"), time.Minute)
	if v, _ := c.Get(ctx, "k"); string(v) != "v2" {
		t.Fatalf("overwrite: got %q", v)
	}
	c.Set(ctx, "short", []byte("x"), 50*time.Millisecond)
	time.Sleep(1100 * time.Millisecond) // Redis expiry has 1 ms resolution but is lazy-checked
	if _, ok := c.Get(ctx, "short"); ok {
		t.Fatal("expired entry still served")
	}
}

func TestMemory(t *testing.T) {
	exercise(t, NewMemory(10))
	m := NewMemory(2)
	ctx := context.Background()
	m.Set(ctx, "a", []byte("1"), time.Minute)
	m.Set(ctx, "b", []byte("2"), time.Minute)
	m.Get(ctx, "a") // a is now the most recent
	m.Set(ctx, "c", []byte("3"), time.Minute)
	if _, ok := m.Get(ctx, "b"); ok {
		t.Fatal("least recently used entry not evicted")
	}
	if _, ok := m.Get(ctx, "a"); !ok {
		t.Fatal("recently used entry evicted")
	}
}

// TestRedis runs the same checks against a real redis-server started on a
// free loopback port.
func TestRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("PORTIERE_REQUIRE_TOOLS") != "" {
			t.Fatal("redis-server not installed (make tools installs it)")
		}
		t.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	exercise(t, NewRedis(rdb, "test:"))
	if n, _ := rdb.Exists(context.Background(), "test:k").Result(); n != 1 {
		t.Fatal("keys are not stored under the prefix")
	}
}

// Package ports finds free TCP ports on the loopback interface, checks that a
// port can be bound, and waits for a listener to come up.
package ports

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Free asks the kernel for a free TCP port on 127.0.0.1.
func Free() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ports: no free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PortInUseError names a port something else already listens on.
type PortInUseError struct{ Port int }

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port %d is already in use on 127.0.0.1: stop what listens there or choose another port", e.Port)
}

// Available returns *PortInUseError when port cannot be bound on
// 127.0.0.1.
func Available(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return &PortInUseError{Port: port}
	}
	l.Close()
	return nil
}

// Wait waits until addr accepts TCP connections or ctx ends.
func Wait(ctx context.Context, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

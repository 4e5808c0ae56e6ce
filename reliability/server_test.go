package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// rpcServer is a simplerpc server on a fixed loopback address that a test
// can kill and restart; every incarnation serves the same Work, so the
// ledger counts executions across restarts.
type rpcServer struct {
	t      testing.TB
	addr   string
	work   *Work
	ledger *ledger
	opts   []simplerpc.ServerOption

	mu   sync.Mutex
	srv  *simplerpc.Server
	done chan error // Serve's result
}

// startServer starts a server on a free loopback port; it is stopped when
// the test ends.
func startServer(t testing.TB, opts ...simplerpc.ServerOption) *rpcServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	led := newLedger()
	s := &rpcServer{t: t, addr: l.Addr().String(), ledger: led, work: &Work{ledger: led},
		opts: append([]simplerpc.ServerOption{simplerpc.WithLogger(quietLogger())}, opts...)}
	if err := s.serve(l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// serve starts a new incarnation on l.
func (s *rpcServer) serve(l net.Listener) error {
	srv := simplerpc.NewServer(s.opts...)
	if err := srv.Register("Work", s.work); err != nil {
		l.Close()
		return fmt.Errorf("register: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	s.mu.Lock()
	s.srv, s.done = srv, done
	s.mu.Unlock()
	return nil
}

// current returns the running incarnation and its Serve result channel.
func (s *rpcServer) current() (*simplerpc.Server, chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv, s.done
}

// kill stops the server at once (Close): calls in flight lose their
// connection.
func (s *rpcServer) kill() {
	srv, done := s.current()
	srv.Close()
	s.wait(done)
}

// shutdown stops the server gracefully, finishing the calls it accepted.
func (s *rpcServer) shutdown() {
	srv, done := s.current()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		s.t.Errorf("Shutdown: %v", err)
		srv.Close()
	}
	s.wait(done)
}

func (s *rpcServer) wait(done chan error) {
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, simplerpc.ErrServerClosed) {
			s.t.Errorf("Serve returned %v", err)
		}
		done <- simplerpc.ErrServerClosed // for a later stop
	case <-time.After(10 * time.Second):
		s.t.Errorf("Serve did not return after the server stopped")
	}
}

// restart serves again on the same address, once it is free.
func (s *rpcServer) restart() {
	var l net.Listener
	var err error
	for range 200 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("restart on %s: %v", s.addr, err)
	}
	if err := s.serve(l); err != nil {
		s.t.Fatal(err)
	}
}

// stop shuts the current incarnation down for good.
func (s *rpcServer) stop() { s.shutdown() }

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// dial connects a client to addr, closed when the test ends.
func dial(t testing.TB, addr string, opts ...simplerpc.ClientOption) *simplerpc.Client {
	t.Helper()
	c, err := dialErr(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialErr connects a client to addr, within 30 seconds.
func dialErr(addr string, opts ...simplerpc.ClientOption) (*simplerpc.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts = append([]simplerpc.ClientOption{simplerpc.WithLogger(quietLogger())}, opts...)
	c, err := simplerpc.Dial(ctx, addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return c, nil
}

// patientRetry retries calls that were not run for about a second: long
// enough to ride through a server restart.
func patientRetry() simplerpc.ClientOption {
	return simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 40, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
}

package simplerpc

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestEndpointSupervisorExitsOnClose checks that the endpoint's one
// background goroutine ends with close, also while it probes a server
// that cannot be reached.
func TestEndpointSupervisorExitsOnClose(t *testing.T) {
	cfg := newClientConfig([]ClientOption{clientOptionFunc(func(c *clientConfig) {
		c.dialer = func(context.Context, string) (net.Conn, error) { return nil, errors.New("unreachable") }
	})})
	ep := newEndpoint(&cfg, "nowhere:1", nil)
	ep.markDown()
	deadline := time.Now().Add(5 * time.Second)
	for !ep.isDown() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !ep.isDown() {
		t.Fatal("markDown did not mark the endpoint down")
	}
	done := make(chan struct{})
	go func() { ep.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return: the supervisor did not exit")
	}
	select {
	case <-ep.exited:
	default:
		t.Fatal("close returned before the supervisor exited")
	}
}

// adder is a service for the endpoint's tests.
type adder struct{}

// Add returns a+b.
func (adder) Add(a, b int64) int64 { return a + b }

// dialedEndpoint returns an endpoint of a server serving adder, its
// connection made, and closes it when the test ends.
func dialedEndpoint(t *testing.T) (*endpoint, *clientConn) {
	t.Helper()
	_, addr := serveService(t, "Adder", adder{})
	cfg := newClientConfig(nil)
	ep := newEndpoint(&cfg, addr, nil)
	t.Cleanup(ep.close)
	cc, err := ep.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ep, cc
}

// TestEndpointConnWithoutLock checks that a call finds the endpoint's
// usable connection without taking the endpoint's lock, which every
// caller of a client would otherwise take, one after another.
func TestEndpointConnWithoutLock(t *testing.T) {
	ep, cc := dialedEndpoint(t)
	ep.mu.Lock()
	got := make(chan *clientConn, 1)
	go func() {
		c, _ := ep.conn(context.Background())
		got <- c
	}()
	select {
	case c := <-got:
		ep.mu.Unlock()
		if c != cc {
			t.Fatalf("conn returned %p, want the endpoint's connection %p", c, cc)
		}
	case <-time.After(5 * time.Second):
		ep.mu.Unlock()
		<-got
		t.Fatal("conn waited for the endpoint's lock with a usable connection")
	}
}

// TestEndpointConnAfterRetire checks that a retired endpoint takes no
// new call, though its connection is still usable.
func TestEndpointConnAfterRetire(t *testing.T) {
	ep, cc := dialedEndpoint(t)
	ep.retire()
	if !cc.usable() {
		t.Fatal("retire stopped the connection; the test needs it usable")
	}
	if c, err := ep.conn(context.Background()); err == nil {
		t.Fatalf("conn after retire returned %p, want an error", c)
	} else if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeUnavailable {
		t.Fatalf("conn after retire: %v, want CodeUnavailable", err)
	}
}

// TestEndpointConnAfterGoAway checks that a connection the server asked
// to leave takes no new call: the next goes to a new connection.
func TestEndpointConnAfterGoAway(t *testing.T) {
	ep, cc := dialedEndpoint(t)
	cc.goAway(false)
	if cc.usable() {
		t.Fatal("a connection told to go away is still usable")
	}
	c, err := ep.conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c == cc {
		t.Fatal("conn after go-away returned the draining connection")
	}
}

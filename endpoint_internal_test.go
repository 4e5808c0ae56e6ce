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

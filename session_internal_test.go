package simplerpc

import (
	"context"
	"testing"
	"time"
)

// held is a service whose Hold call waits until released.
type held struct{ release chan struct{} }

func (h *held) Hold() { <-h.release }

func (h *held) Blob(n int) []byte { return make([]byte, n) }

// TestDeliveredRepliesAreForgotten checks that the server forgets replies
// the client has read even while an older call is still pending — which
// holds the acknowledged id back — so a slow call does not make a
// session keep every reply after it.
func TestDeliveredRepliesAreForgotten(t *testing.T) {
	h := &held{release: make(chan struct{})}
	srv, addr := serveService(t, "H", h)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	holding := make(chan error, 1)
	go func() { holding <- c.Call(context.Background(), "H.Hold", nil) }()
	defer func() {
		close(h.release)
		if err := <-holding; err != nil {
			t.Error(err)
		}
	}()
	const calls, size = 300, 64 << 10 // 19 MiB of replies in all
	for range calls {
		var b []byte
		if err := c.Call(context.Background(), "H.Blob", []any{size}, &b); err != nil || len(b) != size {
			t.Fatalf("Blob: %d bytes, %v", len(b), err)
		}
	}
	// Acks go every 1 MiB of replies: the server may still keep the last
	// few, and must have forgotten the rest.
	deadline := time.Now().Add(2 * time.Second)
	for {
		kept, bytes := keptBy(srv)
		if bytes <= 2<<20 && kept <= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d calls behind a pending one, the server keeps %d calls and %d bytes of replies", calls, kept, bytes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// keptBy returns the calls and reply bytes srv's sessions remember.
func keptBy(srv *Server) (calls, bytes int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, sess := range srv.sessions {
		sess.mu.Lock()
		calls += sess.calls.len()
		bytes += sess.bytes
		sess.mu.Unlock()
	}
	return calls, bytes
}

// TestIdleAckReleasesReplies checks that a client with one caller, whose
// connection goes idle after every reply, lets the server forget its
// replies as it goes (the ack riding on a later call) rather than after
// ackEvery of them.
func TestIdleAckReleasesReplies(t *testing.T) {
	h := &held{release: make(chan struct{})}
	close(h.release)
	srv, addr := serveService(t, "H", h)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const calls = 100 // fewer than ackEvery
	for range calls {
		var b []byte
		if err := c.Call(context.Background(), "H.Blob", []any{8}, &b); err != nil {
			t.Fatal(err)
		}
	}
	if kept, _ := keptBy(srv); kept > idleAckEvery {
		t.Fatalf("after %d sequential calls the server keeps %d replies; at most %d should wait for an ack", calls, kept, idleAckEvery)
	}
}

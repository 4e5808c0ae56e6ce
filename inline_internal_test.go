package simplerpc

import (
	"context"
	"net"
	"testing"
	"time"
)

// quick is a service with a call that returns at once and one that
// waits until released.
type quick struct {
	started chan struct{}
	release chan struct{}
}

func (*quick) Add(a, b int) int { return a + b }

func (q *quick) Hold() {
	q.started <- struct{}{}
	<-q.release
}

// TestTakeoverTimerFollowsCalls checks the takeover timer of calls run in
// the reader goroutine: armed while calls come, it still lets a call that
// blocks after a run of quick ones be taken over (a call behind it is
// answered), and it disarms once calls stop.
func TestTakeoverTimerFollowsCalls(t *testing.T) {
	q := &quick{started: make(chan struct{}), release: make(chan struct{})}
	srv := NewServer()
	if err := srv.Register("Q", q); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-served
	}()
	c, err := Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	add := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var sum int
		if err := c.Call(ctx, "Q.Add", []any{2, 3}, &sum); err != nil || sum != 5 {
			t.Fatalf("Add: %d, %v", sum, err)
		}
	}
	for range 200 {
		add()
	}
	sc := onlyConn(t, srv)
	if sc.inlineCalls.Load() == 0 {
		t.Fatal("no call ran in the reader goroutine")
	}

	// The held call may go to a worker (when a frame such as an ack
	// arrived with it); it is sent until it runs in the reader goroutine.
	for inline := false; !inline; {
		before := sc.inlineCalls.Load()
		holding := make(chan error, 1)
		go func() { holding <- c.Call(context.Background(), "Q.Hold", nil) }()
		<-q.started
		inline = sc.inlineCalls.Load() != before
		for range 3 {
			add()
		}
		q.release <- struct{}{}
		if err := <-holding; err != nil {
			t.Fatal(err)
		}
		if inline && sc.readerState.Load()/readerTakeover == 0 {
			t.Fatal("the held call ran in the reader goroutine and was not taken over")
		}
	}

	deadline := time.Now().Add(2 * time.Second)
	for sc.watching.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the takeover timer is still armed 2s after the last call")
		}
		time.Sleep(time.Millisecond)
	}
}

// onlyConn returns srv's one connection.
func onlyConn(t *testing.T, srv *Server) *serverConn {
	t.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(srv.conns))
	}
	for sc := range srv.conns {
		return sc
	}
	return nil
}

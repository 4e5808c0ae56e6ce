package simplerpc

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
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
	srv, addr := serveService(t, "Q", q)
	c, err := Dial(context.Background(), addr)
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
	if sc.sched.inlineCalls.Load() == 0 {
		t.Fatal("no call ran in the reader goroutine")
	}

	// The held call may go to a worker (when a frame such as an ack
	// arrived with it); it is sent until it runs in the reader goroutine.
	for inline := false; !inline; {
		before := sc.sched.inlineCalls.Load()
		holding := make(chan error, 1)
		go func() { holding <- c.Call(context.Background(), "Q.Hold", nil) }()
		<-q.started
		inline = sc.sched.inlineCalls.Load() != before
		for range 3 {
			add()
		}
		q.release <- struct{}{}
		if err := <-holding; err != nil {
			t.Fatal(err)
		}
		if inline && sc.sched.readerState.Load()/readerTakeover == 0 {
			t.Fatal("the held call ran in the reader goroutine and was not taken over")
		}
	}

	deadline := time.Now().Add(2 * time.Second)
	for sc.sched.watching.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the takeover timer is still armed 2s after the last call")
		}
		time.Sleep(time.Millisecond)
	}
}

// onlyConn returns srv's one connection.
func onlyConn(t *testing.T, srv *Server) *serverConn {
	t.Helper()
	return onlyKey(t, &srv.mu, srv.conns, "connections")
}

// TestQuickCallsRunInline sends a burst of calls of a quick method in
// one write: the reader runs them all itself, though frames wait behind
// each, and answers every one.
func TestQuickCallsRunInline(t *testing.T) {
	srv, nc := rawQuickServer(t)
	srv.dispatch.lookup([]byte("Q.Add")).cost.ns.Store(1)
	var burst []byte
	var ids []uint64
	for id := uint64(1); len(ids) < 50; id++ {
		if id%costSampleEvery == 0 {
			continue // a timed call could find Add slow under the race detector
		}
		burst = appendCall(burst, id, "Q.Add", []byte{0x82, 0x02, 0x03})
		ids = append(ids, id)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	for range ids {
		id, body := readReply(t, nc)
		if string(body) != "\x81\x05" { // [5]
			t.Fatalf("reply %d: % x, want 81 05", id, body)
		}
	}
	if n := onlyConn(t, srv).sched.inlineCalls.Load(); n != uint64(len(ids)) {
		t.Fatalf("%d of %d calls ran in the reader goroutine", n, len(ids))
	}
}

// TestQuickCallThatBlocksIsTakenOver sends, in one write, a call of a
// method known to be quick that then blocks, and calls behind it: they
// are answered while it blocks, once a new goroutine takes the reading
// over.
func TestQuickCallThatBlocksIsTakenOver(t *testing.T) {
	srv, nc := rawQuickServer(t)
	q := srv.dispatch.lookup([]byte("Q.Hold")).rcvr.Interface().(*quick)
	srv.dispatch.lookup([]byte("Q.Hold")).cost.ns.Store(1)
	burst := appendCall(nil, 1, "Q.Hold", []byte{0x80})
	burst = appendCall(burst, 2, "Q.Add", []byte{0x82, 0x02, 0x03})
	burst = appendCall(burst, 3, "Q.Add", []byte{0x82, 0x04, 0x05})
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	<-q.started
	for range 2 {
		if id, _ := readReply(t, nc); id == 1 {
			t.Fatal("the held call was answered before it was released")
		}
	}
	if onlyConn(t, srv).sched.readerState.Load()/readerTakeover == 0 {
		t.Fatal("the calls behind the held one were answered without a takeover")
	}
	q.release <- struct{}{}
	if id, _ := readReply(t, nc); id != 1 {
		t.Fatalf("reply %d, want 1", id)
	}
}

// rawQuickServer serves a quick service and returns a connection to it
// that has done the handshake, for frames written by hand.
func rawQuickServer(t *testing.T) (*Server, net.Conn) {
	t.Helper()
	srv, addr := serveService(t, "Q", &quick{started: make(chan struct{}), release: make(chan struct{})})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte("SRPC\x01\x00\x04cbor")); err != nil {
		t.Fatal(err)
	}
	welcome := make([]byte, 11)
	if _, err := io.ReadFull(nc, welcome); err != nil || welcome[5] != 0 {
		t.Fatalf("welcome %q, %v", welcome, err)
	}
	return srv, nc
}

// appendCall appends a call frame with CBOR-encoded args.
func appendCall(b []byte, id uint64, name string, args []byte) []byte {
	body, flags := wire.AppendCallPrefix(nil, name, 0, nil)
	body = append(body, args...)
	b = wire.AppendHeader(b, wire.Header{Size: uint32(len(body)), Kind: wire.KindCall, Flags: flags, ID: id})
	return append(b, body...)
}

// readReply reads a reply frame that is not an error and returns its id
// and body.
func readReply(t *testing.T, nc net.Conn) (uint64, []byte) {
	t.Helper()
	var hdr [wire.HeaderSize]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatal(err)
	}
	h, err := wire.ParseHeader(hdr[:], 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, h.Size)
	if _, err := io.ReadFull(nc, body); err != nil {
		t.Fatal(err)
	}
	if h.Kind != wire.KindReply || h.Flags != 0 {
		t.Fatalf("frame %d: kind %d, flags %d: %q", h.ID, h.Kind, h.Flags, body)
	}
	return h.ID, body
}

package frameio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func frame(id uint64, body string) []byte {
	f := wire.AppendHeader(nil, wire.Header{Size: uint32(len(body)), Kind: wire.KindReply, ID: id})
	return append(f, body...)
}

// gatedConn counts writes; the first one waits for the gate to open.
type gatedConn struct {
	net.Conn
	gate   chan struct{}
	mu     sync.Mutex
	writes int
}

func (c *gatedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	first := c.writes == 1
	c.mu.Unlock()
	if first {
		<-c.gate
	}
	return c.Conn.Write(b)
}

func TestWriterCoalescesAndReaderReads(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	cc := &gatedConn{Conn: a, gate: make(chan struct{})}
	w := NewWriter(cc, time.Second, 1<<20, 0, nil)
	// The first frame is written inline and holds the connection; the 99
	// that arrive meanwhile are queued and leave in one write.
	inline := make(chan error, 1)
	go func() { inline <- w.WriteSolo(context.Background(), frame(0, "hello")) }()
	for {
		cc.mu.Lock()
		started := cc.writes == 1
		cc.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 100; i++ {
		if err := w.Write(context.Background(), frame(uint64(i), "hello")); err != nil {
			t.Fatal(err)
		}
	}
	close(cc.gate)
	r := NewReader(b, nil, 1024)
	for i := range 100 {
		h, body, err := r.Next()
		if err != nil || h.ID != uint64(i) || string(body) != "hello" {
			t.Fatalf("frame %d: %+v %q %v", i, h, body, err)
		}
	}
	if err := <-inline; err != nil {
		t.Fatal(err)
	}
	w.CloseAfterFlush()
	<-w.Done()
	a.Close()
	if cc.writes != 2 {
		t.Errorf("1 inline and 99 queued frames took %d writes, want 2", cc.writes)
	}
	if err := w.Write(context.Background(), frame(1, "x")); err == nil {
		t.Error("Write after close succeeded")
	}
}

func TestReaderRefusesOversizedFrames(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(frame(1, string(make([]byte, 2000))))
	r := NewReader(&buf, nil, 1000)
	if _, _, err := r.Next(); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
	buf.Reset()
	buf.Write(frame(1, "abc")[:wire.HeaderSize+1])
	r = NewReader(&buf, nil, 1000)
	if _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated frame: %v", err)
	}
}

func TestWriterBackpressureAndTimeout(t *testing.T) {
	a, b := net.Pipe() // nobody reads b: writes block
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, 50*time.Millisecond, 100, 0, nil)
	big := frame(1, string(make([]byte, 200)))
	// Writes go inline or queue until the queue is over its mark; then they
	// wait, and give up when the stuck write times out and stops the writer.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		if err := w.Write(ctx, big); err != nil {
			break
		}
	}
	select {
	case <-w.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("a write to a stuck peer did not time out")
	}
	var ne net.Error
	if err := w.Err(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("writer stopped with %v, want a timeout", err)
	}
}

func TestWriterBacklogLimit(t *testing.T) {
	a, b := net.Pipe() // nobody reads b
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, 5*time.Second, 0, 1000, nil)
	big := frame(1, string(make([]byte, 300)))
	// The first frame is written inline and blocks; the next ones queue
	// until the queue would pass its limit, which stops the writer.
	go w.WriteSolo(context.Background(), big) //nolint:errcheck // fails when the writer stops
	time.Sleep(10 * time.Millisecond)
	var err error
	for range 10 {
		if err = w.Write(context.Background(), big); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrBacklog) {
		t.Fatalf("writes past the backlog limit: %v", err)
	}
	a.Close() // unblocks the inline write
	<-w.Done()
}

func TestWriterLoopEndsWhenIdle(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, time.Second, 0, 0, nil)
	go io.Copy(io.Discard, b) //nolint:errcheck // ends when the pipe closes
	for i := range 50 {
		if err := w.Write(context.Background(), frame(uint64(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	for {
		w.mu.Lock()
		idle := !w.looping && !w.busy && len(w.buf) == 0
		w.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the send loop did not end once the queue was empty")
		}
		time.Sleep(time.Millisecond)
	}
	w.Close()
	<-w.Done()
}

package frameio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
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
	w := NewWriter(cc, time.Second, 1<<20, nil)
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
	w := NewWriter(a, 50*time.Millisecond, 100, nil)
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

func TestWriterWaitBelow(t *testing.T) {
	a, b := net.Pipe() // b is read only when the test says so
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, 5*time.Second, 0, nil)
	big := frame(1, string(make([]byte, 300)))
	if err := w.WaitBelow(context.Background(), 1000); err != nil {
		t.Fatalf("empty writer: %v", err)
	}
	// The first frame is written inline and blocks; the next ones queue.
	go w.WriteSolo(context.Background(), big) //nolint:errcheck // ends when the pipe is read
	time.Sleep(10 * time.Millisecond)
	for range 4 {
		if err := w.Write(context.Background(), big); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.WaitBelow(ctx, 1000); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queue over the mark: WaitBelow returned %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- w.WaitBelow(context.Background(), 1000) }()
	go io.Copy(io.Discard, b) //nolint:errcheck // ends when the pipe closes
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WaitBelow did not return once the queue drained")
	}
	w.Close()
	if err := w.WaitBelow(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("stopped writer: WaitBelow returned %v", err)
	}
	<-w.Done()
}

// TestWriterQueueSpansChunks queues frames larger than a chunk, and many
// small ones, behind a blocked write, and checks they arrive whole and in
// order.
func TestWriterQueueSpansChunks(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, 5*time.Second, 0, nil)
	var want bytes.Buffer
	for i := range 40 {
		size := []int{3, chunkSize - 20, chunkSize + 5, 150000, 0}[i%5]
		body := bytes.Repeat([]byte{byte(i)}, size)
		f := frame(uint64(i), string(body))
		want.Write(f)
		if err := w.Write(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("frames queued across chunks arrived changed")
	}
	w.CloseAfterFlush()
	<-w.Done()
}

func TestWriterLoopEndsWhenIdle(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	defer a.Close()
	w := NewWriter(a, time.Second, 0, nil)
	go io.Copy(io.Discard, b) //nolint:errcheck // ends when the pipe closes
	for i := range 50 {
		if err := w.Write(context.Background(), frame(uint64(i), "x")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Second)
	for {
		w.mu.Lock()
		idle := !w.looping && !w.busy && w.q.n == 0 && len(w.q.chunks) == 0
		w.mu.Unlock()
		if idle {
			break // and holding no chunk
		}
		if time.Now().After(deadline) {
			t.Fatal("the send loop did not end once the queue was empty")
		}
		time.Sleep(time.Millisecond)
	}
	w.Close()
	<-w.Done()
}

// TestWriterAccountsHeldBytes checks that a writer's shared counter
// follows the frames it holds — queued, or being written to a peer that
// does not read — and returns to zero when they are written or dropped.
func TestWriterAccountsHeldBytes(t *testing.T) {
	a, b := net.Pipe() // b is read only when the test says so
	defer a.Close()
	defer b.Close()
	var shared atomic.Int64
	w := NewWriter(a, 0, 0, nil)
	w.Account(&shared)
	frame := make([]byte, 1000)
	for range 5 {
		if err := w.Write(context.Background(), frame); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Held(); got != 5000 {
		t.Fatalf("held %d bytes after 5 frames of 1000 unwritten, want 5000", got)
	}
	if got := shared.Load(); got != 5000 {
		t.Fatalf("shared counter %d, want 5000", got)
	}
	// Let the peer read a part: the bytes written leave the count.
	go func() { _, _ = io.ReadFull(b, make([]byte, 5000)) }()
	deadline := time.Now().Add(5 * time.Second)
	for w.Held() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if w.Held() != 0 || shared.Load() != 0 {
		t.Fatalf("after the peer read everything: held %d, shared %d, want 0", w.Held(), shared.Load())
	}
	// Frames dropped by Close leave it too.
	for range 3 {
		_ = w.Write(context.Background(), frame)
	}
	w.Close()
	a.Close() // ends the write under way
	<-w.Done()
	if shared.Load() != 0 {
		t.Fatalf("after Close: shared %d, want 0", shared.Load())
	}
}

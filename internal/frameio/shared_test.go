package frameio

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Frames handed over with WriteSeqShared, mixed with copied ones of every
// size around a chunk, arrive whole and in order; the large ones are
// queued as they are, and the queue gives none of them to the chunk pool
// or appends to them.
func TestWriterSharedFrames(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	cc := &gatedConn{Conn: a, gate: make(chan struct{})}
	w := NewWriter(cc, 5*time.Second, 0, nil)
	// An inline write holds the connection, so that the rest is queued.
	inline := make(chan error, 1)
	first := frame(0, "first")
	go func() { _, err := w.WriteSeq(context.Background(), first, true); inline <- err }()
	for {
		cc.mu.Lock()
		started := cc.writes == 1
		cc.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	want := bytes.NewBuffer(bytes.Clone(first))
	var shared [][]byte
	for i := 1; i < 30; i++ {
		size := []int{3, chunkSize - 12, chunkSize - 11, chunkSize + 1, 3 * chunkSize, 200000}[i%6]
		f := frame(uint64(i), string(bytes.Repeat([]byte{byte(i)}, size)))
		want.Write(f)
		if i%2 == 0 {
			if _, err := w.WriteSeqShared(context.Background(), f, false); err != nil {
				t.Fatal(err)
			}
			if len(f) > chunkSize {
				shared = append(shared, f)
			}
			continue
		}
		if _, err := w.WriteSeq(context.Background(), f, false); err != nil {
			t.Fatal(err)
		}
	}
	var held bool
	w.mu.Lock()
	for _, c := range w.q.chunks {
		for _, f := range shared {
			held = held || sameArray(*c, f)
		}
	}
	w.mu.Unlock()
	if !held {
		t.Error("no large shared frame was queued by reference")
	}
	close(cc.gate)
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the frames arrived changed")
	}
	if err := <-inline; err != nil {
		t.Fatal(err)
	}
	w.CloseAfterFlush()
	<-w.Done()
	a.Close()
	// Chunks from the pool after the queue was written out are never a
	// shared frame.
	for range 64 {
		c := chunkPool.Get().(*[]byte)
		for _, f := range shared {
			if sameArray(*c, f) {
				t.Fatal("a shared frame went to the chunk pool")
			}
		}
		if cap(*c) != chunkSize {
			t.Fatalf("a pooled chunk of capacity %d", cap(*c))
		}
	}
}

// sameArray reports whether a and b start at the same array element.
func sameArray(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

package frameio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// holdConn starts an inline write on w through cc that holds the
// connection until cc's gate opens, so that later frames are queued.
func holdConn(t *testing.T, w *Writer, cc *gatedConn, first []byte) chan error {
	t.Helper()
	inline := make(chan error, 1)
	go func() { _, err := w.WriteSeq(context.Background(), first, true); inline <- err }()
	for {
		cc.mu.Lock()
		started := cc.writes == 1
		cc.mu.Unlock()
		if started {
			return inline
		}
		time.Sleep(time.Millisecond)
	}
}

// A frame written with WriteSeqOwned is let go exactly once, and only
// once the Writer no longer holds it: written inline, queued and written,
// copied (small), refused by a closed Writer, or dropped when it stops.
func TestWriterOwnedFramesLetGoOnce(t *testing.T) {
	big := func(id uint64) []byte { return frame(id, string(bytes.Repeat([]byte{byte(id)}, 3*chunkSize))) }

	t.Run("inline", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		defer a.Close()
		w := NewWriter(a, 5*time.Second, 0, nil)
		defer w.Close()
		f := big(1)
		var n atomic.Int32
		errc := make(chan error, 1)
		go func() {
			_, err := w.WriteSeqOwned(context.Background(), f, true, func() { n.Add(1) })
			errc <- err
		}()
		got := make([]byte, len(f))
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f) || n.Load() != 1 {
			t.Fatalf("inline: frame intact %v, let go %d times", bytes.Equal(got, f), n.Load())
		}
	})

	t.Run("queued", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		cc := &gatedConn{Conn: a, gate: make(chan struct{})}
		w := NewWriter(cc, 5*time.Second, 0, nil)
		first := frame(0, "first")
		inline := holdConn(t, w, cc, first)
		large, small := big(1), frame(2, "small")
		var nLarge, nSmall atomic.Int32
		if _, err := w.WriteSeqOwned(context.Background(), large, false, func() { nLarge.Add(1) }); err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteSeqOwned(context.Background(), small, false, func() { nSmall.Add(1) }); err != nil {
			t.Fatal(err)
		}
		// The large frame waits in the queue as it is: not let go yet; the
		// small one was copied, and was.
		if nLarge.Load() != 0 || nSmall.Load() != 1 {
			t.Fatalf("while queued: large let go %d times, small %d", nLarge.Load(), nSmall.Load())
		}
		close(cc.gate)
		want := append(append(bytes.Clone(first), large...), small...)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatal(err)
		}
		if err := <-inline; err != nil {
			t.Fatal(err)
		}
		w.CloseAfterFlush()
		<-w.Done()
		a.Close()
		if !bytes.Equal(got, want) || nLarge.Load() != 1 || nSmall.Load() != 1 {
			t.Fatalf("written: frames intact %v, large let go %d times, small %d", bytes.Equal(got, want), nLarge.Load(), nSmall.Load())
		}
	})

	t.Run("dropped", func(t *testing.T) {
		a, b := net.Pipe()
		cc := &gatedConn{Conn: a, gate: make(chan struct{})}
		w := NewWriter(cc, 5*time.Second, 0, nil)
		inline := holdConn(t, w, cc, frame(0, "first"))
		var n atomic.Int32
		if _, err := w.WriteSeqOwned(context.Background(), big(1), false, func() { n.Add(1) }); err != nil {
			t.Fatal(err)
		}
		w.Close() // drops the queue
		if n.Load() != 1 {
			t.Fatalf("dropped: let go %d times", n.Load())
		}
		b.Close()
		close(cc.gate)
		<-inline
		<-w.Done()
		a.Close()
		if n.Load() != 1 {
			t.Fatalf("after the writer stopped: let go %d times", n.Load())
		}
	})

	t.Run("refused", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		defer a.Close()
		w := NewWriter(a, 5*time.Second, 0, nil)
		w.Close()
		var n atomic.Int32
		if _, err := w.WriteSeqOwned(context.Background(), big(1), true, func() { n.Add(1) }); !errors.Is(err, ErrClosed) {
			t.Fatalf("a closed writer took a frame: %v", err)
		}
		if n.Load() != 1 {
			t.Fatalf("refused: let go %d times", n.Load())
		}
	})

	t.Run("compressed", func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		cc := &gatedConn{Conn: a, gate: make(chan struct{})}
		w := NewWriter(cc, 5*time.Second, 0, nil)
		w.Compress(1024)
		inline := holdConn(t, w, cc, frame(0, "first"))
		var n atomic.Int32
		if _, err := w.WriteSeqOwned(context.Background(), big(1), false, func() { n.Add(1) }); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 1 {
			t.Fatalf("compressed into a copy: let go %d times", n.Load())
		}
		w.Close()
		b.Close()
		close(cc.gate)
		<-inline
		<-w.Done()
		a.Close()
	})
}

package frameio

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// batchSource is a Source that frames are appended to.
type batchSource struct {
	mu     sync.Mutex
	frames []byte
	takes  int
}

func (s *batchSource) add(f []byte) {
	s.mu.Lock()
	s.frames = append(s.frames, f...)
	s.mu.Unlock()
}

func (s *batchSource) TakeFrames(_ *Writer, push func([]byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.takes++
	if len(s.frames) > 0 {
		push(s.frames)
		s.frames = nil
	}
}

// TestWriterTakesScheduledSources checks that the frames a source holds
// when it is scheduled leave after the frames queued before, in order;
// that frames added while it waits to be taken leave with them; and that
// a source scheduled on a stopped writer is not taken.
func TestWriterTakesScheduledSources(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	cc := &gatedConn{Conn: a, gate: make(chan struct{})}
	w := NewWriter(cc, time.Second, 0, nil)
	// The first frame holds the connection while the rest is lined up.
	if err := w.Write(context.Background(), frame(1, "first")); err != nil {
		t.Fatal(err)
	}
	for {
		cc.mu.Lock()
		started := cc.writes == 1
		cc.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	src := &batchSource{}
	src.add(frame(3, "from the source"))
	if err := w.Write(context.Background(), frame(2, "queued")); err != nil {
		t.Fatal(err)
	}
	w.Schedule(src)
	src.add(frame(4, "added while scheduled"))
	close(cc.gate)
	fr := NewReader(b, nil, 1<<20)
	for want := uint64(1); want <= 4; want++ {
		h, _, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.ID != want || h.Kind != wire.KindReply {
			t.Fatalf("frame %d has id %d", want, h.ID)
		}
	}
	w.Close()
	<-w.Done()
	src.add(frame(5, "after the end"))
	w.Schedule(src)
	src.mu.Lock()
	takes := src.takes
	src.mu.Unlock()
	if takes != 1 {
		t.Fatalf("the source was taken %d times, want 1", takes)
	}
}

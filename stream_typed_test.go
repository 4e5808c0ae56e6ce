package simplerpc_test

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"testing"
)

// Keeper keeps every chunk it receives until its stream ends.
type Keeper struct{}

// Join returns the chunks it received, joined, once all have arrived.
func (Keeper) Join(in iter.Seq[[]byte]) []byte {
	var kept [][]byte
	for c := range in {
		kept = append(kept, c)
	}
	return bytes.Join(kept, nil)
}

// TestStreamKeptByteItems checks that the []byte items a method receives
// are its own: kept until the stream ends, none of them changes as later
// ones arrive — small ones and chunks.
func TestStreamKeptByteItems(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Keeper", Keeper{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	for _, size := range []int{3, 40 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s, err := c.OpenStream(context.Background(), "Keeper.Join")
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			chunk := make([]byte, size)
			for i := range 50 {
				for j := range chunk {
					chunk[j] = byte(i + j)
				}
				want = append(want, chunk...)
				if err := s.Send(chunk); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			if err := s.Finish(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the method's kept chunks changed: %d bytes joined, %d sent", len(got), len(want))
			}
		})
	}
}

// TestStreamRecvReusesSlice checks that chunks received into one slice
// land in its capacity once it is large enough, each whole.
func TestStreamRecvReusesSlice(t *testing.T) {
	_, _, c, _ := startFeed(t)
	s, err := c.OpenStream(context.Background(), "Feed.Chunks", 5, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := make([]byte, 0, 1000)
	first := &b[:1][0]
	for i := range 5 {
		if err := s.Recv(&b); err != nil {
			t.Fatal(err)
		}
		if len(b) != 1000 || &b[0] != first || !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 1000)) {
			t.Fatalf("chunk %d: %d bytes, in the slice's array %v", i, len(b), len(b) > 0 && &b[0] == first)
		}
	}
}

// TestStreamRecvLargeChunksWhole checks that chunks larger than the frame
// reader's buffer, which the client queues without a copy and whose
// buffers the reader reads later chunks into once they are taken, arrive
// whole and in order, and that the slices Recv filled stay as they were
// while later chunks arrive.
func TestStreamRecvLargeChunksWhole(t *testing.T) {
	_, _, c, _ := startFeed(t)
	const n, size = 40, 40 << 10
	s, err := c.OpenStream(context.Background(), "Feed.Chunks", n, size)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got [][]byte
	for i := range n {
		var b []byte
		if err := s.Recv(&b); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		got = append(got, b)
	}
	for i, b := range got {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("chunk %d: %d bytes, not %d bytes of %d", i, len(b), size, byte(i))
		}
	}
}

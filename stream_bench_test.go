package simplerpc_test

import (
	"context"
	"iter"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// BenchmarkStreamItems measures a server stream of small items (an int
// each) ranged over by name: one op is one item.
func BenchmarkStreamItems(b *testing.B) {
	c := dialB(b, startServerWithB(b, "Feed", &Feed{stopped: make(chan error, 1)}))
	b.ReportAllocs()
	n := 0
	for _, err := range simplerpc.Stream[int](context.Background(), c, "Feed.Count", b.N) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("%d items, want %d", n, b.N)
	}
}

// BenchmarkStreamDownload measures a server stream of 64 KiB chunks,
// each received into one slice: one op is one chunk.
func BenchmarkStreamDownload(b *testing.B) {
	c := dialB(b, startServerWithB(b, "Chunker", Chunker{make([]byte, 64<<10)}))
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	s, err := c.OpenStream(context.Background(), "Chunker.Chunks", b.N)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var chunk []byte
	for range b.N {
		if err := s.Recv(&chunk); err != nil || len(chunk) != 64<<10 {
			b.Fatalf("chunk of %d bytes: %v", len(chunk), err)
		}
	}
}

// Chunker streams one chunk over and over.
type Chunker struct{ chunk []byte }

// Chunks yields the chunk n times.
func (c Chunker) Chunks(n int) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for range n {
			if !yield(c.chunk) {
				return
			}
		}
	}
}

// BenchmarkStreamUpload measures a client stream of 64 KiB chunks: one op
// is one chunk.
func BenchmarkStreamUpload(b *testing.B) {
	benchUpload(b, "Feed", &Feed{stopped: make(chan error, 1)})
}

// BenchmarkStreamUploadBorrowed is BenchmarkStreamUpload into a method
// that borrows its items (simplerpc.BorrowedBytes).
func BenchmarkStreamUploadBorrowed(b *testing.B) { benchUpload(b, "Lender", Lender{}) }

// benchUpload streams 64 KiB chunks, one an op, to the Upload method of
// obj registered as name.
func benchUpload(b *testing.B, name string, obj any) {
	c := dialB(b, startServerWithB(b, name, obj))
	chunk := make([]byte, 64<<10)
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	s, err := c.OpenStream(context.Background(), name+".Upload", "bench")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Send(chunk); err != nil {
			b.Fatal(err)
		}
	}
	var msg string
	var total int64
	if err := s.Finish(&msg, &total); err != nil {
		b.Fatal(err)
	}
}

// Echo sends back every item it receives.
type Echo struct{}

// Ping yields each item of in as it arrives.
func (Echo) Ping(in iter.Seq2[int64, error]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for v, err := range in {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// BenchmarkStreamPingPong measures a bidi stream's round trip: one op
// sends an int64 and receives it back. BenchmarkCall/cbor is the unary
// call to hold it against.
func BenchmarkStreamPingPong(b *testing.B) {
	c := dialB(b, startServerWithB(b, "Echo", Echo{}))
	s, err := c.OpenStream(context.Background(), "Echo.Ping")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		if err := s.Send(i); err != nil {
			b.Fatal(err)
		}
		var v int64
		if err := s.Recv(&v); err != nil || v != i {
			b.Fatalf("item %d came back as %d: %v", i, v, err)
		}
		i++
	}
}

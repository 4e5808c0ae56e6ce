package simplerpc_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"net"

	"github.com/simplerpc/simplerpc"
)

// Hasher hashes the chunks it receives, reading each once.
type Hasher struct{}

// Sum receives chunks it only borrows: each is valid until the next.
func (Hasher) Sum(chunks iter.Seq2[simplerpc.BorrowedBytes, error]) ([]byte, error) {
	h := sha256.New()
	for b, err := range chunks {
		if err != nil {
			return nil, err
		}
		h.Write(b) // done with b before the loop asks for the next one
	}
	return h.Sum(nil), nil
}

// A method that only reads each chunk it receives borrows them; the
// client sends plain []byte.
func ExampleBorrowedBytes() {
	srv := simplerpc.NewServer()
	if err := srv.Register("Hasher", Hasher{}); err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Shutdown(context.Background())
	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	var hasher struct {
		Sum func(ctx context.Context, chunks iter.Seq2[[]byte, error]) ([]byte, error)
	}
	if err := c.Bind("Hasher", &hasher); err != nil {
		panic(err)
	}
	chunks := func(yield func([]byte, error) bool) {
		for i := range 8 {
			chunk := make([]byte, 64<<10)
			chunk[0] = byte(i)
			if !yield(chunk, nil) {
				return
			}
		}
	}
	sum, err := hasher.Sum(context.Background(), chunks)
	if err != nil {
		panic(err)
	}
	want := sha256.New()
	for b := range chunks {
		want.Write(b)
	}
	fmt.Println(string(sum) == string(want.Sum(nil)))
	// Output: true
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Streams is the streaming service registered with simplerpc beside
// Bench.
type Streams struct{}

// Count streams the int64s 0, 1, … n-1.
func (Streams) Count(_ context.Context, n int64) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for i := range n {
			if !yield(i, nil) {
				return
			}
		}
	}
}

// Chunks streams the 64 KiB chunk n times.
func (Streams) Chunks(_ context.Context, n int64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for range n {
			if !yield(chunk, nil) {
				return
			}
		}
	}
}

// Sink receives chunks, each a slice of its own, and returns how many
// bytes they held.
func (Streams) Sink(_ context.Context, in iter.Seq2[[]byte, error]) (int64, error) {
	return chunkBytes(in)
}

// Lend is Sink receiving borrowed chunks, each valid until the next,
// which the server reads into recycled buffers — as the floor's server
// reads every frame into one buffer.
func (Streams) Lend(_ context.Context, in iter.Seq2[simplerpc.BorrowedBytes, error]) (int64, error) {
	return chunkBytes(in)
}

// chunkBytes returns how many bytes the chunks of in held.
func chunkBytes[B ~[]byte](in iter.Seq2[B, error]) (int64, error) {
	var total int64
	for b, err := range in {
		if err != nil {
			return 0, err
		}
		total += int64(len(b))
	}
	return total, nil
}

// Ping sends back every item it receives.
func (Streams) Ping(_ context.Context, in iter.Seq2[int64, error]) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		for v, err := range in {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// Hold sends 0, then waits until the stream's context ends.
func (Streams) Hold(ctx context.Context) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		if yield(0, nil) {
			<-ctx.Done()
		}
	}
}

func (s simplerpcSystem) streams() bool { return s.codec == "cbor" }

func (simplerpcSystem) serveStreams(ln net.Listener) (func() error, error) {
	srv := simplerpc.NewServer(simplerpc.WithLogger(quiet))
	if err := srv.Register("Bench", Bench{}); err != nil {
		return nil, fmt.Errorf("simplerpc register: %w", err)
	}
	if err := srv.Register("Streams", Streams{}); err != nil {
		return nil, fmt.Errorf("simplerpc register: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		err := srv.Close()
		if serr := <-done; !errors.Is(serr, simplerpc.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			return fmt.Errorf("simplerpc close: %w", err)
		}
		return nil
	}, nil
}

func (s simplerpcSystem) dialStreams(ctx context.Context, addr string) (streamClient, error) {
	c, err := s.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return simplerpcStreams{c.(simplerpcClient)}, nil
}

// simplerpcStreams runs the stream shapes with OpenStream, Send and Recv.
type simplerpcStreams struct{ simplerpcClient }

// endless is the item count asked of a server stream that the client
// ends by closing it.
const endless = int64(1) << 62

func (c simplerpcStreams) count(ctx context.Context, d time.Duration) (int64, error) {
	s, err := c.c.OpenStream(ctx, "Streams.Count", endless)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); n++ {
		var v int64
		if err := s.Recv(&v); err != nil {
			return n, fmt.Errorf("item %d: %w", n, err)
		}
		if v != n {
			return n, fmt.Errorf("item %d is %d", n, v)
		}
	}
	return n, nil
}

func (c simplerpcStreams) download(ctx context.Context, d time.Duration) (int64, error) {
	s, err := c.c.OpenStream(ctx, "Streams.Chunks", endless)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var n int64
	var b []byte // received into again and again: Recv reuses its capacity, as the floor reuses its buffer
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		if err := s.Recv(&b); err != nil {
			return n, err
		}
		if err := checkChunk(b); err != nil {
			return n, err
		}
		n += int64(len(b))
	}
	return n, nil
}

// upload sends into Streams.Lend, which borrows the chunks.
func (c simplerpcStreams) upload(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	return c.uploadTo(ctx, "Streams.Lend", d)
}

// uploadOwned sends into Streams.Sink, which receives each chunk in a
// slice of its own.
func (c simplerpcStreams) uploadOwned(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	return c.uploadTo(ctx, "Streams.Sink", d)
}

func (c simplerpcStreams) uploadTo(ctx context.Context, method string, d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	s, err := c.c.OpenStream(ctx, method)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	var sent int64
	for deadline := start.Add(d); time.Now().Before(deadline); sent += int64(len(chunk)) {
		if err := s.Send(chunk); err != nil {
			return 0, 0, err
		}
	}
	var total int64
	if err := s.Finish(&total); err != nil {
		return 0, 0, err
	}
	if total != sent {
		return 0, 0, fmt.Errorf("server counted %d bytes of %d", total, sent)
	}
	return total, time.Since(start), nil
}

func (c simplerpcStreams) pingPong(ctx context.Context, d time.Duration) ([]time.Duration, error) {
	s, err := c.c.OpenStream(ctx, "Streams.Ping")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var samples []time.Duration
	for i, deadline := int64(0), time.Now().Add(d); ; i++ {
		t0 := time.Now()
		if t0.After(deadline) {
			break
		}
		if err := s.Send(i); err != nil {
			return nil, err
		}
		var v int64
		if err := s.Recv(&v); err != nil {
			return nil, err
		}
		if v != i {
			return nil, fmt.Errorf("sent %d, received %d", i, v)
		}
		samples = append(samples, time.Since(t0))
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var v int64
	if err := s.Recv(&v); err != io.EOF {
		return nil, fmt.Errorf("after the last item: %v, %w", v, err)
	}
	return samples, s.Finish()
}

func (c simplerpcStreams) hold(ctx context.Context) (func(), error) {
	s, err := c.c.OpenStream(ctx, "Streams.Hold")
	if err != nil {
		return nil, err
	}
	var v int64
	if err := s.Recv(&v); err != nil {
		s.Close()
		return nil, err
	}
	return s.Close, nil
}

// checkChunk checks a received chunk's length and its ends.
func checkChunk(b []byte) error {
	if len(b) != len(chunk) || b[0] != chunk[0] || b[len(b)-1] != chunk[len(chunk)-1] {
		return fmt.Errorf("received a %d-byte chunk", len(b))
	}
	return nil
}

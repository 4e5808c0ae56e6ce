package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"
)

// grpcStreamDescs are the stream methods of the bench service, with the
// same shapes as Streams: Count, Chunks and Hold take an AddArgs (A is
// the count) and stream AddReply or Blob messages; Sink takes Blobs and
// answers an AddReply; Ping sends back every AddReply it receives.
var grpcStreamDescs = []grpc.StreamDesc{
	{StreamName: "Count", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		var in AddArgs
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		for i := range in.A {
			if err := st.SendMsg(&AddReply{Sum: i}); err != nil {
				return err
			}
		}
		return nil
	}},
	{StreamName: "Chunks", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		var in AddArgs
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		for range in.A {
			if err := st.SendMsg(&Blob{Data: chunk}); err != nil {
				return err
			}
		}
		return nil
	}},
	{StreamName: "Sink", ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		var total int64
		for {
			var b Blob
			err := st.RecvMsg(&b)
			if err == io.EOF {
				return st.SendMsg(&AddReply{Sum: total})
			}
			if err != nil {
				return err
			}
			total += int64(len(b.Data))
		}
	}},
	{StreamName: "Ping", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		for {
			var v AddReply
			err := st.RecvMsg(&v)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := st.SendMsg(&v); err != nil {
				return err
			}
		}
	}},
	{StreamName: "Hold", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
		var in AddArgs
		if err := st.RecvMsg(&in); err != nil {
			return err
		}
		if err := st.SendMsg(&AddReply{}); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	}},
}

// grpcStreamServiceDesc is the bench service with its stream methods.
var grpcStreamServiceDesc = func() grpc.ServiceDesc {
	d := grpcServiceDesc
	d.Streams = grpcStreamDescs
	return d
}()

func (s grpcSystem) streams() bool { return !s.gzip }

func (grpcSystem) serveStreams(ln net.Listener) (func() error, error) {
	srv := grpc.NewServer()
	srv.RegisterService(&grpcStreamServiceDesc, struct{}{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		srv.Stop()
		if err := <-done; err != nil {
			return fmt.Errorf("grpc serve: %w", err)
		}
		return nil
	}, nil
}

func (s grpcSystem) dialStreams(ctx context.Context, addr string) (streamClient, error) {
	c, err := s.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return grpcStreams{c.(grpcClient)}, nil
}

// grpcStreams runs the stream shapes with ClientConn.NewStream.
type grpcStreams struct{ grpcClient }

// open opens a stream of the named method; cancel ends it.
func (c grpcStreams) open(ctx context.Context, i int) (grpc.ClientStream, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(ctx)
	desc := &grpcStreamDescs[i]
	st, err := c.cc.NewStream(ctx, desc, "/bench.Bench/"+desc.StreamName)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("grpc %s: %w", desc.StreamName, err)
	}
	return st, cancel, nil
}

// Indexes of grpcStreamDescs.
const (
	grpcCount = iota
	grpcChunks
	grpcSink
	grpcPing
	grpcHold
)

// openServer opens a server stream of method i with the count n.
func (c grpcStreams) openServer(ctx context.Context, i int, n int64) (grpc.ClientStream, context.CancelFunc, error) {
	st, cancel, err := c.open(ctx, i)
	if err != nil {
		return nil, nil, err
	}
	if err := st.SendMsg(&AddArgs{A: n}); err != nil {
		cancel()
		return nil, nil, err
	}
	if err := st.CloseSend(); err != nil {
		cancel()
		return nil, nil, err
	}
	return st, cancel, nil
}

func (c grpcStreams) count(ctx context.Context, d time.Duration) (int64, error) {
	st, cancel, err := c.openServer(ctx, grpcCount, endless)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); n++ {
		var v AddReply
		if err := st.RecvMsg(&v); err != nil {
			return n, fmt.Errorf("item %d: %w", n, err)
		}
		if v.Sum != n {
			return n, fmt.Errorf("item %d is %d", n, v.Sum)
		}
	}
	return n, nil
}

func (c grpcStreams) download(ctx context.Context, d time.Duration) (int64, error) {
	st, cancel, err := c.openServer(ctx, grpcChunks, endless)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		var b Blob
		if err := st.RecvMsg(&b); err != nil {
			return n, err
		}
		if err := checkChunk(b.Data); err != nil {
			return n, err
		}
		n += int64(len(b.Data))
	}
	return n, nil
}

func (c grpcStreams) upload(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	st, cancel, err := c.open(ctx, grpcSink)
	if err != nil {
		return 0, 0, err
	}
	defer cancel()
	var sent int64
	for deadline := start.Add(d); time.Now().Before(deadline); sent += int64(len(chunk)) {
		if err := st.SendMsg(&Blob{Data: chunk}); err != nil {
			return 0, 0, err
		}
	}
	if err := st.CloseSend(); err != nil {
		return 0, 0, err
	}
	var r AddReply
	if err := st.RecvMsg(&r); err != nil {
		return 0, 0, err
	}
	if r.Sum != sent {
		return 0, 0, fmt.Errorf("server counted %d bytes of %d", r.Sum, sent)
	}
	return r.Sum, time.Since(start), nil
}

func (c grpcStreams) pingPong(ctx context.Context, d time.Duration) ([]time.Duration, error) {
	st, cancel, err := c.open(ctx, grpcPing)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var samples []time.Duration
	for i, deadline := int64(0), time.Now().Add(d); ; i++ {
		t0 := time.Now()
		if t0.After(deadline) {
			break
		}
		if err := st.SendMsg(&AddReply{Sum: i}); err != nil {
			return nil, err
		}
		var v AddReply
		if err := st.RecvMsg(&v); err != nil {
			return nil, err
		}
		if v.Sum != i {
			return nil, fmt.Errorf("sent %d, received %d", i, v.Sum)
		}
		samples = append(samples, time.Since(t0))
	}
	if err := st.CloseSend(); err != nil {
		return nil, err
	}
	var v AddReply
	if err := st.RecvMsg(&v); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("after the last item: %v, %w", v, err)
	}
	return samples, nil
}

func (c grpcStreams) hold(ctx context.Context) (func(), error) {
	st, cancel, err := c.openServer(ctx, grpcHold, 0)
	if err != nil {
		return nil, err
	}
	var v AddReply
	if err := st.RecvMsg(&v); err != nil {
		cancel()
		return nil, err
	}
	return cancel, nil
}

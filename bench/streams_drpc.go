package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"storj.io/drpc"
	"storj.io/drpc/drpcconn"
	"storj.io/drpc/drpcmux"
	"storj.io/drpc/drpcserver"
)

// drpcStreamsSrv implements the stream methods for drpc, with the shapes
// of grpcStreamDescs.
type drpcStreamsSrv struct{}

func (drpcStreamsSrv) count(in *AddArgs, st drpc.Stream) error {
	for i := range in.A {
		if err := st.MsgSend(&AddReply{Sum: i}, drpcEncoding{}); err != nil {
			return err
		}
	}
	return nil
}

func (drpcStreamsSrv) chunks(in *AddArgs, st drpc.Stream) error {
	for range in.A {
		if err := st.MsgSend(&Blob{Data: chunk}, drpcEncoding{}); err != nil {
			return err
		}
	}
	return nil
}

func (drpcStreamsSrv) sink(st drpc.Stream) error {
	var total int64
	for {
		var b Blob
		err := st.MsgRecv(&b, drpcEncoding{})
		if errors.Is(err, io.EOF) {
			return st.MsgSend(&AddReply{Sum: total}, drpcEncoding{})
		}
		if err != nil {
			return err
		}
		total += int64(len(b.Data))
	}
}

func (drpcStreamsSrv) ping(st drpc.Stream) error {
	for {
		var v AddReply
		err := st.MsgRecv(&v, drpcEncoding{})
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.MsgSend(&v, drpcEncoding{}); err != nil {
			return err
		}
	}
}

// drpcStreamsDescription is written by hand in place of
// protoc-gen-go-drpc output. drpcmux tells the shapes apart by the
// signatures of the method values.
type drpcStreamsDescription struct{}

// NumMethods returns the number of stream methods.
func (drpcStreamsDescription) NumMethods() int { return 4 }

// Method describes the nth stream method.
func (drpcStreamsDescription) Method(n int) (string, drpc.Encoding, drpc.Receiver, any, bool) {
	serverStream := func(f func(drpcStreamsSrv, *AddArgs, drpc.Stream) error) drpc.Receiver {
		return func(srv any, _ context.Context, in1, in2 any) (drpc.Message, error) {
			return nil, f(srv.(drpcStreamsSrv), in1.(*AddArgs), in2.(drpc.Stream))
		}
	}
	clientStream := func(f func(drpcStreamsSrv, drpc.Stream) error) drpc.Receiver {
		return func(srv any, _ context.Context, in1, _ any) (drpc.Message, error) {
			return nil, f(srv.(drpcStreamsSrv), in1.(drpc.Stream))
		}
	}
	switch n {
	case 0:
		return "/bench.Bench/Count", drpcEncoding{}, serverStream(drpcStreamsSrv.count), drpcStreamsSrv.count, true
	case 1:
		return "/bench.Bench/Chunks", drpcEncoding{}, serverStream(drpcStreamsSrv.chunks), drpcStreamsSrv.chunks, true
	case 2:
		return "/bench.Bench/Sink", drpcEncoding{}, clientStream(drpcStreamsSrv.sink), drpcStreamsSrv.sink, true
	case 3:
		return "/bench.Bench/Ping", drpcEncoding{}, clientStream(drpcStreamsSrv.ping), drpcStreamsSrv.ping, true
	}
	return "", nil, nil, nil, false
}

func (drpcSystem) streams() bool { return true }

func (drpcSystem) serveStreams(ln net.Listener) (func() error, error) {
	mux := drpcmux.New()
	if err := mux.Register(drpcBench{}, drpcDescription{}); err != nil {
		return nil, fmt.Errorf("drpc register: %w", err)
	}
	if err := mux.Register(drpcStreamsSrv{}, drpcStreamsDescription{}); err != nil {
		return nil, fmt.Errorf("drpc register: %w", err)
	}
	srv := drpcserver.New(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("drpc serve: %w", err)
		}
		return nil
	}, nil
}

// drpcStreams runs each stream shape on a connection of its own: a drpc
// connection carries one stream at a time, and ending a stream early
// (the server streams here) may end its connection. It has no idle
// streams, since a connection cannot hold more than one.
type drpcStreams struct {
	addr string
	uc   *drpcconn.Conn // the unary calls' connection
}

func (drpcSystem) dialStreams(ctx context.Context, addr string) (streamClient, error) {
	uc, err := dialDRPC(ctx, addr)
	if err != nil {
		return nil, err
	}
	return drpcStreams{addr: addr, uc: uc}, nil
}

func dialDRPC(ctx context.Context, addr string) (*drpcconn.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("drpc dial: %w", err)
	}
	return drpcconn.New(raw), nil
}

func (c drpcStreams) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	if err := c.uc.Invoke(ctx, "/bench.Bench/Add", drpcEncoding{}, &AddArgs{A: a, B: b}, &r); err != nil {
		return 0, fmt.Errorf("drpc Add: %w", err)
	}
	return r.Sum, nil
}

// open dials a connection and opens a stream of rpc on it; with in set,
// it sends in and ends the client's half. done ends the stream and
// closes the connection.
func (c drpcStreams) open(ctx context.Context, rpc string, in drpc.Message) (drpc.Stream, func(), error) {
	conn, err := dialDRPC(ctx, c.addr)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := func() {
		cancel()
		conn.Close()
	}
	st, err := conn.NewStream(ctx, rpc, drpcEncoding{})
	if err == nil && in != nil {
		if err = st.MsgSend(in, drpcEncoding{}); err == nil {
			err = st.CloseSend()
		}
	}
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("drpc %s: %w", rpc, err)
	}
	return st, done, nil
}

func (c drpcStreams) count(ctx context.Context, d time.Duration) (int64, error) {
	st, done, err := c.open(ctx, "/bench.Bench/Count", &AddArgs{A: endless})
	if err != nil {
		return 0, err
	}
	defer done()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); n++ {
		var v AddReply
		if err := st.MsgRecv(&v, drpcEncoding{}); err != nil {
			return n, fmt.Errorf("item %d: %w", n, err)
		}
		if v.Sum != n {
			return n, fmt.Errorf("item %d is %d", n, v.Sum)
		}
	}
	return n, nil
}

func (c drpcStreams) download(ctx context.Context, d time.Duration) (int64, error) {
	st, done, err := c.open(ctx, "/bench.Bench/Chunks", &AddArgs{A: endless})
	if err != nil {
		return 0, err
	}
	defer done()
	var n int64
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		var b Blob
		if err := st.MsgRecv(&b, drpcEncoding{}); err != nil {
			return n, err
		}
		if err := checkChunk(b.Data); err != nil {
			return n, err
		}
		n += int64(len(b.Data))
	}
	return n, nil
}

func (c drpcStreams) upload(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	st, done, err := c.open(ctx, "/bench.Bench/Sink", nil)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	var sent int64
	for deadline := start.Add(d); time.Now().Before(deadline); sent += int64(len(chunk)) {
		if err := st.MsgSend(&Blob{Data: chunk}, drpcEncoding{}); err != nil {
			return 0, 0, err
		}
	}
	if err := st.CloseSend(); err != nil {
		return 0, 0, err
	}
	var r AddReply
	if err := st.MsgRecv(&r, drpcEncoding{}); err != nil {
		return 0, 0, err
	}
	if r.Sum != sent {
		return 0, 0, fmt.Errorf("server counted %d bytes of %d", r.Sum, sent)
	}
	return r.Sum, time.Since(start), nil
}

func (c drpcStreams) pingPong(ctx context.Context, d time.Duration) ([]time.Duration, error) {
	st, done, err := c.open(ctx, "/bench.Bench/Ping", nil)
	if err != nil {
		return nil, err
	}
	defer done()
	var samples []time.Duration
	for i, deadline := int64(0), time.Now().Add(d); ; i++ {
		t0 := time.Now()
		if t0.After(deadline) {
			break
		}
		if err := st.MsgSend(&AddReply{Sum: i}, drpcEncoding{}); err != nil {
			return nil, err
		}
		var v AddReply
		if err := st.MsgRecv(&v, drpcEncoding{}); err != nil {
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
	if err := st.MsgRecv(&v, drpcEncoding{}); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("after the last item: %v, %w", v, err)
	}
	return samples, nil
}

func (c drpcStreams) close() error {
	if err := c.uc.Close(); err != nil {
		return fmt.Errorf("drpc close: %w", err)
	}
	return nil
}

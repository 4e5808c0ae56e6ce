package main

import (
	"context"
	"fmt"
	"net"

	"storj.io/drpc"
	"storj.io/drpc/drpcconn"
	"storj.io/drpc/drpcmux"
	"storj.io/drpc/drpcpool"
	"storj.io/drpc/drpcserver"
)

// drpcEncoding adapts wireCodec to drpc.Encoding.
type drpcEncoding struct{}

// Marshal encodes msg with wireCodec.
func (drpcEncoding) Marshal(msg drpc.Message) ([]byte, error) { return wireCodec{}.Marshal(msg) }

// Unmarshal decodes buf into msg with wireCodec.
func (drpcEncoding) Unmarshal(buf []byte, msg drpc.Message) error {
	return wireCodec{}.Unmarshal(buf, msg)
}

// drpcBench implements the bench service for drpc.
type drpcBench struct{}

func (drpcBench) add(_ context.Context, in *AddArgs) (*AddReply, error) {
	return &AddReply{Sum: in.A + in.B}, nil
}

func (drpcBench) echo(_ context.Context, in *Payload) (*Payload, error) { return in, nil }

func (drpcBench) echoBytes(_ context.Context, in *Blob) (*Blob, error) { return in, nil }

// drpcDescription is written by hand in place of protoc-gen-go-drpc output.
type drpcDescription struct{}

// NumMethods returns the number of bench methods.
func (drpcDescription) NumMethods() int { return 3 }

// Method describes the nth bench method.
func (drpcDescription) Method(n int) (string, drpc.Encoding, drpc.Receiver, any, bool) {
	switch n {
	case 0:
		return "/bench.Bench/Add", drpcEncoding{}, func(srv any, ctx context.Context, in, _ any) (drpc.Message, error) {
			return srv.(drpcBench).add(ctx, in.(*AddArgs))
		}, drpcBench.add, true
	case 1:
		return "/bench.Bench/Echo", drpcEncoding{}, func(srv any, ctx context.Context, in, _ any) (drpc.Message, error) {
			return srv.(drpcBench).echo(ctx, in.(*Payload))
		}, drpcBench.echo, true
	case 2:
		return "/bench.Bench/EchoBytes", drpcEncoding{}, func(srv any, ctx context.Context, in, _ any) (drpc.Message, error) {
			return srv.(drpcBench).echoBytes(ctx, in.(*Blob))
		}, drpcBench.echoBytes, true
	}
	return "", nil, nil, nil, false
}

// drpcSystem is storj.io/drpc with the hand-written protobuf wire codec. A
// drpc connection carries one call at a time, so the shared client is a
// drpcpool pool that dials another connection whenever every pooled one
// is busy.
type drpcSystem struct{}

func (drpcSystem) name() string { return "drpc" }

func (drpcSystem) serve(ln net.Listener) (func() error, error) {
	mux := drpcmux.New()
	if err := mux.Register(drpcBench{}, drpcDescription{}); err != nil {
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

func (drpcSystem) dial(ctx context.Context, addr string) (client, error) {
	pool := drpcpool.New[string, drpcpool.Conn](drpcpool.Options{})
	conn := pool.Get(ctx, addr, func(ctx context.Context, addr string) (drpcpool.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("drpc dial: %w", err)
		}
		return drpcconn.New(raw), nil
	})
	return drpcClient{pool: pool, conn: conn}, nil
}

type drpcClient struct {
	pool *drpcpool.Pool[string, drpcpool.Conn]
	conn drpcpool.Conn
}

func (c drpcClient) invoke(ctx context.Context, method string, in, out drpc.Message) error {
	if err := c.conn.Invoke(ctx, method, drpcEncoding{}, in, out); err != nil {
		return fmt.Errorf("drpc %s: %w", method, err)
	}
	return nil
}

func (c drpcClient) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	err := c.invoke(ctx, "/bench.Bench/Add", &AddArgs{A: a, B: b}, &r)
	return r.Sum, err
}

func (c drpcClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.invoke(ctx, "/bench.Bench/Echo", p, &r)
	return &r, err
}

func (c drpcClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r Blob
	err := c.invoke(ctx, "/bench.Bench/EchoBytes", &Blob{Data: b}, &r)
	return r.Data, err
}

func (c drpcClient) close() error {
	c.conn.Close()
	if err := c.pool.Close(); err != nil {
		return fmt.Errorf("drpc close: %w", err)
	}
	return nil
}

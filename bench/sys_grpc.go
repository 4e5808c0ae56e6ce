package main

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/gzip"
)

func init() {
	// gRPC looks codecs up by content subtype; registration must happen
	// at init time.
	encoding.RegisterCodec(wireCodec{})
}

// grpcUnary builds a unary method handler for requests of type Req whose
// reply is computed by fn. The server installs no interceptor, so the
// handler calls fn directly.
func grpcUnary[Req any](method string, fn func(in *Req) any) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: method,
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			return fn(in), nil
		},
	}
}

// grpcServiceDesc is written by hand in place of protoc output. The
// handlers need no service value, so HandlerType accepts any.
var grpcServiceDesc = grpc.ServiceDesc{
	ServiceName: "bench.Bench",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		grpcUnary("Add", func(in *AddArgs) any { return &AddReply{Sum: in.A + in.B} }),
		grpcUnary("Echo", func(in *Payload) any { return in }),
		grpcUnary("EchoBytes", func(in *Blob) any { return in }),
	},
}

// grpcSystem is gRPC-go with default settings, unary calls over one shared
// ClientConn, and the hand-written protobuf wire codec. With gzip set the
// client compresses its requests with gRPC's gzip compressor, and the
// server its replies (the slowlink workload's compressed reference).
type grpcSystem struct {
	gzip bool
}

func (s grpcSystem) name() string {
	if s.gzip {
		return "grpc-gzip"
	}
	return "grpc"
}

func (grpcSystem) serve(ln net.Listener) (func() error, error) {
	srv := grpc.NewServer()
	srv.RegisterService(&grpcServiceDesc, struct{}{})
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

func (s grpcSystem) dial(ctx context.Context, addr string) (client, error) {
	opts := []grpc.CallOption{grpc.CallContentSubtype(wireCodec{}.Name())}
	if s.gzip {
		opts = append(opts, grpc.UseCompressor(gzip.Name))
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(opts...),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc dial: %w", err)
	}
	return grpcClient{cc}, nil
}

type grpcClient struct{ cc *grpc.ClientConn }

func (c grpcClient) invoke(ctx context.Context, method string, in, out any) error {
	if err := c.cc.Invoke(ctx, method, in, out); err != nil {
		return fmt.Errorf("grpc %s: %w", method, err)
	}
	return nil
}

func (c grpcClient) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	err := c.invoke(ctx, "/bench.Bench/Add", &AddArgs{A: a, B: b}, &r)
	return r.Sum, err
}

func (c grpcClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.invoke(ctx, "/bench.Bench/Echo", p, &r)
	return &r, err
}

func (c grpcClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r Blob
	err := c.invoke(ctx, "/bench.Bench/EchoBytes", &Blob{Data: b}, &r)
	return r.Data, err
}

func (c grpcClient) close() error { return c.cc.Close() }

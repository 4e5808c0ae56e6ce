package main

import (
	"context"
	"fmt"
	"net"
	"net/rpc"
)

// NetRPCBench is the service registered with net/rpc.
type NetRPCBench struct{}

// Add stores args.A+args.B in reply.
func (NetRPCBench) Add(args *AddArgs, reply *AddReply) error {
	reply.Sum = args.A + args.B
	return nil
}

// Echo copies args into reply.
func (NetRPCBench) Echo(args *Payload, reply *Payload) error {
	*reply = *args
	return nil
}

// EchoBytes copies args into reply.
func (NetRPCBench) EchoBytes(args *[]byte, reply *[]byte) error {
	*reply = *args
	return nil
}

// netrpcSystem is the standard library's net/rpc with its default gob codec.
type netrpcSystem struct{}

func (netrpcSystem) name() string { return "net/rpc" }

func (netrpcSystem) serve(ln net.Listener) (func() error, error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Bench", NetRPCBench{}); err != nil {
		return nil, fmt.Errorf("net/rpc register: %w", err)
	}
	return serveConns(ln, func(c net.Conn) { srv.ServeConn(c) }), nil
}

func (netrpcSystem) dial(ctx context.Context, addr string) (client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("net/rpc dial: %w", err)
	}
	return netrpcClient{rpc.NewClient(conn)}, nil
}

type netrpcClient struct{ c *rpc.Client }

// call runs one net/rpc call, giving up when ctx ends.
func (c netrpcClient) call(ctx context.Context, method string, args, reply any) error {
	select {
	case call := <-c.c.Go(method, args, reply, make(chan *rpc.Call, 1)).Done:
		if call.Error != nil {
			return fmt.Errorf("net/rpc %s: %w", method, call.Error)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("net/rpc %s: %w", method, ctx.Err())
	}
}

func (c netrpcClient) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	err := c.call(ctx, "Bench.Add", &AddArgs{A: a, B: b}, &r)
	return r.Sum, err
}

func (c netrpcClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.call(ctx, "Bench.Echo", p, &r)
	return &r, err
}

func (c netrpcClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r []byte
	err := c.call(ctx, "Bench.EchoBytes", &b, &r)
	return r, err
}

func (c netrpcClient) close() error { return c.c.Close() }

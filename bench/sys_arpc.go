package main

import (
	"context"
	"fmt"
	"net"

	"github.com/lesismal/arpc"
	arpclog "github.com/lesismal/arpc/log"
)

func init() {
	// arpc logs every connect, and every disconnect as an error.
	arpclog.SetLevel(arpclog.LevelNone)
}

// arpcSystem is github.com/lesismal/arpc with its default handler settings.
// Add and the struct echo use the hand-written protobuf wire codec (arpc
// itself ships only encoding/json); the 64 KiB echo uses arpc's raw []byte
// path, which skips the codec.
type arpcSystem struct{}

func (arpcSystem) name() string { return "arpc" }

func (arpcSystem) serve(ln net.Listener) (func() error, error) {
	srv := arpc.NewServer()
	srv.Codec = wireCodec{}
	srv.Handler.Handle("Add", func(ctx *arpc.Context) {
		var in AddArgs
		if err := ctx.Bind(&in); err != nil {
			ctx.Error(err)
			return
		}
		ctx.Write(&AddReply{Sum: in.A + in.B})
	})
	srv.Handler.Handle("Echo", func(ctx *arpc.Context) {
		var in Payload
		if err := ctx.Bind(&in); err != nil {
			ctx.Error(err)
			return
		}
		ctx.Write(&in)
	})
	srv.Handler.Handle("EchoBytes", func(ctx *arpc.Context) {
		ctx.Write(ctx.Body())
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		// Closing the listener ends Serve, which then stops every
		// connection. Server.Stop would do the same but writes a flag
		// that Serve reads without a lock, which the race detector flags.
		err := ln.Close()
		<-done
		if err != nil {
			return fmt.Errorf("arpc stop: %w", err)
		}
		return nil
	}, nil
}

func (arpcSystem) dial(ctx context.Context, addr string) (client, error) {
	c, err := arpc.NewClient(func() (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	if err != nil {
		return nil, fmt.Errorf("arpc dial: %w", err)
	}
	c.Codec = wireCodec{}
	return arpcClient{c}, nil
}

type arpcClient struct{ c *arpc.Client }

func (c arpcClient) call(ctx context.Context, method string, in, out any) error {
	if err := c.c.CallWith(ctx, method, in, out); err != nil {
		return fmt.Errorf("arpc %s: %w", method, err)
	}
	return nil
}

func (c arpcClient) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	err := c.call(ctx, "Add", &AddArgs{A: a, B: b}, &r)
	return r.Sum, err
}

func (c arpcClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.call(ctx, "Echo", p, &r)
	return &r, err
}

func (c arpcClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r []byte
	err := c.call(ctx, "EchoBytes", b, &r)
	return r, err
}

func (c arpcClient) close() error {
	c.c.Stop()
	return nil
}

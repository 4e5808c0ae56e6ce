package main

import (
	"context"
	"errors"
	"fmt"
	"net"

	rpcxclient "github.com/smallnest/rpcx/client"
	rpcxlog "github.com/smallnest/rpcx/log"
	rpcxserver "github.com/smallnest/rpcx/server"
	"github.com/soheilhy/cmux"
)

func init() {
	// rpcx logs connection events; errors reach the harness as call errors.
	rpcxlog.SetDummyLogger()
}

// RPCXBench is the service registered with rpcx.
type RPCXBench struct{}

// Add stores args.A+args.B in reply.
func (RPCXBench) Add(_ context.Context, args *AddArgs, reply *AddReply) error {
	reply.Sum = args.A + args.B
	return nil
}

// Echo copies args into reply.
func (RPCXBench) Echo(_ context.Context, args *Payload, reply *Payload) error {
	*reply = *args
	return nil
}

// EchoBytes copies args into reply.
func (RPCXBench) EchoBytes(_ context.Context, args *[]byte, reply *[]byte) error {
	*reply = *args
	return nil
}

// rpcxSystem is github.com/smallnest/rpcx with its default MsgPack
// serialization, one client.Client (one connection) shared by all callers,
// and the server's HTTP gateway and JSON-RPC listeners turned off.
type rpcxSystem struct{}

func (rpcxSystem) name() string { return "rpcx" }

func (rpcxSystem) serve(ln net.Listener) (func() error, error) {
	srv := rpcxserver.NewServer()
	srv.DisableHTTPGateway = true
	srv.DisableJSONRPC = true
	if err := srv.RegisterName("Bench", RPCXBench{}, ""); err != nil {
		return nil, fmt.Errorf("rpcx register: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener("tcp", ln) }()
	return func() error {
		err := srv.Close()
		// rpcx closes only its cmux sub-listener; close the real one too.
		ln.Close()
		// Serve reports the close through rpcx or through its cmux.
		if serr := <-done; !errors.Is(serr, rpcxserver.ErrServerClosed) && !errors.Is(serr, cmux.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			return fmt.Errorf("rpcx close: %w", err)
		}
		return nil
	}, nil
}

func (rpcxSystem) dial(_ context.Context, addr string) (client, error) {
	c := rpcxclient.NewClient(rpcxclient.DefaultOption)
	if err := c.Connect("tcp", addr); err != nil {
		return nil, fmt.Errorf("rpcx dial: %w", err)
	}
	return rpcxClient{c}, nil
}

type rpcxClient struct{ c *rpcxclient.Client }

func (c rpcxClient) call(ctx context.Context, method string, args, reply any) error {
	if err := c.c.Call(ctx, "Bench", method, args, reply); err != nil {
		return fmt.Errorf("rpcx %s: %w", method, err)
	}
	return nil
}

func (c rpcxClient) add(ctx context.Context, a, b int64) (int64, error) {
	var r AddReply
	err := c.call(ctx, "Add", &AddArgs{A: a, B: b}, &r)
	return r.Sum, err
}

func (c rpcxClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.call(ctx, "Echo", p, &r)
	return &r, err
}

func (c rpcxClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r []byte
	err := c.call(ctx, "EchoBytes", &b, &r)
	return r, err
}

func (c rpcxClient) close() error { return c.c.Close() }

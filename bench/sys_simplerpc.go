package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/simplerpc/simplerpc"
)

// Bench is the service registered with simplerpc.
type Bench struct{}

// Add returns a+b.
func (Bench) Add(a, b int64) int64 { return a + b }

// Echo returns p.
func (Bench) Echo(p Payload) Payload { return p }

// EchoBytes returns b.
func (Bench) EchoBytes(b []byte) []byte { return b }

// simplerpcSystem is simplerpc with default options and the named codec,
// one Client shared by all callers. Logging is off, as for the peers.
type simplerpcSystem struct {
	codec string
	// compress turns WithCompression on at both ends with this threshold
	// (the slowlink workload's compressed row); 0: off.
	compress int
}

func (s simplerpcSystem) name() string {
	if s.compress > 0 {
		return "simplerpc-" + s.codec + "-zstd"
	}
	return "simplerpc-" + s.codec
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (s simplerpcSystem) serve(ln net.Listener) (func() error, error) {
	srv := simplerpc.NewServer(simplerpc.WithLogger(quiet), simplerpc.WithCompression(s.compress))
	if err := srv.Register("Bench", Bench{}); err != nil {
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

func (s simplerpcSystem) dial(ctx context.Context, addr string) (client, error) {
	c, err := simplerpc.Dial(ctx, addr, simplerpc.WithCodec(s.codec), simplerpc.WithLogger(quiet), simplerpc.WithCompression(s.compress))
	if err != nil {
		return nil, fmt.Errorf("simplerpc dial: %w", err)
	}
	return simplerpcClient{c}, nil
}

type simplerpcClient struct{ c *simplerpc.Client }

func (c simplerpcClient) call(ctx context.Context, method string, args []any, result any) error {
	if err := c.c.Call(ctx, method, args, result); err != nil {
		return fmt.Errorf("simplerpc %s: %w", method, err)
	}
	return nil
}

func (c simplerpcClient) add(ctx context.Context, a, b int64) (int64, error) {
	var sum int64
	err := c.call(ctx, "Bench.Add", []any{a, b}, &sum)
	return sum, err
}

func (c simplerpcClient) echo(ctx context.Context, p *Payload) (*Payload, error) {
	var r Payload
	err := c.call(ctx, "Bench.Echo", []any{p}, &r)
	return &r, err
}

func (c simplerpcClient) echoBytes(ctx context.Context, b []byte) ([]byte, error) {
	var r []byte
	err := c.call(ctx, "Bench.EchoBytes", []any{b}, &r)
	return r, err
}

func (c simplerpcClient) close() error { return c.c.Close() }

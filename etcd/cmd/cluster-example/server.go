package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/etcd"
)

// Calc is the service every server exposes.
type Calc struct{ addr string }

// Sum is Add's result: the sum, and which server computed it.
type Sum struct {
	Sum    int
	Server string
}

// Add adds a and b, taking a millisecond as real work would.
func (c *Calc) Add(a, b int) Sum {
	time.Sleep(time.Millisecond)
	return Sum{Sum: a + b, Server: c.addr}
}

// runServer serves Calc on -addr, registers it under -name, and on
// SIGTERM or SIGINT leaves gracefully: registration first, so that
// clients stop sending new calls, then a shutdown that finishes the
// calls in flight.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	endpoints := fs.String("endpoints", "127.0.0.1:2379", "etcd endpoints, comma-separated")
	addr := fs.String("addr", "127.0.0.1:9001", "address to serve on and register")
	name := fs.String("name", "calc", "name to register under")
	ttl := fs.Duration("ttl", etcd.DefaultTTL, "lease TTL: how long the key outlives a crash")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.DiscardHandler)))
	if err := srv.Register("Calc", &Calc{addr: *addr}); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	cli, err := newEtcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	reg, err := etcd.Register(ctx, cli, *name, *addr, etcd.WithTTL(*ttl))
	cancel()
	if err != nil {
		srv.Close()
		return err
	}
	say("server %s: serving, registered as %s", *addr, reg.Key())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		say("server %s: %v: leaving", *addr, s)
	case err := <-served:
		reg.Close()
		return err
	}
	if err := reg.Close(); err != nil {
		say("server %s: %v", *addr, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	say("server %s: deregistered, calls in flight finished, stopped in %s", *addr, ms(time.Since(start)))
	return nil
}

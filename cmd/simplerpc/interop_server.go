package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/interop"
)

const interopServerSynopsis = "[-addr ADDR]"

const interopServerHelp = `
Interop-server serves the interop test service (docs/interop.md) on ADDR,
by the native protocol and by JSON-RPC 2.0 over HTTP on the same port,
until interrupted. Once it listens it prints one line on standard output:

	interop server listening on 127.0.0.1:7070 (native and JSON-RPC)

so that a script starting it with -addr 127.0.0.1:0 learns the port.
"simplerpc interop-client", or a client in any language following
docs/interop.md, then runs the cases against it.
`

func runInteropServer(e *env, args []string) int {
	fs := newFlagSet("interop-server", interopServerSynopsis, interopServerHelp)
	addr := fs.String("addr", "127.0.0.1:7070", "listen on `addr` (host:port; port 0 picks a free one)")
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageError(e, fs, "interop-server takes no arguments, only flags")
	}
	srv := simplerpc.NewServer(simplerpc.WithLogger(newTermLogger(e.stderr, slog.LevelWarn, "")))
	if err := interop.Register(srv); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc interop-server: %v\n", err)
		return 1
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "simplerpc interop-server: %v\n", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	fmt.Fprintf(e.stdout, "interop server listening on %s (native and JSON-RPC)\n", l.Addr())
	select {
	case err = <-done:
		fmt.Fprintf(e.stderr, "simplerpc interop-server: %v\n", err)
		return 1
	case <-e.ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc interop-server: shutdown: %v\n", err)
	}
	<-done
	return 0
}

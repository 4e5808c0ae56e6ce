package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/console"
)

const consoleSynopsis = "[flags] ADDR"

const consoleHelp = `
Console serves a web page, on this machine, to browse and call the
methods of the server at ADDR (host:port, or a target such as
static:///a:1,b:2 or dns:///host:port): it lists the services and
methods with their Go signatures, builds a form for each method's
parameters, calls it and shows the result, or the error with its code
and the server-side traceback (when the server runs
WithStackTraces(true)), and keeps a history of the calls with their
timings. Stream methods are marked with their kind: their items show as
they arrive, with their count and timing, until the stream ends or Stop
cancels it; items to send are written one JSON value a line. Calls go
over the native protocol from this process, with TLS if asked. It prints the page's address and serves until interrupted.

The page answers only on the -listen address, to pages of its own origin
opened by IP address or as localhost.

Examples:

	simplerpc console 127.0.0.1:4000
	simplerpc console -listen 127.0.0.1:8080 -H 'authorization: Bearer t0k' dns:///calc:4000
	simplerpc console -cacert ca.pem calc.internal:4000
`

// headerFlags collects -H name: value metadata.
type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }

func (h *headerFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(k) == "" {
		return errors.New(`want "name: value"`)
	}
	*h = append(*h, v)
	return nil
}

func runConsole(e *env, args []string) int {
	fs := newFlagSet("console", consoleSynopsis, consoleHelp)
	listen := fs.String("listen", "127.0.0.1:0", "serve the page on this `address` (port 0: any free port)")
	var headers headerFlags
	fs.Var(&headers, "H", "send metadata `name: value` with every call (repeatable)")
	var tf tlsFlags
	tf.register(fs)
	pos, code, ok := parse(fs, e, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageError(e, fs, "console needs ADDR")
	}
	tlsOpt, err := tf.option()
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	md := make(simplerpc.Metadata)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		md.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if err := serveConsole(e, *listen, pos[0], md, tlsOpt); err != nil {
		fmt.Fprintf(e.stderr, "simplerpc console: %v\n", err)
		return 1
	}
	return 0
}

// serveConsole dials target and serves its console on listen until
// e.ctx ends.
func serveConsole(e *env, listen, target string, md simplerpc.Metadata, tlsOpt simplerpc.ClientOption) error {
	dctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	c, err := dialServer(dctx, target, false, e.stderr, tlsOpt)
	cancel()
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", target, err)
	}
	defer c.Close()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger := newTermLogger(e.stderr, slog.LevelWarn, "")
	// No WriteTimeout: the answer to a stream lasts as long as the
	// stream, which the console bounds itself.
	srv := &http.Server{
		Handler:           console.New(c, console.Options{Target: target, Metadata: md, Logger: logger}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		fmt.Fprintf(e.stderr, "simplerpc console: warning: %s is not a loopback address: whoever reaches it can call %s through the console, with its metadata and TLS identity\n", l.Addr(), target)
	}
	fmt.Fprintf(e.stdout, "simplerpc console for %s on http://%s/\n", target, l.Addr())
	select {
	case err := <-done:
		return fmt.Errorf("serving: %w", err)
	case <-e.ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-done
	return nil
}

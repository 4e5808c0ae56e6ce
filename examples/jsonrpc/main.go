// Command jsonrpc serves a small Calc service on 127.0.0.1:9000, so it
// can be called from any language over JSON-RPC 2.0, for example with
// curl (see docs/jsonrpc.md). The same port also serves simplerpc's
// native clients.
//
//	go run ./examples/jsonrpc
//	curl -s http://127.0.0.1:9000 -d '{"jsonrpc":"2.0","method":"Calc.Add","params":[1,2],"id":1}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Calc is the service served.
type Calc struct{}

// Rect is a struct argument: params may name its fields.
type Rect struct {
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// ErrDivByZero is registered, so the error's data names it.
var ErrDivByZero = errors.New("division by zero")

func init() { simplerpc.RegisterError("demo.div_by_zero", ErrDivByZero) }

// Add adds.
func (Calc) Add(a, b int) int { return a + b }

// Sum is variadic.
func (Calc) Sum(nums ...int) int {
	t := 0
	for _, n := range nums {
		t += n
	}
	return t
}

// Area takes a struct.
func (Calc) Area(r Rect) float64 { return r.W * r.H }

// Div fails with a registered error.
func (Calc) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, fmt.Errorf("div(%g, %g): %w", a, b, ErrDivByZero)
	}
	return a / b, nil
}

// Crash panics.
func (Calc) Crash(msg string) int { panic(msg) }

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := newServer()
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, srv, *addr, func(addr string) {
		log.Printf("serving Calc on %s (JSON-RPC over HTTP and native simplerpc)", addr)
	}); err != nil {
		log.Fatal(err)
	}
}

// newServer returns the server of Calc and greet.
func newServer() (*simplerpc.Server, error) {
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true))
	if err := srv.Register("Calc", Calc{}); err != nil {
		return nil, err
	}
	if err := srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
		return nil, err
	}
	return srv, nil
}

// run serves srv on addr until ctx ends, then shuts it down gracefully:
// it returns once every call in flight has finished and its response has
// been written, or 5 seconds later at most. ready is called with the
// address once the server listens.
func run(ctx context.Context, srv *simplerpc.Server, addr string, ready func(addr string)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ready(l.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return err // the listener failed
	case <-ctx.Done():
	}
	// Serve returns ErrServerClosed as soon as Shutdown begins: what
	// matters is that Shutdown returns, once the calls in flight are
	// answered. Returning from main before then would lose them.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		err = fmt.Errorf("shutdown: %w; calls still running were cut off", err)
		srv.Close()
	}
	if serr := <-served; !errors.Is(serr, simplerpc.ErrServerClosed) {
		return serr
	}
	return err
}

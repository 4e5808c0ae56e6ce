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
	"os"
	"os/signal"
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
	srv := simplerpc.NewServer(simplerpc.WithStackTraces(true))
	if err := srv.Register("Calc", Calc{}); err != nil {
		log.Fatal(err)
	}
	if err := srv.RegisterFunc("greet", func(name string) string { return "hello, " + name }); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("serving Calc on %s (JSON-RPC over HTTP and native simplerpc)", *addr)
	if err := srv.ListenAndServe(*addr); err != nil && !errors.Is(err, simplerpc.ErrServerClosed) {
		log.Fatal(err)
	}
}

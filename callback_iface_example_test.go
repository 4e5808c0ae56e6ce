package simplerpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/simplerpc/simplerpc"
)

// Listener is an interface of callbacks, for the example: the client
// implements it, and the server calls it while a call runs.
type Listener interface {
	OnLine(n int, text string) error
	OnEnd(lines int)
}

// listenerProxy is the server's adapter for Listener: a func field per
// method, and the methods calling them.
type listenerProxy struct {
	OnLineFunc func(n int, text string) error
	OnEndFunc  func(lines int)
}

func (p listenerProxy) OnLine(n int, text string) error { return p.OnLineFunc(n, text) }
func (p listenerProxy) OnEnd(lines int)                 { p.OnEndFunc(lines) }

// Printer is a service whose method takes a Listener.
type Printer struct{}

// Print sends each line to l.
func (Printer) Print(lines []string, l Listener) error {
	for i, s := range lines {
		if err := l.OnLine(i+1, s); err != nil {
			return err
		}
	}
	l.OnEnd(len(lines))
	return nil
}

// console is the client's Listener.
type console struct{}

func (console) OnLine(n int, text string) error { fmt.Printf("%d: %s\n", n, text); return nil }
func (console) OnEnd(lines int)                 { fmt.Println(lines, "lines") }

func ExampleRegisterProxy() {
	// Server: the adapter once, then the service.
	if err := simplerpc.RegisterProxy[Listener](listenerProxy{}); err != nil {
		panic(err)
	}
	srv := simplerpc.NewServer()
	if err := srv.Register("Printer", Printer{}); err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	defer func() {
		_ = srv.Shutdown(context.Background())
		<-done
	}()

	// Client: any value implementing Listener.
	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var printer struct {
		Print func(ctx context.Context, lines []string, l Listener) error
	}
	if err := c.Bind("Printer", &printer); err != nil {
		panic(err)
	}
	if err := printer.Print(context.Background(), []string{"hello", "world"}, console{}); err != nil {
		panic(err)
	}
	// By name, AsInterface marks the value.
	err = c.Call(context.Background(), "Printer.Print", []any{[]string{"again"}, simplerpc.AsInterface[Listener](console{})})
	fmt.Println(err)
	// Output:
	// 1: hello
	// 2: world
	// 2 lines
	// 1: again
	// 1 lines
	// <nil>
}

package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Greeter is a service for the examples.
type Greeter struct{}

// Hello greets someone.
func (Greeter) Hello(name string) string { return "hello, " + name }

// Fail always fails.
func (Greeter) Fail() error { return errors.New("no greeting today") }

// Options are named arguments.
type Options struct {
	Name  string `json:"name"`
	Shout bool   `json:"shout"`
}

// Greet takes its arguments by name or by position.
func (Greeter) Greet(o Options) string {
	if o.Shout {
		return "HELLO, " + o.Name + "!"
	}
	return "hello, " + o.Name
}

// serveExample starts a server for an example and returns its address and
// a function that stops it.
func serveExample(opts ...simplerpc.ServerOption) (string, func()) {
	srv := simplerpc.NewServer(opts...)
	if err := srv.Register("Greeter", Greeter{}); err != nil {
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
	return l.Addr().String(), func() {
		_ = srv.Shutdown(context.Background())
		<-done
	}
}

func ExampleClient_Call() {
	addr, stop := serveExample()
	defer stop()

	ctx := context.Background()
	c, err := simplerpc.Dial(ctx, addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	var greeting string
	if err := c.Call(ctx, "Greeter.Hello", []any{"world"}, &greeting); err != nil {
		panic(err)
	}
	fmt.Println(greeting)

	// Named arguments: one map, matched to the struct's fields.
	if err := c.Call(ctx, "Greeter.Greet", []any{map[string]any{"name": "gopher", "shout": true}}, &greeting); err != nil {
		panic(err)
	}
	fmt.Println(greeting)
	// Output:
	// hello, world
	// HELLO, gopher!
}

func ExampleClient_Bind() {
	addr, stop := serveExample()
	defer stop()

	ctx := context.Background()
	c, err := simplerpc.Dial(ctx, addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	var greeter struct {
		Hello func(name string) (string, error)
		Fail  func(ctx context.Context) error
	}
	if err := c.Bind("Greeter", &greeter); err != nil {
		panic(err)
	}
	s, err := greeter.Hello("bound world")
	fmt.Println(s, err)

	err = greeter.Fail(ctx)
	var e *simplerpc.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// hello, bound world <nil>
	// application no greeting today
}

func ExampleError() {
	addr, stop := serveExample()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := simplerpc.Dial(ctx, addr)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	err = c.Call(ctx, "Greeter.Hellp", []any{"typo"})
	var e *simplerpc.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code)
		fmt.Println(e.Message)
	}
	// Output:
	// not_found
	// service Greeter has no method Hellp (it has: Fail, Greet, Hello)
}

// A server that authenticates its callers binds each client's session —
// what lets the client resume after a broken connection — to the user
// its calls come from, so that no other caller can resume it and read
// its replies, even one who learns the session id.
func ExampleWithSessionIdentity() {
	user := func(_ context.Context, info *simplerpc.CallInfo) (string, error) {
		// A real server would verify a token here and return its user.
		if u := info.Metadata.Get("user"); u != "" {
			return u, nil
		}
		return "", &simplerpc.Error{Code: simplerpc.CodeUnauthenticated, Message: "who are you?"}
	}
	addr, stop := serveExample(simplerpc.WithSessionIdentity(user))
	defer stop()

	c, err := simplerpc.Dial(context.Background(), addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	var greeting string
	ctx := simplerpc.AppendMetadata(context.Background(), "user", "alice")
	if err := c.Call(ctx, "Greeter.Hello", []any{"alice"}, &greeting); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(greeting)
	// Output: hello, alice
}

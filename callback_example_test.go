package simplerpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/simplerpc/simplerpc"
)

// Builder is a service whose methods take callbacks, for the examples.
type Builder struct{}

// Build runs steps steps, reporting each through progress, which runs in
// the client's process.
func (Builder) Build(ctx context.Context, steps int, progress func(done, total int)) (string, error) {
	for i := 1; i <= steps; i++ {
		progress(i, steps)
	}
	return "built", ctx.Err()
}

// Each calls visit on every name until it fails.
func (Builder) Each(ctx context.Context, names []string, visit func(ctx context.Context, name string) error) error {
	for _, n := range names {
		if err := visit(ctx, n); err != nil {
			return fmt.Errorf("stopped at %s: %w", n, err)
		}
	}
	return nil
}

// serveBuilder starts a server of Builder and returns a client of it.
func serveBuilder() (*simplerpc.Client, func()) {
	srv := simplerpc.NewServer()
	if err := srv.Register("Builder", Builder{}); err != nil {
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
	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	return c, func() {
		c.Close()
		_ = srv.Shutdown(context.Background())
		<-done
	}
}

func ExampleClient_Bind_callbacks() {
	c, stop := serveBuilder()
	defer stop()

	var builder struct {
		Build func(ctx context.Context, steps int, progress func(done, total int)) (string, error)
	}
	if err := c.Bind("Builder", &builder); err != nil {
		panic(err)
	}
	// The func runs here, in the client, each time the server calls it.
	res, err := builder.Build(context.Background(), 3, func(done, total int) {
		fmt.Printf("%d/%d\n", done, total)
	})
	fmt.Println(res, err)
	// Output:
	// 1/3
	// 2/3
	// 3/3
	// built <nil>
}

func ExampleClient_Call_callbacks() {
	c, stop := serveBuilder()
	defer stop()

	visit := func(ctx context.Context, name string) error {
		fmt.Println("visiting", name)
		if name == "b" {
			return fmt.Errorf("enough")
		}
		return nil
	}
	err := c.Call(context.Background(), "Builder.Each", []any{[]string{"a", "b", "c"}, visit})
	fmt.Println(err)
	// Output:
	// visiting a
	// visiting b
	// simplerpc: Builder.Each: application: stopped at b: simplerpc: Builder.Each callback 0: application: enough
}

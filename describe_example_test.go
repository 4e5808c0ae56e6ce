package simplerpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/simplerpc/simplerpc"
)

// Shelf is served by the introspection example.
type Shelf struct{}

// Count says how many of an item the shelf holds.
func (Shelf) Count(item string) int { return len(item) }

// Take removes n of an item and returns what is left.
func (Shelf) Take(ctx context.Context, item string, n int) ([]string, error) {
	return make([]string, n), ctx.Err()
}

func ExampleClient_Describe() {
	srv := simplerpc.NewServer()
	_ = srv.Register("Shelf", Shelf{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	d, err := c.Describe(context.Background())
	if err != nil {
		panic(err)
	}
	for _, s := range d.Services {
		for _, m := range s.Methods {
			fmt.Println(m.Name, "=", m.Signature)
			for _, p := range m.Params {
				fmt.Printf("  param %s: %s\n", p.Go, p.Schema.Type)
			}
		}
	}
	// Output:
	// Shelf.Count = Count(string) int
	//   param string: string
	// Shelf.Take = Take(context.Context, string, int) ([]string, error)
	//   param string: string
	//   param int: integer
}

// Bind checks a stub against the server before any call, and names each
// field that does not match.
func ExampleClient_Bind_mismatch() {
	srv := simplerpc.NewServer()
	_ = srv.Register("Shelf", Shelf{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	c, err := simplerpc.Dial(context.Background(), l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var shelf struct {
		Count func(item string) (int, error)
		Take  func(item string) (int, error)
		Put   func(item string) error
	}
	err = c.Bind("Shelf", &shelf)
	fmt.Println(err)
	// Output:
	// simplerpc: Bind("Shelf", *struct{...}): the stub does not match the server:
	//   field Take:
	//       server has  Take(context.Context, string, int) ([]string, error)
	//       stub says   Take(string) (int, error)
	//       - the server takes 2 arguments, the stub passes 1
	//       - result 1: the server returns []string, the stub expects int
	//   field Put: the server has no method Shelf.Put (it has: Count, Take)
}

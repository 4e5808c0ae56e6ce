package simplerpc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/simplerpc/simplerpc"
)

// wrapped is an Endpoint a Balancer made itself, around one it was given.
type wrapped struct{ simplerpc.Endpoint }

// wrappingBalancer returns what it was not given: its own wrapper, or
// nothing at all.
type wrappingBalancer struct{ returnNil bool }

func (b wrappingBalancer) Pick(ready []simplerpc.Endpoint) simplerpc.Endpoint {
	if b.returnNil {
		return nil
	}
	return wrapped{ready[0]}
}

// TestBalancerReturningForeignEndpoint checks that a Balancer returning an
// Endpoint the client did not give it fails the call with a clear error,
// not a panic, and that the call is not sent.
func TestBalancerReturningForeignEndpoint(t *testing.T) {
	for _, b := range []wrappingBalancer{{}, {returnNil: true}} {
		a, other := startCounting(t), startCounting(t)
		c := dial(t, "static:///"+a.addr+","+other.addr, simplerpc.WithBalancer(b))
		waitHealthy(t, c, 2) // with one ready endpoint the balancer is not asked
		var n int
		err := c.Call(context.Background(), "hit", []any{1}, &n)
		var e *simplerpc.Error
		if !errors.As(err, &e) || e.Code != simplerpc.CodeInternal || !strings.Contains(e.Message, "not one of the ready endpoints") {
			t.Fatalf("nil %v: call through a balancer returning a foreign Endpoint: %v; want CodeInternal naming the problem", b.returnNil, err)
		}
		if hits := a.hits.Load() + other.hits.Load(); hits != 0 {
			t.Fatalf("nil %v: the call ran %d times", b.returnNil, hits)
		}
	}
}

package simplerpc_test

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// hoarder takes a stream it never reads.
type hoarder struct{}

func (hoarder) Hold(ctx context.Context, in iter.Seq2[[]byte, error]) error {
	<-ctx.Done()
	return nil
}

// Many connections each filling their streams' windows with items a
// method never reads cannot hold more than the memory budget (and a
// frame a connection): a connection holding stream items reads no more
// while the budget is spent. A well-behaved client is served meanwhile.
func TestStreamItemsHeldWithinBudget(t *testing.T) {
	const budget = 16 << 20
	ts := startServer(t, simplerpc.WithMemoryBudget(budget), simplerpc.WithMaxMessageSize(256<<10))
	if err := ts.srv.Register("Hoard", hoarder{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const conns, streams = 60, 4
	chunk := make([]byte, 64<<10)
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range conns {
		c := dial(t, ts.addr)
		for range streams {
			s, err := c.OpenStream(ctx, "Hoard.Hold")
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer s.Close()
				for s.Send(chunk) == nil {
					sent.Add(int64(len(chunk)))
				}
			})
		}
	}
	good := dial(t, ts.addr)
	var peak int64
	var calls, failed int
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		var sum int
		if err := good.Call(ctx, "Calc.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
			failed++
		}
		calls++
		peak = max(peak, ts.srv.Stats().MemoryInUse)
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	t.Logf("%d MiB sent into streams no one reads; server memory in use peaked at %.1f MiB (budget %d MiB); %d of %d calls beside them failed",
		sent.Load()>>20, float64(peak)/(1<<20), budget>>20, failed, calls)
	if limit := int64(budget + conns*(128<<10)); peak > limit {
		t.Fatalf("memory in use peaked at %d bytes, over the budget and a frame a connection (%d)", peak, limit)
	}
	if sent.Load() < budget {
		t.Fatalf("only %d bytes sent: the test did not fill the budget", sent.Load())
	}
	if failed > 0 {
		t.Fatalf("%d of %d calls of a well-behaved client failed", failed, calls)
	}
}

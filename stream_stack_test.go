//go:build !race

package simplerpc_test

import (
	"context"
	"iter"
	"runtime"
	"testing"
)

// Holder's Hold yields one item, then waits for its stream to end.
type Holder struct{}

func (Holder) Hold(ctx context.Context) iter.Seq2[int64, error] {
	return func(yield func(int64, error) bool) {
		if yield(0, nil) {
			<-ctx.Done()
		}
	}
}

// The goroutine of an idle server stream, parked after sending its first
// item, keeps its first 4 KiB of stack: sending an item — its encoding,
// keeping it for a resume, the first buffers of its batch and kept items
// — never grows the stack to 8 KiB, which an idle stream would hold for
// as long as it is open. (Not under the race detector, whose
// instrumentation makes every frame larger.)
func TestStreamIdleStackStaysSmall(t *testing.T) {
	ts := startServer(t)
	if err := ts.srv.Register("Holder", Holder{}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.StackInuse
	const n = 500
	for range n {
		s, err := c.OpenStream(ctx, "Holder.Hold")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var v int64
		if err := s.Recv(&v); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	per := float64(int64(ms.StackInuse)-int64(before)) / n / 1024
	t.Logf("%.2f KiB of stack per idle stream", per)
	if per >= 6 {
		t.Fatalf("%.2f KiB of stack per idle stream: its goroutine's stack grew past 4 KiB", per)
	}
}

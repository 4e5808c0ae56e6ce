package simplerpc

import (
	"context"
	"iter"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestKeptItemsCountWhatTheyPin keeps and trims frames of many sizes, the
// buffer pool primed with buffers much larger than a frame: what the kept
// items report taking is, at every step, the memory the ring holds — its
// buffer, its items' buffers as allocated, its index — and no large item
// pins a buffer over twice its size.
func TestKeptItemsCountWhatTheyPin(t *testing.T) {
	for range 8 {
		b := getBuffer()
		b.Grow(200 << 10)
		putBuffer(b)
	}
	var k keptItems
	var counted int64
	sizes := []int{10, 600, 16 << 10, 100, 64 << 10, 3, 20 << 10}
	for round := range 50 {
		for _, n := range sizes {
			k.add(make([]byte, n+round))
			counted += k.grown()
			if fp := int64(k.frames.footprint()); counted != fp {
				t.Fatalf("round %d: counted %d bytes kept, the ring takes %d", round, counted, fp)
			}
		}
		for _, it := range k.frames.items[k.frames.head:] {
			if it.own != nil && it.own.Cap() > 2*int(it.size) {
				t.Fatalf("an item of %d bytes pins a buffer of %d", it.size, it.own.Cap())
			}
		}
		counted -= k.trim(k.from + uint64(len(sizes)) - 2)
		if fp := int64(k.frames.footprint()); counted != fp {
			t.Fatalf("round %d, after trim: counted %d bytes kept, the ring takes %d", round, counted, fp)
		}
	}
	if n := k.clear(); n != counted {
		t.Fatalf("clear gave back %d bytes, %d were counted", n, counted)
	}
}

// flooder streams 16 KiB chunks until its context ends.
type flooder struct{}

func (flooder) Flood(ctx context.Context) iter.Seq[[]byte] {
	chunk := make([]byte, 16<<10)
	return func(yield func([]byte) bool) {
		for ctx.Err() == nil && yield(chunk) {
		}
	}
}

// Add adds.
func (flooder) Add(a, b int) int { return a + b }

// TestStreamsKeepAtMostTheirShare opens, in sessions, more streams than
// half the memory budget can keep a window for, and never consumes them:
// what the server keeps for their resumes stops at its part of the
// budget (and an item a stream), and a call beside them still runs.
func TestStreamsKeepAtMostTheirShare(t *testing.T) {
	const budget = 16 << 20
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)), WithMemoryBudget(budget))
	if err := srv.Register("F", flooder{}); err != nil {
		t.Fatal(err)
	}
	addr := serveInternal(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const conns, streams = 4, 24 // 96 windows of 256 KiB: 24 MiB, past half of 16
	var wg sync.WaitGroup
	for range conns {
		c, err := Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		for range streams {
			s, err := c.OpenStream(ctx, "F.Flood")
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { // received, never taken: the client reports nothing consumed
				<-ctx.Done()
				s.Close()
			})
		}
	}
	defer wg.Wait()
	defer cancel()
	limit := int64(budget/keptShare + conns*streams*(17<<10))
	var peak int64
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		peak = max(peak, srv.kept.Load())
	}
	t.Logf("kept for a resume: at most %.1f MiB (budget %d MiB)", float64(peak)/(1<<20), budget>>20)
	if peak > limit {
		t.Fatalf("resumable streams kept %d bytes, past half the budget and an item a stream (%d)", peak, limit)
	}
	if peak < budget/keptShare {
		t.Fatalf("resumable streams kept only %d bytes: the test did not reach the share", peak)
	}
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sum int
	if err := c.Call(ctx, "F.Add", []any{1, 2}, &sum); err != nil || sum != 3 {
		t.Fatalf("a call beside the streams: %d, %v; want 3", sum, err)
	}
}

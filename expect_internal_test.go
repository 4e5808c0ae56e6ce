package simplerpc

import (
	"context"
	"errors"
	"iter"
	"sync"
	"testing"
	"time"
)

// awaitedSvc has a method for each way a call can end.
type awaitedSvc struct{}

func (awaitedSvc) Add(a, b int64) int64 { return a + b }

func (awaitedSvc) Fail() error { return errors.New("refused") }

func (awaitedSvc) Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (awaitedSvc) Count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// TestRepliesLeaveNoCallerAwaited checks that every caller a reply wakes
// is counted out of its connection's writer once it runs (frameio's
// Expect and Arrived), whatever the call's end: a result, an error, the
// caller's context ending before or as its reply comes, or a stream,
// whose replies wake no caller in roundTrip. A caller left counted would
// hold every small frame of the connection from then on.
func TestRepliesLeaveNoCallerAwaited(t *testing.T) {
	_, addr := serveService(t, "S", awaitedSvc{})
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A caller left awaited holds the connection's small frames, so a
	// call then fails by this deadline rather than hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var sum int64
	if err := c.Call(ctx, "S.Add", []any{int64(1), int64(2)}, &sum); err != nil {
		t.Fatal(err)
	}
	first := onlyClientConn(t, c)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				var sum int64
				switch (g + i) % 4 {
				case 0, 1:
					if err := c.Call(ctx, "S.Add", []any{int64(i), int64(g)}, &sum); err != nil || sum != int64(i+g) {
						t.Errorf("Add: %d, %v", sum, err)
					}
				case 2:
					if err := c.Call(ctx, "S.Fail", nil); err == nil {
						t.Error("Fail returned no error")
					}
				case 3:
					// Ends by the caller's deadline, some as the reply comes.
					tctx, cancel := context.WithTimeout(ctx, time.Duration(i%3)*100*time.Microsecond)
					_ = c.Call(tctx, "S.Wait", nil)
					cancel()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s, err := c.OpenStream(ctx, "S.Count", 50)
			if err != nil {
				t.Error(err)
				return
			}
			var n int
			for s.Recv(&n) == nil {
			}
			s.Close()
		}
	})
	wg.Wait()
	cc := onlyClientConn(t, c)
	if cc != first {
		t.Fatal("the client redialled: the calls did not all ride one connection")
	}
	if n := cc.w.Expected(); n != 0 {
		t.Errorf("%d callers still awaited by the connection's writer after every call ended", n)
	}
}

// onlyClientConn returns the connection of c's only endpoint.
func onlyClientConn(t *testing.T, c *Client) *clientConn {
	t.Helper()
	eps := *c.all.Load()
	if len(eps) != 1 {
		t.Fatalf("the client has %d endpoints, want 1", len(eps))
	}
	ep := eps[0]
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.cur == nil {
		t.Fatal("the endpoint has no connection")
	}
	return ep.cur
}

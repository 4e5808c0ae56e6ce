package simplerpc_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// shareLimit is the limit of concurrent calls of the fair-share tests.
const shareLimit = 64

// waitActive waits up to 10 s for the server to run n calls at once, and
// reports whether it did.
func waitActive(ts *testServer, n int64) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if simplerpc.ActiveCalls(ts.srv) >= n {
			return true
		}
	}
	return false
}

// newcomerCalls makes calls from a fresh native connection that does not
// retry, and over JSON-RPC, and fails the test if any is refused.
func newcomerCalls(t *testing.T, ts *testServer) {
	t.Helper()
	fresh := dial(t, ts.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{}))
	hc := httpClient(t)
	for i := range 10 {
		var n int
		if err := fresh.Call(context.Background(), "Calc.Add", []any{i, 1}, &n); err != nil || n != i+1 {
			t.Fatalf("a fresh connection's call %d: %d, %v", i+1, n, err)
		}
		wantResult(t, "a JSON-RPC call", rpc(t, hc, "http://"+ts.addr, call("Calc.Add", "[40,2]", i)), "42")
	}
}

// TestConcurrentLimitHogAndNewcomer keeps the server at its limit of
// concurrent calls with short calls, refilled as they end: one hog
// connection running all it may (seven eighths of the limit), and small
// connections the rest. A newcomer's calls, from a fresh connection or
// over JSON-RPC, are admitted all the same — they wait for a slot to
// free, and those already running more than a few are refused meanwhile
// — and the server never runs more than its limit.
func TestConcurrentLimitHogAndNewcomer(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(shareLimit))
	var (
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		peak       atomic.Int64
		unexpected = make(chan error, 1)
	)
	// callers calls Sleep from n goroutines on a connection of its own,
	// again and again, taking a refusal for an answer.
	callers := func(n int) {
		c := dial(t, ts.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{}))
		for range n {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := c.Call(context.Background(), "Calc.Sleep", []any{10 * time.Millisecond})
					for p, n := peak.Load(), simplerpc.ActiveCalls(ts.srv); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					var e *simplerpc.Error
					if err != nil && (!errors.As(err, &e) || e.Code != simplerpc.CodeUnavailable) {
						select {
						case unexpected <- err:
						default:
						}
						return
					}
				}
			})
		}
	}
	callers(shareLimit) // the hog: it gets seven eighths
	callers(shareLimit/8 - 1)
	callers(1)
	defer func() {
		close(stop)
		wg.Wait()
	}()
	if !waitActive(ts, shareLimit) {
		t.Fatalf("at most %d calls ran at once; want the limit, %d", peak.Load(), shareLimit)
	}
	newcomerCalls(t, ts)
	select {
	case err := <-unexpected:
		t.Fatalf("a hog's call: %v", err)
	default:
	}
	if n := peak.Load(); n > shareLimit {
		t.Errorf("%d calls ran at once, over the limit of %d", n, shareLimit)
	}
}

// TestConcurrentLimitDetachedSessionsMakeRoom fills the server's limit
// of concurrent calls with calls that outlived their connection (a
// detached session, within its bound) and small connections: a
// newcomer's call is admitted, the detached session's calls being the
// first canceled to make room.
func TestConcurrentLimitDetachedSessionsMakeRoom(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(shareLimit))
	// A first call tells the server how small Sleep's replies are, so
	// that it reserves little for each of the calls below (a connection
	// may hold an eighth of the memory budget).
	if err := dial(t, ts.addr).Call(context.Background(), "Calc.Sleep", []any{time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// A session leaves half the limit — the most that may run for
	// detached sessions — running, and goes.
	left := rawSession(t, ts.addr, [16]byte{21})
	var out []byte
	for id := uint64(1); id <= shareLimit/2; id++ {
		out = append(out, callBytes(t, id, "Calc.Sleep", int64(time.Minute))...)
	}
	if _, err := left.Write(out); err != nil {
		t.Fatal(err)
	}
	if !waitActive(ts, shareLimit/2) {
		t.Fatalf("%d calls running; want %d", simplerpc.ActiveCalls(ts.srv), shareLimit/2)
	}
	left.Close()
	for deadline := time.Now().Add(5 * time.Second); simplerpc.OrphanCalls(ts.srv) < shareLimit/2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the session did not detach: %d calls outlive their connection", simplerpc.OrphanCalls(ts.srv))
		}
	}
	// Connections each running fewer than an eighth of the limit take
	// the rest, up to the limit: no call waits.
	for room := shareLimit / 2; room > 0; {
		k := min(room, shareLimit/8-1)
		nc := rawSession(t, ts.addr, [16]byte{}) // no session: its calls end with it
		out = out[:0]
		for id := uint64(1); id <= uint64(k); id++ {
			out = append(out, callBytes(t, id, "Calc.Sleep", int64(time.Minute))...)
		}
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		room -= k
		if !waitActive(ts, shareLimit-int64(room)) {
			t.Fatalf("%d calls running; want %d", simplerpc.ActiveCalls(ts.srv), shareLimit-room)
		}
	}
	if n := simplerpc.OrphanCalls(ts.srv); n != shareLimit/2 {
		t.Fatalf("%d calls outlive their connection; want %d", n, shareLimit/2)
	}
	newcomerCalls(t, ts)
	// Evicted, the session's calls are canceled; they return as they
	// notice, the first of them making the newcomer's room.
	for deadline := time.Now().Add(2 * time.Second); simplerpc.OrphanCalls(ts.srv) != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := simplerpc.OrphanCalls(ts.srv); n != 0 {
		t.Errorf("%d calls still run for the detached session: it was not evicted to make room", n)
	}
}

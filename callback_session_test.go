package simplerpc_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// Tally is a service that calls back many times and counts the answers
// it gets.
type Tally struct {
	answered atomic.Int64 // invocations whose right answer came back
	wrong    atomic.Int64 // answers that were not the func's for that argument
}

// Count calls f(i) for i in 0..n-1 from each of callers goroutines, each
// goroutine passing its own range, and returns how many answers came
// back right; f is to return 2i.
func (t *Tally) Count(ctx context.Context, callers, n int, f func(i int) (int, error)) (int, error) {
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := c * n; i < (c+1)*n; i++ {
				got, err := f(i)
				if err != nil {
					errs[c] = err
					return
				}
				if got != 2*i {
					t.wrong.Add(1)
					continue
				}
				t.answered.Add(1)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return int(t.answered.Load()), ctx.Err()
}

// runs counts how many times the client ran each argument.
type runs struct {
	mu sync.Mutex
	n  map[int]int
}

func (r *runs) add(i int) {
	r.mu.Lock()
	r.n[i]++
	r.mu.Unlock()
}

// check reports the arguments run other than once, of 0..total-1.
func (r *runs) check(t *testing.T, total int) (ran, duplicated, missing int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range total {
		switch c := r.n[i]; {
		case c == 0:
			missing++
		case c > 1:
			duplicated += c - 1
		}
		ran += r.n[i]
	}
	return ran, duplicated, missing
}

type tallyStub struct {
	Count func(ctx context.Context, callers, n int, f func(i int) (int, error)) (int, error)
}

// tallyThroughProxy serves Tally behind a fault proxy and binds a client
// that dials through it, counting its connections.
func tallyThroughProxy(t *testing.T, opts ...any) (*Tally, *faultproxy.Proxy, *tallyStub, *atomic.Int64) {
	t.Helper()
	var sopts []simplerpc.ServerOption
	copts := []simplerpc.ClientOption{simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 40, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})}
	for _, o := range opts {
		if so, ok := o.(simplerpc.ServerOption); ok {
			sopts = append(sopts, so)
		}
		if co, ok := o.(simplerpc.ClientOption); ok {
			copts = append(copts, co)
		}
	}
	ts := startServer(t, sopts...)
	tally := &Tally{}
	if err := ts.srv.Register("Tally", tally); err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var dials atomic.Int64
	copts = append(copts, simplerpc.WithDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}))
	var stub tallyStub
	if err := dial(t, proxy.Addr(), copts...).Bind("Tally", &stub); err != nil {
		t.Fatal(err)
	}
	return tally, proxy, &stub, &dials
}

// Over a session, callbacks in flight when the connection resets go on
// over the connection that resumes it: every invocation runs once on the
// client and is answered once on the server, through repeated resets,
// sequential and concurrent.
func TestCallbackResumesAcrossResets(t *testing.T) {
	for _, callers := range []int{1, 8} {
		tally, proxy, stub, dials := tallyThroughProxy(t)
		const per = 400
		total := callers * per
		r := &runs{n: map[int]int{}}
		var seen atomic.Int64
		resets := 0
		var resetMu sync.Mutex
		got, err := stub.Count(context.Background(), callers, per, func(i int) (int, error) {
			r.add(i)
			if n := seen.Add(1); n%100 == 0 && n < int64(total) {
				resetMu.Lock()
				if proxy.Reset() > 0 {
					resets++
				}
				resetMu.Unlock()
			}
			return 2 * i, nil
		})
		if err != nil {
			t.Fatalf("%d callers: %v", callers, err)
		}
		ran, dup, missing := r.check(t, total)
		if got != total || tally.wrong.Load() != 0 || dup != 0 || missing != 0 {
			t.Fatalf("%d callers: %d answered of %d (%d wrong); the client ran %d, %d twice, %d never",
				callers, got, total, tally.wrong.Load(), ran, dup, missing)
		}
		if resets < 2 || dials.Load() < 3 {
			t.Fatalf("%d callers: %d resets over %d connections: the fault did not happen", callers, resets, dials.Load())
		}
		t.Logf("%d callers: %d invocations, %d resets, %d connections: %d run, %d answered, 0 run twice, 0 lost",
			callers, total, resets, dials.Load(), ran, got)
	}
}

// Callbacks resume through links that drop or stall their bytes until the
// keepalive finds the connection dead.
func TestCallbackResumesThroughDropsAndStalls(t *testing.T) {
	keep := simplerpc.WithKeepalive(40*time.Millisecond, 120*time.Millisecond)
	for _, tc := range []struct {
		name  string
		fault func(p *faultproxy.Proxy)
		heal  func(p *faultproxy.Proxy)
	}{
		{"drop downstream", func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Downstream, true) }, func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Downstream, false) }},
		{"drop upstream", func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Upstream, true) }, func(p *faultproxy.Proxy) { p.SetDrop(faultproxy.Upstream, false) }},
		{"stall both", func(p *faultproxy.Proxy) { p.Stall(faultproxy.Both) }, func(p *faultproxy.Proxy) { p.Resume(faultproxy.Both) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tally, proxy, stub, dials := tallyThroughProxy(t, keep)
			const callers, per = 4, 200
			total := callers * per
			r := &runs{n: map[int]int{}}
			var seen atomic.Int64
			got, err := stub.Count(context.Background(), callers, per, func(i int) (int, error) {
				r.add(i)
				if seen.Add(1) == int64(total/2) {
					tc.fault(proxy)
					go func() {
						time.Sleep(400 * time.Millisecond) // the keepalive gives up on the connection
						tc.heal(proxy)
					}()
				}
				return 2 * i, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ran, dup, missing := r.check(t, total)
			if got != total || tally.wrong.Load() != 0 || dup != 0 || missing != 0 {
				t.Fatalf("%d answered of %d (%d wrong); the client ran %d, %d twice, %d never", got, total, tally.wrong.Load(), ran, dup, missing)
			}
			if dials.Load() < 2 {
				t.Fatalf("%d connections: the fault broke none", dials.Load())
			}
			t.Logf("%s: %d invocations over %d connections: %d run, %d answered, 0 run twice, 0 lost", tc.name, total, dials.Load(), ran, got)
		})
	}
}

package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// countingServer is a server that counts the calls it runs.
type countingServer struct {
	*testServer
	hits atomic.Int64
}

func startCounting(t *testing.T) *countingServer {
	t.Helper()
	cs := &countingServer{testServer: startServer(t)}
	if err := cs.srv.RegisterFunc("hit", func(n int) int {
		cs.hits.Add(1)
		time.Sleep(100 * time.Microsecond)
		return n + 1
	}); err != nil {
		t.Fatal(err)
	}
	return cs
}

// load makes calls from several goroutines until stop, counting failures.
func load(c *simplerpc.Client, workers int, stop <-chan struct{}) (calls, failed *atomic.Int64, wait func(), errs *sync.Map) {
	calls, failed, errs = new(atomic.Int64), new(atomic.Int64), new(sync.Map)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var got int
				err := c.Call(context.Background(), "hit", []any{w*1_000_000 + i}, &got)
				calls.Add(1)
				if err != nil || got != w*1_000_000+i+1 {
					failed.Add(1)
					errs.Store(fmt.Sprint(err), true)
				}
			}
		})
	}
	return calls, failed, wg.Wait, errs
}

func TestStaticTargetSpreadsCallsEvenly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer simplerpc.Balancer
	}{{"least loaded of two", nil}, {"round robin", simplerpc.RoundRobin()}} {
		t.Run(tc.name, func(t *testing.T) {
			servers := []*countingServer{startCounting(t), startCounting(t), startCounting(t)}
			addrs := make([]string, len(servers))
			for i, s := range servers {
				addrs[i] = s.addr
			}
			opts := []simplerpc.ClientOption{}
			if tc.balancer != nil {
				opts = append(opts, simplerpc.WithBalancer(tc.balancer))
			}
			c := dial(t, "static:///"+strings.Join(addrs, ","), opts...)
			waitHealthy(t, c, 3)
			stop := make(chan struct{})
			calls, failed, wait, _ := load(c, 16, stop)
			time.Sleep(500 * time.Millisecond)
			close(stop)
			wait()
			if failed.Load() > 0 {
				t.Fatalf("%d of %d calls failed", failed.Load(), calls.Load())
			}
			fair := float64(calls.Load()) / 3
			for i, s := range servers {
				if got := float64(s.hits.Load()); got > 1.2*fair {
					t.Errorf("server %d got %.0f calls, over 1.2× its fair share %.0f", i, got, fair)
				}
			}
		})
	}
}

// waitHealthy waits until n endpoints are healthy.
func waitHealthy(t *testing.T, c *simplerpc.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		healthy := 0
		for _, e := range c.Endpoints() {
			if e.Healthy {
				healthy++
			}
		}
		if healthy == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d endpoints healthy, want %d: %+v", healthy, n, c.Endpoints())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGracefulLeaveLosesNoCall(t *testing.T) {
	a, b := startCounting(t), startCounting(t)
	c := dial(t, "static:///"+a.addr+","+b.addr)
	waitHealthy(t, c, 2)
	stop := make(chan struct{})
	calls, failed, wait, errs := load(c, 8, stop)
	time.Sleep(100 * time.Millisecond)
	if err := a.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := a.hits.Load()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wait()
	if failed.Load() > 0 {
		errs.Range(func(k, _ any) bool { t.Log(k); return true })
		t.Fatalf("%d of %d calls failed while a server left gracefully", failed.Load(), calls.Load())
	}
	if a.hits.Load() != before {
		t.Errorf("the server that left ran %d calls after Shutdown returned", a.hits.Load()-before)
	}
	for _, e := range c.Endpoints() {
		if e.Addr == a.addr && e.Healthy {
			t.Errorf("the departed server is still marked healthy")
		}
	}
}

func TestHardKillFailsOverToLiveServers(t *testing.T) {
	a, b := startCounting(t), startCounting(t)
	c := dial(t, "static:///"+a.addr+","+b.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}))
	waitHealthy(t, c, 2)
	stop := make(chan struct{})
	calls, failed, wait, errs := load(c, 8, stop)
	time.Sleep(100 * time.Millisecond)
	a.srv.Close() // hard: calls in flight on it may or may not have run
	killed := time.Now()
	time.Sleep(300 * time.Millisecond)
	afterKill := b.hits.Load()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wait()
	// Only calls in flight on the killed server may fail, and only as
	// connection_lost: it may or may not have run them.
	errs.Range(func(k, _ any) bool {
		if !strings.Contains(k.(string), "connection_lost") {
			t.Errorf("unexpected failure after a hard kill: %s", k)
		}
		return true
	})
	if failed.Load() > 8 {
		t.Errorf("%d calls failed; at most the 8 in flight on the killed server may", failed.Load())
	}
	if b.hits.Load() <= afterKill {
		t.Error("the live server stopped receiving calls")
	}
	t.Logf("%d calls, %d lost to the hard kill, failover within %v", calls.Load(), failed.Load(), time.Since(killed))
}

func TestDNSTargetFollowsChangingAnswers(t *testing.T) {
	a, b := startCounting(t), startCounting(t)
	// One name, one port, as in a cluster: the injected lookup answers
	// with made-up IPs, and the dialer routes each to a real server.
	var answer atomic.Value
	answer.Store([]string{"10.0.0.1"})
	route := map[string]string{"10.0.0.1:9000": a.addr, "10.0.0.2:9000": b.addr}
	r := &simplerpc.DNSResolver{
		Interval: 20 * time.Millisecond,
		LookupHost: func(ctx context.Context, host string) ([]string, error) {
			if host != "calc.default.svc.cluster.local" {
				return nil, errors.New("no such host")
			}
			return answer.Load().([]string), nil
		},
	}
	c := dial(t, "dns:///calc.default.svc.cluster.local:9000", simplerpc.WithResolver(r),
		simplerpc.WithDialer(func(ctx context.Context, addr string) (netConn, error) { return dialRoute(ctx, route, addr) }))
	waitAddrs(t, c, "10.0.0.1:9000")
	answer.Store([]string{"10.0.0.1", "10.0.0.2"})
	waitAddrs(t, c, "10.0.0.1:9000", "10.0.0.2:9000")
	waitHealthy(t, c, 2)
	answer.Store([]string{"10.0.0.2"})
	waitAddrs(t, c, "10.0.0.2:9000")
	before := a.hits.Load()
	var got int
	for i := range 20 {
		if err := c.Call(context.Background(), "hit", []any{i}, &got); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != before {
		t.Error("calls went to a server the name no longer resolves to")
	}
}

// waitAddrs waits until the client's endpoints are exactly want.
func waitAddrs(t *testing.T, c *simplerpc.Client, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []string
		for _, e := range c.Endpoints() {
			got = append(got, e.Addr)
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoints %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTargetErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	for _, target := range []string{"static:///", "static:///nonsense", "dns:///no-port"} {
		if _, err := simplerpc.Dial(ctx, target); err == nil {
			t.Errorf("Dial(%q) succeeded", target)
		}
	}
}

package etcd_test

import (
	"slices"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// TestClusterJoinLeaveAndCrash runs a client under steady load while
// servers come and go through etcd: three serve, a fourth joins, one
// leaves gracefully and one crashes. Every call must return once, with
// the right result or — only for calls in flight on the crashed server —
// connection_lost; none may run twice; and the client must end up with
// exactly the live servers.
func TestClusterJoinLeaveAndCrash(t *testing.T) {
	const ttl = 2 * time.Second // the crashed server's key outlives it by at most this
	const workers = 12
	e := startEtcd(t)
	led := newLedger()
	nodes := []*node{startNode(t, e, 0, led, ttl), startNode(t, e, 1, led, ttl), startNode(t, e, 2, led, ttl)}
	c := dialCalc(t, e.client(t))
	waitFor(t, 5*time.Second, "three healthy endpoints", func() bool {
		addrs, ok := healthyAddrs(c)
		return ok && len(addrs) == 3
	})
	load := startLoad(c, workers)
	defer load.finish()

	// Uniform load: no server gets more than 1.2× its fair share.
	time.Sleep(100 * time.Millisecond)
	before := hitsOf(nodes)
	time.Sleep(time.Second)
	spread := minus(hitsOf(nodes), before)
	checkFair(t, spread)

	// A fourth server joins and gets calls within a second.
	nodes = append(nodes, startNode(t, e, 3, led, ttl))
	for nodes[3].hits.Load() == 0 {
		if time.Since(nodes[3].joined) > time.Second {
			t.Fatal("the server that joined got no call within a second")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("spread over 3 servers %v; the 4th got its first call %v after registering", spread, time.Since(nodes[3].joined).Round(time.Millisecond))

	// One leaves gracefully, mid-load: it runs nothing after Shutdown.
	time.Sleep(200 * time.Millisecond)
	nodes[0].leave(t)
	ranBeforeLeaving := nodes[0].hits.Load()

	// One crashes: its key stays until the lease runs out.
	time.Sleep(200 * time.Millisecond)
	nodes[1].kill()
	killed := time.Now()
	live := []string{nodes[2].addr, nodes[3].addr}
	slices.Sort(live)
	gone := waitFor(t, 3*ttl, "the client never settled on the live servers", func() bool {
		addrs, ok := healthyAddrs(c)
		return ok && slices.Equal(addrs, live)
	})
	t.Logf("client down to the live servers %v after the crash", gone.Round(time.Millisecond))
	liveBefore := nodes[2].hits.Load() + nodes[3].hits.Load()
	time.Sleep(300 * time.Millisecond)
	load.finish()
	if nodes[2].hits.Load()+nodes[3].hits.Load() <= liveBefore {
		t.Error("the live servers stopped getting calls")
	}

	if n := nodes[0].hits.Load(); n != ranBeforeLeaving {
		t.Errorf("the server that left ran %d calls after its Shutdown returned", n-ranBeforeLeaving)
	}
	checkOutcomes(t, load, led, nodes[1].id, workers)
	t.Logf("%d calls, %d lost with the crashed server (crash at +%v)", load.calls.Load(), len(load.failed), time.Since(killed).Round(time.Millisecond))
}

// checkOutcomes checks that every successful call ran exactly once, and
// that the only failures are connection_lost for calls that no live
// server ran — at most one per worker, the calls in flight on the crashed
// server.
func checkOutcomes(t *testing.T, load *loadGen, led *ledger, crashed, workers int) {
	t.Helper()
	for _, w := range load.wrong {
		t.Errorf("wrong result: %s", w)
	}
	failed := make(map[string]bool)
	for _, f := range load.failed {
		failed[f.token] = true
		ran := led.ranOn(f.token)
		switch {
		case !isCode(f.err, simplerpc.CodeConnectionLost):
			t.Errorf("call %s failed with %v; only connection_lost is allowed, for calls in flight on the crashed server", f.token, f.err)
		case len(ran) > 1 || len(ran) == 1 && ran[0] != crashed:
			t.Errorf("call %s failed with connection_lost but ran on nodes %v", f.token, ran)
		}
	}
	if len(load.failed) > workers {
		t.Errorf("%d calls failed; at most the %d in flight on the crashed server may", len(load.failed), workers)
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	for token, ran := range led.runs {
		if len(ran) > 1 {
			t.Errorf("call %s ran %d times, on nodes %v", token, len(ran), ran)
		}
	}
	if ok := int(load.calls.Load()) - len(load.failed); len(led.runs) < ok {
		t.Errorf("%d calls succeeded but only %d ran", ok, len(led.runs))
	}
}

func hitsOf(nodes []*node) []int64 {
	out := make([]int64, len(nodes))
	for i, n := range nodes {
		out[i] = n.hits.Load()
	}
	return out
}

func minus(a, b []int64) []int64 {
	out := make([]int64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// checkFair fails if any server ran more than 1.2× its fair share.
func checkFair(t *testing.T, hits []int64) {
	t.Helper()
	var total int64
	for _, h := range hits {
		total += h
	}
	fair := float64(total) / float64(len(hits))
	if total < 100 {
		t.Fatalf("only %d calls ran in the fairness window: %v", total, hits)
	}
	for i, h := range hits {
		if float64(h) > 1.2*fair {
			t.Errorf("server %d ran %d calls, over 1.2× its fair share %.0f (all: %v)", i, h, fair, hits)
		}
	}
}

package reliability_test

import (
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// faultCase is one fault injected under load.
type faultCase struct {
	name    string
	direct  bool          // clients dial the server itself, not the proxy
	timeout time.Duration // each call's deadline
	// allowed are the codes a call may fail with under this fault; a
	// call not in the fault's way must succeed.
	allowed codes
	// mustSee is a code the fault cannot fail to cause at least once (0:
	// none): proof that the fault hit calls in flight.
	mustSee simplerpc.Code
	// inject runs the fault while the load runs, and heals it.
	inject func(b *faultBench)
	// Options of the server and the clients, besides the defaults.
	serverOpts []simplerpc.ServerOption
	clientOpts []simplerpc.ClientOption
}

// faultBench is what a fault acts on.
type faultBench struct {
	srv   *rpcServer
	proxy *faultproxy.Proxy
}

const (
	lost     = simplerpc.CodeConnectionLost
	notRun   = simplerpc.CodeUnavailable
	deadline = simplerpc.CodeDeadlineExceeded
)

// fastKeepalive detects a dead peer within about 300 ms.
var fastKeepalive = simplerpc.WithKeepalive(100*time.Millisecond, 200*time.Millisecond)

// faultCases are the faults of TestFaults. Resumable sessions (on by
// default) make a network blip invisible: the client reconnects and
// re-sends its calls in flight, the server answers each from memory or
// runs it if it never got it. So under a blip every call must succeed and
// run exactly once; only deadlines that pass during the fault, and a
// server that really restarted, may fail calls.
var faultCases = []faultCase{
	{name: "none (through the proxy)", timeout: 5 * time.Second,
		inject: func(b *faultBench) { time.Sleep(300 * time.Millisecond) }},
	{name: "delay 25 ms each way", timeout: 5 * time.Second,
		inject: func(b *faultBench) {
			b.proxy.SetDelay(faultproxy.Both, 25*time.Millisecond)
			time.Sleep(400 * time.Millisecond)
			b.proxy.SetDelay(faultproxy.Both, 0)
		}},
	{name: "stall upstream 300 ms", timeout: 5 * time.Second,
		inject: func(b *faultBench) { stall(b, faultproxy.Upstream, 300*time.Millisecond) }},
	{name: "stall downstream 300 ms", timeout: 5 * time.Second,
		inject: func(b *faultBench) { stall(b, faultproxy.Downstream, 300*time.Millisecond) }},
	{name: "stall both ways 1 s, past 400 ms deadlines", timeout: 400 * time.Millisecond,
		allowed: codes{deadline}, mustSee: deadline,
		inject: func(b *faultBench) { stall(b, faultproxy.Both, time.Second) }},
	{name: "drop upstream 600 ms, then reset", timeout: 400 * time.Millisecond,
		allowed: codes{deadline}, mustSee: deadline,
		inject: func(b *faultBench) { dropThenReset(b, faultproxy.Upstream, 600*time.Millisecond) }},
	{name: "drop downstream 600 ms, then reset", timeout: 400 * time.Millisecond,
		allowed: codes{deadline}, mustSee: deadline,
		inject: func(b *faultBench) { dropThenReset(b, faultproxy.Downstream, 600*time.Millisecond) }},
	{name: "truncate upstream, 3 times", timeout: 5 * time.Second,
		inject: func(b *faultBench) { truncate(b, faultproxy.Upstream) }},
	{name: "truncate downstream, 3 times", timeout: 5 * time.Second,
		inject: func(b *faultBench) { truncate(b, faultproxy.Downstream) }},
	{name: "reset every connection, 3 times", timeout: 5 * time.Second,
		inject: resetThrice},
	{name: "reset every connection, 3 times, sessions off", timeout: 5 * time.Second,
		clientOpts: []simplerpc.ClientOption{simplerpc.WithResumableSessions(false)},
		allowed:    codes{lost, notRun}, mustSee: lost,
		inject: resetThrice},
	{name: "reset, then blackhole 500 ms", timeout: 400 * time.Millisecond,
		allowed: codes{deadline, notRun}, mustSee: deadline,
		inject: func(b *faultBench) {
			b.proxy.SetBlackhole(true)
			b.proxy.Reset()
			time.Sleep(500 * time.Millisecond)
			b.proxy.SetBlackhole(false)
		}},
	{name: "half-open connections, keepalive 100+200 ms", timeout: 5 * time.Second,
		serverOpts: []simplerpc.ServerOption{fastKeepalive}, clientOpts: []simplerpc.ClientOption{fastKeepalive},
		inject: func(b *faultBench) {
			b.proxy.Silence()
			time.Sleep(time.Second)
		}},
	{name: "half-open connections, keepalive off", timeout: time.Second,
		clientOpts: []simplerpc.ClientOption{simplerpc.WithKeepalive(0, 0)},
		allowed:    codes{deadline}, mustSee: deadline,
		inject: func(b *faultBench) {
			b.proxy.Silence()
			time.Sleep(1500 * time.Millisecond)
		}},
	{name: "server killed, restarted 100 ms later", direct: true, timeout: 5 * time.Second,
		allowed: codes{lost, notRun}, mustSee: lost,
		inject: func(b *faultBench) {
			b.srv.kill()
			time.Sleep(100 * time.Millisecond)
			b.srv.restart()
		}},
	{name: "server shut down gracefully, restarted", direct: true, timeout: 5 * time.Second,
		inject: func(b *faultBench) {
			b.srv.shutdown()
			b.srv.restart()
		}},
}

func resetThrice(b *faultBench) {
	for range 3 {
		b.proxy.Reset()
		time.Sleep(100 * time.Millisecond)
	}
}

func stall(b *faultBench, dir faultproxy.Direction, d time.Duration) {
	b.proxy.Stall(dir)
	time.Sleep(d)
	b.proxy.Resume(dir)
}

// dropThenReset drops a direction for d. Bytes dropped mid-frame leave
// the stream unusable, so the connections are reset afterwards.
func dropThenReset(b *faultBench, dir faultproxy.Direction, d time.Duration) {
	b.proxy.SetDrop(dir, true)
	time.Sleep(d)
	b.proxy.SetDrop(dir, false)
	b.proxy.Reset()
}

func truncate(b *faultBench, dir faultproxy.Direction) {
	for range 3 {
		b.proxy.TruncateNext(dir, 7)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFaults runs each fault under load and accounts for every call.
func TestFaults(t *testing.T) {
	for _, fc := range faultCases {
		t.Run(fc.name, func(t *testing.T) {
			base := takeBaseline()
			sampler := startPeakSampler(20 * time.Millisecond)
			tl := runFault(t, fc)
			peak := sampler.close()
			after := base.check(t, fc.name, 4<<20)
			results.addMemory(memoryRow{test: "fault: " + fc.name, baseline: base.heap, peak: peak, settled: after})
			results.addFault(faultRow{fault: fc.name, deadline: fc.timeout, calls: tl})
		})
	}
}

// runFault runs one fault case under load, tears everything down and
// returns the verdict on its calls.
func runFault(t *testing.T, fc faultCase) tally {
	srv := startServer(t, fc.serverOpts...)
	proxy, err := faultproxy.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	addr := proxy.Addr()
	if fc.direct {
		addr = srv.addr
	}
	clients := make([]*simplerpc.Client, 4)
	for i := range clients {
		clients[i] = dial(t, addr, append([]simplerpc.ClientOption{patientRetry()}, fc.clientOpts...)...)
	}
	log := newCallLog()
	w := startWorkload("f", log, clients, 8, fc.timeout, 20)
	time.Sleep(250 * time.Millisecond)
	fc.inject(&faultBench{srv: srv, proxy: proxy})
	time.Sleep(250 * time.Millisecond)
	stuck := w.finish(fc.timeout + 10*time.Second)
	for _, c := range clients {
		c.Close()
	}
	// A graceful shutdown waits for every call the server accepted, so
	// the ledger is complete.
	srv.shutdown()
	proxy.Close()

	tl := judge(log.take(""), srv.ledger.take(""), fc.allowed)
	if stuck > 0 {
		t.Errorf("%d calls had not returned %v after the load stopped", stuck, fc.timeout+10*time.Second)
	}
	if !tl.ok() {
		t.Errorf("%d calls: %d wrong, %d lost, %d run twice, %d run but never called; outcomes: %s", tl.Calls, tl.Wrong, tl.Lost, tl.RunTwice, tl.Phantom, tl.outcomeList())
		for _, p := range tl.Problems {
			t.Log(p)
		}
	}
	if fc.mustSee != 0 && tl.Outcomes[fc.mustSee.String()] == 0 {
		t.Errorf("the fault never caused %s; outcomes: %s", fc.mustSee, tl.outcomeList())
	}
	if tl.RightResults == 0 {
		t.Errorf("no call succeeded; outcomes: %s", tl.outcomeList())
	}
	t.Logf("%d calls: %s", tl.Calls, tl.outcomeList())
	return tl
}

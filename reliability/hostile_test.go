package reliability_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// hostileCase is one hostile input sent to a live server.
type hostileCase struct {
	name string
	// limit bounds the time from the start of the input to the server's
	// answer or close (default 5s).
	limit time.Duration
	// run sends the input and says what the server did and how long it
	// took from the start of the input; an error means the server did
	// not answer as it must.
	run func(h *hostileBench) (outcome string, took time.Duration, err error)
}

// hostileBench is the server under attack and its limits.
type hostileBench struct {
	addr   string
	ledger *ledger
}

// Limits of the server under attack.
const (
	hostileMaxMessage = 1 << 20
	hostileHandshake  = time.Second
	hostileWrite      = time.Second
	// The server pings a connection silent for hostileKeepalive and
	// closes it if nothing comes back within as long again.
	hostileKeepalive = 500 * time.Millisecond
	// hostileHeapBound is how far above its baseline the heap in use may
	// rise while a hostile input is handled.
	hostileHeapBound = 64 << 20
)

// TestHostile sends each hostile input to a live server while a
// well-behaved client keeps calling it, and checks that the input gets a
// clear error or a closed connection in bounded time, that memory stays
// bounded, and that the well-behaved client's calls all succeed.
func TestHostile(t *testing.T) {
	base := takeBaseline()
	peak := runHostile(t, base.heap, append(append([]hostileCase(nil), nativeCases...), httpCases...))
	after := base.check(t, "hostile input", 8<<20)
	results.addMemory(memoryRow{test: "hostile input", baseline: base.heap, peak: peak, settled: after})
}

func runHostile(t *testing.T, baseHeap uint64, cases []hostileCase) uint64 {
	logs := newLogRing(200)
	srv := startServer(t, simplerpc.WithMaxMessageSize(hostileMaxMessage),
		simplerpc.WithHandshakeTimeout(hostileHandshake), simplerpc.WithWriteTimeout(hostileWrite),
		simplerpc.WithKeepalive(hostileKeepalive, hostileKeepalive), simplerpc.WithLogger(logs.logger()))
	good := dial(t, srv.addr, simplerpc.WithLogger(logs.logger()))
	defer func() {
		if t.Failed() {
			t.Logf("the last lines the server and the well-behaved client logged:\n%s", logs)
		}
	}()
	gc := startGoodCaller(good)
	sampler := startPeakSampler(5 * time.Millisecond)
	h := &hostileBench{addr: srv.addr, ledger: srv.ledger}
	for _, hc := range cases {
		t.Run(hc.name, func(t *testing.T) {
			// Collect what earlier cases left, so the peak is this case's.
			runtime.GC()
			sampler.restart()
			ok0, fail0 := gc.counts()
			outcome, took, err := hc.run(h)
			if err != nil {
				t.Errorf("%s: %v", outcome, err)
			}
			limit := hc.limit
			if limit == 0 {
				limit = 5 * time.Second
			}
			if took > limit {
				t.Errorf("%s after %v, more than %v", outcome, took, limit)
			}
			// The well-behaved client still gets through.
			if err := callDo(good, gc.log, fmt.Sprintf("g/after/%s", hc.name), 0, 10*time.Second); err != nil {
				t.Errorf("a well-behaved call after the input failed: %v", err)
			}
			ok1, fail1 := gc.counts()
			peak := sampler.peak.Load()
			if peak > baseHeap+hostileHeapBound {
				t.Errorf("heap in use rose to %s, baseline %s", mib(peak), mib(baseHeap))
			}
			t.Logf("%s in %v; well-behaved calls meanwhile: %d ok, %d failed", outcome, took, ok1-ok0, fail1-fail0)
			results.addHostile(hostileRow{input: hc.name, outcome: outcome, took: took, goodCalls: int(ok1 - ok0 + fail1 - fail0), goodFails: int(fail1 - fail0), peak: peak})
		})
	}
	gc.stop()
	peak := sampler.close()
	good.Close()
	srv.shutdown()
	tl := judge(gc.log.take("g/"), srv.ledger.take("g/"), nil)
	if !tl.ok() || tl.RightResults != tl.Calls {
		t.Errorf("well-behaved client: %d calls, outcomes %s", tl.Calls, tl.outcomeList())
		for _, p := range tl.Problems {
			t.Log(p)
		}
	}
	return peak
}

// goodCaller is a well-behaved client calling in a loop.
type goodCaller struct {
	c        *simplerpc.Client
	log      *callLog
	ok, fail atomic.Int64
	stopCh   chan struct{}
	wg       sync.WaitGroup
}

func startGoodCaller(c *simplerpc.Client) *goodCaller {
	g := &goodCaller{c: c, log: newCallLog(), stopCh: make(chan struct{})}
	g.wg.Go(func() {
		for seq := 0; ; seq++ {
			select {
			case <-g.stopCh:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if err := callDo(c, g.log, fmt.Sprintf("g/%d", seq), 0, 10*time.Second); err != nil {
				g.fail.Add(1)
			} else {
				g.ok.Add(1)
			}
		}
	})
	return g
}

func (g *goodCaller) counts() (ok, fail int64) { return g.ok.Load(), g.fail.Load() }

func (g *goodCaller) stop() {
	close(g.stopCh)
	g.wg.Wait()
}

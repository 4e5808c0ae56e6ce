package reliability_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/faultproxy"
)

// Timing of the soak test.
const (
	soakSample = 5 * time.Second  // memory is sampled and printed this often
	soakFault  = 10 * time.Second // a network blip is injected this often
	soakEpoch  = 10 * time.Second // calls are judged in batches this long
)

// soakBlips are the faults the soak test injects in turn; with resumable
// sessions and keepalive, none may fail a call.
var soakBlips = []struct {
	name string
	do   func(p *faultproxy.Proxy)
}{
	{"reset", func(p *faultproxy.Proxy) { p.Reset() }},
	{"truncate upstream", func(p *faultproxy.Proxy) { p.TruncateNext(faultproxy.Upstream, 7) }},
	{"truncate downstream", func(p *faultproxy.Proxy) { p.TruncateNext(faultproxy.Downstream, 7) }},
	{"stall 300 ms", func(p *faultproxy.Proxy) {
		p.Stall(faultproxy.Both)
		time.Sleep(300 * time.Millisecond)
		p.Resume(faultproxy.Both)
	}},
	{"half-open", func(p *faultproxy.Proxy) { p.Silence() }},
	{"delay 25 ms for 1 s", func(p *faultproxy.Proxy) {
		p.SetDelay(faultproxy.Both, 25*time.Millisecond)
		time.Sleep(time.Second)
		p.SetDelay(faultproxy.Both, 0)
	}},
}

// TestSoak runs a load through the fault proxy for -soak, injecting a
// blip every 10 s and printing the heap in use and the goroutine count
// every 5 s, and checks that no call fails, none runs twice, and that
// memory and goroutines come back to their baseline. The heap printed
// includes the test's own record of the last 20 to 30 s of calls, judged
// and dropped every 10 s. It runs only when -soak is given.
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("run with -args -soak=5m")
	}
	base := takeBaseline()
	srv := startServer(t, fastKeepalive)
	proxy, err := faultproxy.New(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var clients []*simplerpc.Client
	for i := range 16 {
		addr := srv.addr
		if i%2 == 0 {
			addr = proxy.Addr()
		}
		clients = append(clients, dial(t, addr, patientRetry(), fastKeepalive))
	}
	log := newCallLog()
	w := startWorkload("s", log, clients, 4, 5*time.Second, 20)
	var total tally
	judgeEpoch := func(e int64) {
		prefix := fmt.Sprintf("s%d/", e)
		total.add(judge(log.take(prefix), srv.ledger.take(prefix), nil))
	}

	start := time.Now()
	sample, fault, epoch := time.NewTicker(soakSample), time.NewTicker(soakFault), time.NewTicker(soakEpoch)
	defer sample.Stop()
	defer fault.Stop()
	defer epoch.Stop()
	blip := 0
	for time.Since(start) < *soakFor {
		select {
		case <-sample.C:
			heap := settledHeap()
			line := fmt.Sprintf("%6s  heap in use %9s  goroutines %5d  calls judged %8d  failed %d  run twice %d",
				time.Since(start).Round(time.Second), mib(heap), runtime.NumGoroutine(), total.Calls, total.Calls-total.RightResults, total.RunTwice)
			t.Log(line)
			results.addSoak(line)
		case <-fault.C:
			b := soakBlips[blip%len(soakBlips)]
			blip++
			b.do(proxy)
		case <-epoch.C:
			// Calls of two epochs ago have all returned and run.
			if e := w.epoch.Add(1); e >= 2 {
				judgeEpoch(e - 2)
			}
		}
	}
	stuck := w.finish(20 * time.Second)
	closeAll(clients)
	srv.shutdown()
	proxy.Close()
	for e := max(w.epoch.Load()-1, 0); e <= w.epoch.Load(); e++ {
		judgeEpoch(e)
	}
	summary := fmt.Sprintf("%v, %d blips: %d calls, %d failed, %d lost, %d run twice; outcomes: %s",
		*soakFor, blip, total.Calls, total.Calls-total.RightResults, total.Lost, total.RunTwice, total.outcomeList())
	t.Log(summary)
	results.addSoak(summary)
	if stuck > 0 || !total.ok() || total.RightResults != total.Calls {
		t.Errorf("soak: %s", summary)
		for _, p := range total.Problems {
			t.Log(p)
		}
	}
	after := base.check(t, "soak", 8<<20)
	results.addSoak(fmt.Sprintf("after the soak: heap in use %s, baseline %s", mib(after), mib(base.heap)))
}

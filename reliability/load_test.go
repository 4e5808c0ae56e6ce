package reliability_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// TestLoad holds -load.clients clients, each with its own connection,
// calling without pause for -load.duration, and expects every call to
// succeed, run once, and memory to come back afterwards.
func TestLoad(t *testing.T) {
	base := takeBaseline()
	tl, peak := runLoad(t, *loadClients, *loadFor)
	// The runtime keeps the descriptors of ended goroutines for reuse,
	// about 3 KiB per client (six goroutines between both ends): not a
	// leak, but heap in use all the same.
	after := base.check(t, "load", 4<<20+uint64(*loadClients)*4<<10)
	results.addMemory(memoryRow{test: "load", baseline: base.heap, peak: peak, settled: after})
	results.addLoad(loadRow{clients: *loadClients, duration: *loadFor, calls: tl})
}

func runLoad(t *testing.T, n int, d time.Duration) (tally, uint64) {
	srv := startServer(t)
	clients, err := dialMany(srv.addr, n)
	defer closeAll(clients)
	if err != nil {
		t.Fatal(err)
	}
	sampler := startPeakSampler(50 * time.Millisecond)
	log := newCallLog()
	w := startWorkload("l", log, clients, 1, 10*time.Second, 0)
	time.Sleep(d)
	stuck := w.finish(30 * time.Second)
	peak := sampler.close()
	closeAll(clients)
	srv.shutdown()

	tl := judge(log.take(""), srv.ledger.take(""), nil)
	if stuck > 0 {
		t.Errorf("%d calls had not returned 30s after the load stopped", stuck)
	}
	if !tl.ok() || tl.RightResults != tl.Calls {
		t.Errorf("%d calls, %d failed: %d wrong, %d lost, %d run twice; outcomes: %s", tl.Calls, tl.Calls-tl.RightResults, tl.Wrong, tl.Lost, tl.RunTwice, tl.outcomeList())
		for _, p := range tl.Problems {
			t.Log(p)
		}
	}
	t.Logf("%d clients for %v: %d calls (%.0f/s), outcomes: %s", n, d, tl.Calls, float64(tl.Calls)/d.Seconds(), tl.outcomeList())
	return tl, peak
}

// dialMany dials n clients to addr, each with its own connection, a few
// at a time. On failure it returns the clients it could dial, and the
// first error.
func dialMany(addr string, n int) ([]*simplerpc.Client, error) {
	clients := make([]*simplerpc.Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			clients[i], errs[i] = dialErr(addr)
		})
	}
	wg.Wait()
	return clients, errors.Join(errs...)
}

// closeAll closes the clients, a few at a time.
func closeAll(clients []*simplerpc.Client) {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, c := range clients {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.Close()
		})
	}
	wg.Wait()
}

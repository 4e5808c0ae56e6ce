package reliability_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// settledHeap returns the bytes of heap in use after full collections.
func settledHeap() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// memBaseline is the state memory must return to after a test.
type memBaseline struct {
	heap       uint64
	goroutines int
}

func takeBaseline() memBaseline {
	return memBaseline{heap: settledHeap(), goroutines: runtime.NumGoroutine()}
}

// check waits for the goroutines a test started to end, then fails t if
// the heap in use has not come back to within margin of the baseline. It
// returns the heap in use after the test.
func (b memBaseline) check(t testing.TB, what string, margin uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > b.goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	after := settledHeap()
	for after > b.heap+margin && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // timers and pools let go late
		after = settledHeap()
	}
	if after > b.heap+margin {
		t.Errorf("%s: heap in use %s after, baseline %s: more than %s above it", what, mib(after), mib(b.heap), mib(margin))
	}
	return after
}

// peakSampler samples the heap in use every few milliseconds and keeps
// the highest value.
type peakSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startPeakSampler(every time.Duration) *peakSampler {
	p := &peakSampler{stop: make(chan struct{})}
	p.sample()
	p.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.sample()
			}
		}
	})
	return p
}

func (p *peakSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for {
		old := p.peak.Load()
		if ms.HeapInuse <= old || p.peak.CompareAndSwap(old, ms.HeapInuse) {
			return
		}
	}
}

// restart clears the peak, returning the old one.
func (p *peakSampler) restart() uint64 {
	old := p.peak.Swap(0)
	p.sample()
	return old
}

func (p *peakSampler) close() uint64 {
	close(p.stop)
	p.wg.Wait()
	return p.peak.Load()
}

// mib renders a byte count in MiB.
func mib(n uint64) string {
	return formatFloat(float64(n)/(1<<20), 1) + " MiB"
}

package simplerpc_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Pinger calls its callbacks, for the callback benchmarks.
type Pinger struct{}

// Loop calls f n times in a row and returns how long each invocation
// took, server → client → server, in nanoseconds.
func (Pinger) Loop(n int, f func(int) (int, error)) ([]int64, error) {
	ds := make([]int64, n)
	for i := range n {
		start := time.Now()
		if _, err := f(i); err != nil {
			return nil, err
		}
		ds[i] = int64(time.Since(start))
	}
	return ds, nil
}

// Flood calls f per times from each of callers goroutines at once.
func (Pinger) Flood(callers, per int, f func(int) (int, error)) error {
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := 0; i < per && errs[c] == nil; i++ {
				_, errs[c] = f(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func startPingerB(b *testing.B) *simplerpc.Client {
	srv := simplerpc.NewServer(simplerpc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := srv.Register("Calc", &Calc{}); err != nil {
		b.Fatal(err)
	}
	if err := srv.Register("Pinger", Pinger{}); err != nil {
		b.Fatal(err)
	}
	return dialB(b, serveB(b, srv))
}

// BenchmarkCallbackRoundTrip measures a callback's round trip (server →
// client → server, timed on the server) beside a unary Add's (client →
// server → client, timed on the client) in the same run, in alternating
// runs of 100 of each; an op is one of each. It reports each one's
// median and their ratio, and, where the system tells (Linux), the
// process's voluntary context switches per callback and per Add: each is
// a thread that went to sleep, which an idle machine pays a wake-up for.
// (The callbacks' count includes a hundredth of the call that runs them.)
// The first callback of each call, timed apart, is reported too: it is
// the one that finds the call just started.
func BenchmarkCallbackRoundTrip(b *testing.B) {
	c := startPingerB(b)
	ctx := context.Background()
	echo := func(i int) (int, error) { return i, nil }
	const run = 100
	var cbs, firsts, adds []int64
	var sum int64
	var cbSwitches, addSwitches int64
	_, counted := voluntarySwitches()
	args := []any{int64(1), int64(2)}
	b.ReportAllocs()
	for done := 0; done < b.N; done += run {
		var ds []int64
		before, _ := voluntarySwitches()
		if err := c.Call(ctx, "Pinger.Loop", []any{run, echo}, &ds); err != nil {
			b.Fatal(err)
		}
		mid, _ := voluntarySwitches()
		cbs = append(cbs, ds[1:]...)
		firsts = append(firsts, ds[0])
		for range run {
			start := time.Now()
			if err := c.Call(ctx, "Calc.Add", args, &sum); err != nil {
				b.Fatal(err)
			}
			adds = append(adds, int64(time.Since(start)))
		}
		after, _ := voluntarySwitches()
		cbSwitches += mid - before
		addSwitches += after - mid
	}
	cb, add := median(cbs), median(adds)
	b.ReportMetric(cb, "callback-p50-ns")
	b.ReportMetric(add, "add-p50-ns")
	b.ReportMetric(cb/add, "callback/add")
	b.ReportMetric(median(firsts), "first-callback-p50-ns")
	if counted && len(cbs) > 0 {
		b.ReportMetric(float64(cbSwitches)/float64(len(cbs)), "switches/callback")
		b.ReportMetric(float64(addSwitches)/float64(len(adds)), "switches/add")
	}
}

// voluntarySwitches returns the voluntary context switches of the
// process's threads so far, and whether the system tells them (Linux's
// /proc does). A thread that exits takes its count with it; the Go
// runtime keeps its threads.
func voluntarySwitches() (int64, bool) {
	dirs, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, false
	}
	var n int64
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			continue // the thread exited meanwhile
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				k, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += k
			}
		}
	}
	return n, true
}

// BenchmarkCallbackParallel measures callbacks per second with 64
// server-side goroutines calling one call's callback at once.
func BenchmarkCallbackParallel(b *testing.B) {
	c := startPingerB(b)
	echo := func(i int) (int, error) { return i, nil }
	const callers = 64
	per := max(1, b.N/callers)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := c.Call(context.Background(), "Pinger.Flood", []any{callers, per, echo}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(callers*per)/time.Since(start).Seconds(), "callbacks/s")
}

func median(ds []int64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2])
}

// Hold calls f once; f blocks, for BenchmarkCallbackTakeover.
func (Pinger) Hold(f func() error) error { return f() }

// BenchmarkCallbackTakeover measures how long a call waits for its reply
// while a lone callback invocation, which the client's connection reader
// runs itself, blocks on that connection: until the reading is taken
// over. An op is one such call; it reports their median.
func BenchmarkCallbackTakeover(b *testing.B) {
	c := startPingerB(b)
	ctx := context.Background()
	var sum int64
	ds := make([]int64, 0, b.N)
	b.ReportAllocs()
	for range b.N {
		entered, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- c.Call(ctx, "Pinger.Hold", []any{func() error { close(entered); <-release; return nil }})
		}()
		<-entered
		start := time.Now()
		if err := c.Call(ctx, "Calc.Add", []any{int64(1), int64(2)}, &sum); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, int64(time.Since(start)))
		close(release)
		if err := <-held; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(median(ds), "blocked-add-p50-ns")
}

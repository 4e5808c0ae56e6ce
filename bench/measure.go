package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// run is the outcome of one throughput measurement.
type run struct {
	calls   int64   // calls that finished within the measured duration
	rate    float64 // calls per second
	mallocs float64 // heap objects allocated per call, both sides
	bytes   float64 // heap bytes allocated per call, both sides
}

// throughput runs conc goroutines that call w on c back to back for d and
// counts the calls that finish within d; calls still in flight at the end
// finish unmeasured. Client and server share this process, so the MemStats
// deltas cover both sides of every call, in flight ones included.
func throughput(ctx context.Context, c client, w workload, conc int, d time.Duration) (run, error) {
	var (
		counted, all atomic.Int64
		wg           sync.WaitGroup
		errOnce      sync.Once
		callErr      error
	)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	deadline := time.Now().Add(d)
	for range conc {
		wg.Go(func() {
			var n, tail int64
			for time.Now().Before(deadline) {
				if err := w.call(ctx, c); err != nil {
					errOnce.Do(func() { callErr = err })
					break
				}
				if time.Now().After(deadline) {
					tail++
				} else {
					n++
				}
			}
			counted.Add(n)
			all.Add(n + tail)
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	if callErr != nil {
		return run{}, fmt.Errorf("%s x%d: %w", w.name, conc, callErr)
	}
	calls := float64(max(all.Load(), 1))
	return run{
		calls:   counted.Load(),
		rate:    float64(counted.Load()) / d.Seconds(),
		mallocs: float64(after.Mallocs-before.Mallocs) / calls,
		bytes:   float64(after.TotalAlloc-before.TotalAlloc) / calls,
	}, nil
}

// latency calls w on c from one goroutine for d and returns the 50th and
// 99th percentile of the call durations.
func latency(ctx context.Context, c client, w workload, d time.Duration) (p50, p99 time.Duration, err error) {
	runtime.GC()
	samples := make([]time.Duration, 0, 1<<16)
	deadline := time.Now().Add(d)
	for {
		t0 := time.Now()
		if t0.After(deadline) {
			break
		}
		if err := w.call(ctx, c); err != nil {
			return 0, 0, fmt.Errorf("%s latency: %w", w.name, err)
		}
		samples = append(samples, time.Since(t0))
	}
	if len(samples) == 0 {
		return 0, 0, fmt.Errorf("%s latency: no call finished in %v", w.name, d)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], samples[len(samples)*99/100], nil
}

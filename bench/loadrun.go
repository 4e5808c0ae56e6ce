package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadStats is the outcome of one loaded run with every call timed.
type loadStats struct {
	Calls int64   `json:"calls"` // calls that finished within the measured duration
	Rate  float64 `json:"rate"`  // calls per second
	// Percentiles of the durations of the counted calls, in seconds.
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// timedLoad runs n goroutines for d; goroutine i calls call(ctx, i) back
// to back, and each call is timed. Calls that finish within d count;
// calls in flight at the end finish unmeasured. It stops at the first
// failed call. Timing every call costs two clock reads per call, alike
// for every system.
func timedLoad(ctx context.Context, n int, d time.Duration, call func(ctx context.Context, i int) error) (loadStats, error) {
	var (
		wg      sync.WaitGroup
		counted atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		callErr error
		mu      sync.Mutex
		all     []time.Duration
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range n {
		wg.Go(func() {
			samples := make([]time.Duration, 0, 256)
			for !failed.Load() {
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				if err := call(ctx, i); err != nil {
					errOnce.Do(func() { callErr = err })
					failed.Store(true)
					break
				}
				if t1 := time.Now(); !t1.After(deadline) {
					samples = append(samples, t1.Sub(t0))
				}
			}
			counted.Add(int64(len(samples)))
			mu.Lock()
			all = append(all, samples...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if callErr != nil {
		return loadStats{}, fmt.Errorf("%d callers: %w", n, callErr)
	}
	st := loadStats{Calls: counted.Load(), Rate: float64(counted.Load()) / d.Seconds()}
	if len(all) > 0 {
		slices.Sort(all)
		at := func(q int) float64 { return all[min(len(all)*q/1000, len(all)-1)].Seconds() }
		st.P50, st.P99, st.P999 = at(500), at(990), at(999)
	}
	return st, nil
}

// primeLoad has each of n goroutines make one untimed call, so that a
// run without a warm-up (the smoke test's) does not spend its short
// measured time opening the callers' connections.
func primeLoad(ctx context.Context, n int, call func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = call(ctx, i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%d callers, first calls: %w", n, err)
	}
	return nil
}

// record adds the run's throughput and percentiles to res under workload
// w and key n.
func (st loadStats) record(res *results, system, w string, n int) {
	res.add(system, metric{w, kindTput, n}, st.Rate)
	res.add(system, metric{w, kindP50, n}, st.P50)
	res.add(system, metric{w, kindP99, n}, st.P99)
	res.add(system, metric{w, kindP999, n}, st.P999)
}

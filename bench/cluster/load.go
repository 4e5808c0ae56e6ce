package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc"
)

// call makes one call of method ("Calc.Add" or "Calc.Work") and checks
// its result.
func call(ctx context.Context, c *simplerpc.Client, method string, i int) error {
	var got int
	var err error
	want := i
	switch method {
	case "Calc.Add":
		err, want = c.Call(ctx, method, []any{i, 1}, &got), i+1
	default:
		err = c.Call(ctx, method, []any{i}, &got)
	}
	if err == nil && got != want {
		err = fmt.Errorf("%s(%d) = %d, want %d", method, i, got, want)
	}
	return err
}

// throughput runs conc goroutines calling method on c back to back for d
// and returns the rate of the calls that finished within d. Any failed
// call fails the measurement.
func throughput(c *simplerpc.Client, method string, conc int, d time.Duration) (float64, error) {
	var (
		counted atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
	)
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	deadline := time.Now().Add(d)
	for g := range conc {
		wg.Go(func() {
			var n int64
			for i := g << 20; time.Now().Before(deadline); i++ {
				if err := call(ctx, c, method, i); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
					return
				}
				if time.Now().Before(deadline) {
					n++
				}
			}
			counted.Add(n)
		})
	}
	wg.Wait()
	if first != nil {
		return 0, fmt.Errorf("%s x%d: %w", method, conc, first)
	}
	return float64(counted.Load()) / d.Seconds(), nil
}

// background is load that runs until stopped, keeping every failure.
type background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	calls  atomic.Int64
	mu     sync.Mutex
	failed map[string]int // by code
}

func startBackground(c *simplerpc.Client, conc int) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, failed: make(map[string]int)}
	for g := range conc {
		b.wg.Go(func() {
			for i := g << 20; ctx.Err() == nil; i++ {
				// Calls are not bound by ctx: stopping the load lets every
				// call in flight return on its own.
				cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Minute)
				err := call(cctx, c, "Calc.Add", i)
				ccancel()
				b.calls.Add(1)
				if err != nil {
					b.fail(err)
				}
			}
		})
	}
	return b
}

func (b *background) fail(err error) {
	code := "other"
	var e *simplerpc.Error
	if errors.As(err, &e) {
		code = e.Code.String()
	}
	b.mu.Lock()
	b.failed[code]++
	b.mu.Unlock()
}

// stop ends the load and waits for every call to return.
func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}

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

// Jobs is the service of methods that take callbacks: the funcs they
// are passed run in the calling client's process.
type Jobs struct {
	mu       sync.Mutex
	kept     func() error // a callback kept past its call (Keep)
	canceled atomic.Int64 // Slow invocations the server gave up on
}

// jobs is shared by every server of the test binary.
var jobs = &Jobs{}

// Run reports its progress through a callback and returns n*10.
func (j *Jobs) Run(ctx context.Context, n int, progress func(done, total int)) (int, error) {
	for i := 1; i <= n; i++ {
		progress(i, n)
	}
	return n * 10, ctx.Err()
}

// Map applies f to each of xs; f's error fails the call, wrapped.
func (j *Jobs) Map(ctx context.Context, xs []int, f func(ctx context.Context, x int) (int, error)) ([]int, error) {
	out := make([]int, 0, len(xs))
	for _, x := range xs {
		y, err := f(ctx, x)
		if err != nil {
			return out, fmt.Errorf("mapping %d: %w", x, err)
		}
		out = append(out, y)
	}
	return out, nil
}

// Pair calls f with a string and returns its two results joined.
func (j *Jobs) Pair(s string, f func(s string) (string, int, error)) (string, error) {
	a, n, err := f(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%d", a, n), nil
}

// Inspect calls f and describes, as the server sees it, the error f
// returned: its code, registered name, message, and whether it is
// ErrDivByZero.
func (j *Jobs) Inspect(f func() error) string {
	err := f()
	if err == nil {
		return "ok"
	}
	var e *simplerpc.Error
	if !errors.As(err, &e) {
		return "not an *Error: " + err.Error()
	}
	return fmt.Sprintf("%s|%s|%v|%s", e.Code, e.Name, errors.Is(err, ErrDivByZero), e.Message)
}

// Parallel calls f n times at once and returns the sum of its results.
func (j *Jobs) Parallel(ctx context.Context, n int, f func(i int) (int, error)) (int, error) {
	var wg sync.WaitGroup
	var sum atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			v, err := f(i)
			if err != nil {
				errs <- err
				return
			}
			sum.Add(int64(v))
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return int(sum.Load()), nil
}

// Slow calls f with a context ending after ms milliseconds and returns
// the code of the error it got ("ok" for none).
func (j *Jobs) Slow(ctx context.Context, ms int, f func(ctx context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	defer cancel()
	err := f(ctx)
	if err == nil {
		return "ok"
	}
	if ctx.Err() != nil {
		j.canceled.Add(1)
	}
	var e *simplerpc.Error
	if errors.As(err, &e) {
		return e.Code.String()
	}
	return err.Error()
}

// Canceled returns how many Slow invocations the server gave up on.
func (j *Jobs) Canceled() int { return int(j.canceled.Load()) }

// Once calls f once with x and returns its result.
func (j *Jobs) Once(x int, f func(x int) (int, error)) (int, error) { return f(x) }

// Keep keeps its callback for CallKept, past the call.
func (j *Jobs) Keep(f func() error) {
	j.mu.Lock()
	j.kept = f
	j.mu.Unlock()
}

// CallKept calls the callback Keep kept and returns its error's code
// and message.
func (j *Jobs) CallKept() string {
	j.mu.Lock()
	f := j.kept
	j.mu.Unlock()
	if f == nil {
		return "none"
	}
	var e *simplerpc.Error
	if err := f(); errors.As(err, &e) {
		return fmt.Sprintf("%s|%s", e.Code, e.Message)
	}
	return "ran"
}

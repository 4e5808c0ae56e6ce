package simplerpc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// Jobs is a service whose methods take callbacks.
type Jobs struct {
	mu      sync.Mutex
	kept    func() error // a callback kept past its call (Keep)
	lastErr error        // what the last callback returned to the server (Visit, Wait, Parallel)
}

// Run reports its progress through a callback without an error result.
func (j *Jobs) Run(ctx context.Context, n int, progress func(done, total int)) (int, error) {
	for i := 1; i <= n; i++ {
		progress(i, n)
	}
	return n * 10, ctx.Err()
}

// Visit calls visit on each item and sums what it returns; a failing
// visit fails the call with its error.
func (j *Jobs) Visit(items []string, visit func(ctx context.Context, s string) (int, error)) (int, error) {
	total := 0
	for _, s := range items {
		n, err := visit(context.Background(), s)
		j.record(err)
		if err != nil {
			return total, fmt.Errorf("visiting %q: %w", s, err)
		}
		total += n
	}
	return total, nil
}

// Keep keeps its callback for CallKept, past the call.
func (j *Jobs) Keep(f func() error) {
	j.mu.Lock()
	j.kept = f
	j.mu.Unlock()
}

// CallKept calls the callback Keep kept.
func (j *Jobs) CallKept() error {
	j.mu.Lock()
	f := j.kept
	j.mu.Unlock()
	return f()
}

// Wait calls f with a context ending after d (none if d is 0), or when
// the call's ends.
func (j *Jobs) Wait(ctx context.Context, d time.Duration, f func(ctx context.Context) error) error {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	err := f(ctx)
	j.record(err)
	return err
}

// Parallel calls f from n goroutines at once, with 0..n-1, and sums the
// results; it fails with the first error.
func (j *Jobs) Parallel(ctx context.Context, n int, f func(int) (int, error)) (int, error) {
	var wg sync.WaitGroup
	sums := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { sums[i], errs[i] = f(i) })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			j.record(errs[i])
			return 0, errs[i]
		}
		total += sums[i]
	}
	return total, nil
}

// Two takes two callbacks, and a nil one is passed as nil.
func (j *Jobs) Two(a func(string) string, b func(string) string, s string) string {
	out := a(s)
	if b != nil {
		out = b(out)
	}
	return out
}

func (j *Jobs) record(err error) {
	j.mu.Lock()
	j.lastErr = err
	j.mu.Unlock()
}

func (j *Jobs) last() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lastErr
}

// jobsStub is the client's view of Jobs.
type jobsStub struct {
	Run      func(ctx context.Context, n int, progress func(done, total int)) (int, error)
	Visit    func(ctx context.Context, items []string, visit func(ctx context.Context, s string) (int, error)) (int, error)
	Keep     func(ctx context.Context, f func() error) error
	CallKept func(ctx context.Context) error
	Wait     func(ctx context.Context, d time.Duration, f func(ctx context.Context) error) error
	Parallel func(ctx context.Context, n int, f func(int) (int, error)) (int, error)
	Two      func(a, b func(string) string, s string) (string, error)
}

// startJobs starts a server with Jobs and Calc registered.
func startJobs(t *testing.T, opts ...simplerpc.ServerOption) (*testServer, *Jobs) {
	t.Helper()
	ts := startServer(t, opts...)
	j := &Jobs{}
	if err := ts.srv.Register("Jobs", j); err != nil {
		t.Fatal(err)
	}
	return ts, j
}

func bindJobs(t *testing.T, c *simplerpc.Client) *jobsStub {
	t.Helper()
	var s jobsStub
	if err := c.Bind("Jobs", &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestCallbackProgress(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts, _ := startJobs(t)
			jobs := bindJobs(t, dial(t, ts.addr, simplerpc.WithCodec(name)))
			var got [][2]int
			res, err := jobs.Run(context.Background(), 5, func(done, total int) { got = append(got, [2]int{done, total}) })
			if err != nil || res != 50 {
				t.Fatalf("Run = %d, %v; want 50", res, err)
			}
			want := [][2]int{{1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}
			if !slices.Equal(got, want) {
				t.Fatalf("progress %v, want %v", got, want)
			}
		})
	}
}

func TestCallbackCallByName(t *testing.T) {
	ts, _ := startJobs(t)
	c := dial(t, ts.addr)
	var res int
	err := c.Call(context.Background(), "Jobs.Visit", []any{[]string{"a", "bb", "ccc"},
		func(ctx context.Context, s string) (int, error) { return len(s), nil }}, &res)
	if err != nil || res != 6 {
		t.Fatalf("Visit = %d, %v; want 6", res, err)
	}
	var out string
	upper := func(s string) string { return s + "!" }
	if err := c.Call(context.Background(), "Jobs.Two", []any{upper, (func(string) string)(nil), "x"}, &out); err != nil || out != "x!" {
		t.Fatalf("Two with a nil second func = %q, %v; want x!", out, err)
	}
	twice := func(s string) string { return s + s }
	if err := c.Call(context.Background(), "Jobs.Two", []any{upper, twice, "x"}, &out); err != nil || out != "x!x!" {
		t.Fatalf("Two = %q, %v; want x!x!", out, err)
	}
}

// The callback's errors reach the server as *Error with their code, and
// a registered error as itself, through the method's error back to the
// client.
func TestCallbackErrors(t *testing.T) {
	for _, name := range codecs {
		t.Run(name, func(t *testing.T) {
			ts, j := startJobs(t)
			jobs := bindJobs(t, dial(t, ts.addr, simplerpc.WithCodec(name)))
			_, err := jobs.Visit(context.Background(), []string{"a", "b"}, func(ctx context.Context, s string) (int, error) {
				if s == "b" {
					return 0, ErrDivByZero
				}
				return 1, nil
			})
			server := j.last()
			var e *simplerpc.Error
			if !errors.As(server, &e) || e.Code != simplerpc.CodeApplication || !errors.Is(server, ErrDivByZero) {
				t.Fatalf("server saw %v (%T), want a CodeApplication *Error that is ErrDivByZero", server, server)
			}
			if !errors.Is(err, ErrDivByZero) {
				t.Fatalf("client got %v, want ErrDivByZero through the method's error", err)
			}
			_, err = jobs.Visit(context.Background(), []string{"a"}, func(ctx context.Context, s string) (int, error) {
				panic("visitor exploded")
			})
			server = j.last()
			if !errors.As(server, &e) || e.Code != simplerpc.CodeInternal || !contains(e.Message, "visitor exploded") || e.Stack != "" {
				t.Fatalf("server saw %#v after the callback panicked, want CodeInternal with the panic value and no stack", server)
			}
			if err == nil {
				t.Fatal("Visit succeeded with a panicking visitor")
			}
			// The client survived: it calls on.
			var sum int
			if sum, err = jobs.Visit(context.Background(), []string{"x"}, func(ctx context.Context, s string) (int, error) { return 7, nil }); err != nil || sum != 7 {
				t.Fatalf("after a panic: %d, %v", sum, err)
			}
		})
	}
}

// A callback kept past its call fails at once, with CodeUnavailable and
// ErrCallbackExpired, and the client's func does not run.
func TestCallbackAfterReturn(t *testing.T) {
	ts, _ := startJobs(t)
	jobs := bindJobs(t, dial(t, ts.addr))
	var ran atomic.Int64
	if err := jobs.Keep(context.Background(), func() error { ran.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := jobs.CallKept(context.Background())
	if codeOf(t, err) != simplerpc.CodeUnavailable || !errors.Is(err, simplerpc.ErrCallbackExpired) {
		t.Fatalf("kept callback: %v, want CodeUnavailable and ErrCallbackExpired", err)
	}
	if ran.Load() != 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("kept callback ran %d times, in %v", ran.Load(), time.Since(start))
	}
}

// An invocation's context on the client carries the server's deadline,
// and ends when the server gives up.
func TestCallbackDeadlineAndCancel(t *testing.T) {
	ts, j := startJobs(t)
	jobs := bindJobs(t, dial(t, ts.addr))
	var deadline atomic.Bool
	err := jobs.Wait(context.Background(), 50*time.Millisecond, func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		deadline.Store(ok)
		<-ctx.Done()
		return ctx.Err()
	})
	if !deadline.Load() {
		t.Fatal("the callback's context had no deadline")
	}
	if codeOf(t, err) != simplerpc.CodeDeadlineExceeded || !errors.Is(j.last(), context.DeadlineExceeded) {
		t.Fatalf("Wait: %v, server saw %v; want deadline exceeded", err, j.last())
	}
	// The caller gives up: the call ends on the server, and so does the
	// invocation's context on the client.
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() {
		ended <- jobs.Wait(ctx, 0, func(cbCtx context.Context) error {
			cancel()
			<-cbCtx.Done()
			return cbCtx.Err()
		})
	}()
	select {
	case err := <-ended:
		if codeOf(t, err) != simplerpc.CodeCanceled {
			t.Fatalf("canceled Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a canceled call with a running callback did not return")
	}
}

// Callbacks the server calls from many goroutines at once run at once.
func TestCallbackConcurrent(t *testing.T) {
	ts, _ := startJobs(t)
	jobs := bindJobs(t, dial(t, ts.addr))
	var running, peak atomic.Int64
	sum, err := jobs.Parallel(context.Background(), 32, func(i int) (int, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return i, nil
	})
	if err != nil || sum != 31*32/2 {
		t.Fatalf("Parallel = %d, %v", sum, err)
	}
	if peak.Load() < 2 {
		t.Fatalf("at most %d callbacks ran at once", peak.Load())
	}
}

// A client with callbacks off runs none; the server learns it.
func TestCallbackRefused(t *testing.T) {
	ts, j := startJobs(t)
	jobs := bindJobs(t, dial(t, ts.addr, simplerpc.WithCallbacks(false)))
	var ran atomic.Int64
	_, err := jobs.Visit(context.Background(), []string{"a"}, func(ctx context.Context, s string) (int, error) {
		ran.Add(1)
		return 1, nil
	})
	if !errors.Is(j.last(), simplerpc.ErrNoCallbacks) || codeOf(t, j.last()) != simplerpc.CodePermissionDenied {
		t.Fatalf("server saw %v, want ErrNoCallbacks", j.last())
	}
	if !errors.Is(err, simplerpc.ErrNoCallbacks) && !contains(err.Error(), "takes no callbacks") {
		t.Fatalf("client got %v", err)
	}
	if ran.Load() != 0 {
		t.Fatal("a client with callbacks off ran one")
	}
}

// Bind checks a stub's callbacks against the server's: a func whose
// signature does not match the callback's fails Bind, naming it; a
// callback in the server's description says its signature.
func TestCallbackContractCheck(t *testing.T) {
	ts, _ := startJobs(t)
	c := dial(t, ts.addr)
	var wrongArg struct {
		Run func(ctx context.Context, n int, progress func(done string, total int)) (int, error)
	}
	err := c.Bind("Jobs", &wrongArg)
	if err == nil || !contains(err.Error(), "callback argument 1") {
		t.Fatalf("a callback taking a string for an int: %v", err)
	}
	var notFunc struct {
		Run func(ctx context.Context, n int, progress int) (int, error)
	}
	if err := c.Bind("Jobs", &notFunc); err == nil || !contains(err.Error(), "takes a callback") {
		t.Fatalf("a value for a callback: %v", err)
	}
	var fewResults struct {
		Parallel func(ctx context.Context, n int, f func(int)) (int, error)
	}
	if err := c.Bind("Jobs", &fewResults); err == nil || !contains(err.Error(), "expects 1 result of it") {
		t.Fatalf("a callback without the result the server expects: %v", err)
	}
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := d.Method("Jobs.Visit")
	if m == nil || len(m.Params) != 2 || m.Params[1].Callback == nil {
		t.Fatalf("Jobs.Visit described as %+v", m)
	}
	cb := m.Params[1].Callback
	if !cb.Context || !cb.Error || len(cb.Params) != 1 || cb.Params[0].Go != "string" || len(cb.Results) != 1 || cb.Results[0].Go != "int" {
		t.Fatalf("Visit's callback described as %+v", cb)
	}
}

// Callbacks work through the server's and the client's interceptors,
// which see the call as any other.
func TestCallbackWithInterceptors(t *testing.T) {
	var server, client atomic.Int64
	counting := func(n *atomic.Int64) simplerpc.Interceptor {
		return func(next simplerpc.Invoker) simplerpc.Invoker {
			return func(ctx context.Context, info *simplerpc.CallInfo) error {
				n.Add(1)
				return next(ctx, info)
			}
		}
	}
	ts, _ := startJobs(t, simplerpc.WithInterceptor(counting(&server)))
	jobs := bindJobs(t, dial(t, ts.addr, simplerpc.WithInterceptor(counting(&client))))
	var got []int
	res, err := jobs.Run(context.Background(), 3, func(done, total int) { got = append(got, done) })
	if err != nil || res != 30 || !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("Run through interceptors = %d, %v, progress %v", res, err, got)
	}
	if server.Load() == 0 || client.Load() == 0 {
		t.Fatalf("interceptors ran %d times on the server, %d on the client", server.Load(), client.Load())
	}
}

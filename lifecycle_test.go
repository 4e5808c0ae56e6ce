package simplerpc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

func TestDeadlineReachesServer(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ts.calc.started = make(chan struct{}, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.Call(ctx, "Calc.Block", nil)
		if !errors.Is(err, context.DeadlineExceeded) || codeOf(t, err) != simplerpc.CodeDeadlineExceeded {
			t.Fatalf("Block with a deadline: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("deadline honoured after %v", d)
		}
		<-ts.calc.started
		// The server-side context carries the deadline too: with the
		// client gone, Sleep ends by its context, and the server is free.
		var n int
		if err := c.Call(context.Background(), "Calc.Add", []any{1, 1}, &n); err != nil || n != 2 {
			t.Fatal(err)
		}
	})
}

func TestCancelReachesServer(t *testing.T) {
	ts := startServer(t)
	ts.calc.started = make(chan struct{}, 1)
	c := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "Calc.Block", nil) }()
	<-ts.calc.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || codeOf(t, err) != simplerpc.CodeCanceled {
		t.Fatalf("canceled call: %v", err)
	}
	// The cancel frame ends the server-side call: Shutdown, which waits for
	// running calls, returns at once.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if err := ts.srv.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown waited for a canceled call: %v", err)
	}
}

// TestLoneCallDoesNotHoldTheConnection checks that a call running alone
// on a connection, which the server runs in the connection's reader
// goroutine, does not stop the server reading that connection: a second
// call on it is answered while the first still runs.
func TestLoneCallDoesNotHoldTheConnection(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ts.calc.started = make(chan struct{}, 1)
		ts.calc.release = make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(ts.calc.release) }) }
		defer release() // a failed test still lets the server stop
		done := make(chan error, 1)
		go func() { done <- c.Call(context.Background(), "Calc.Block", nil) }()
		<-ts.calc.started
		for i := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			var sum int
			err := c.Call(ctx, "Calc.Add", []any{i, 1}, &sum)
			cancel()
			if err != nil || sum != i+1 {
				t.Fatalf("call behind a running one: %d, %v", sum, err)
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the first call ended before it was released: %v", err)
		default:
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestBusyServerRefusesAndClientRetries(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(1))
	ts.calc.started = make(chan struct{}, 1)
	ctx := context.Background()

	// Without retries, a call over the limit is refused and never run.
	noRetry := dial(t, ts.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{}))
	first := make(chan error, 1)
	go func() { first <- noRetry.Call(ctx, "Calc.Block", nil) }()
	<-ts.calc.started
	err := noRetry.Call(ctx, "Calc.Block", nil)
	if codeOf(t, err) != simplerpc.CodeUnavailable {
		t.Fatalf("call over the limit: %v", err)
	}
	if n := ts.calc.runs.Load(); n != 1 {
		t.Fatalf("refused call ran: %d executions", n)
	}

	// With the default policy the refused call is retried until the slot
	// frees up.
	retrying := dial(t, ts.addr)
	second := make(chan error, 1)
	var got string
	go func() { second <- retrying.Call(ctx, "Calc.Block", nil, &got) }()
	time.Sleep(20 * time.Millisecond) // a few refused attempts
	close(ts.calc.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-ts.calc.started
	if err := <-second; err != nil || got != "released" {
		t.Fatalf("retried call: %q, %v", got, err)
	}
	if n := ts.calc.runs.Load(); n != 2 {
		t.Fatalf("executions = %d, want 2", n)
	}
}

func TestRetryStopsAtDeadline(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(1))
	ts.calc.started = make(chan struct{}, 1)
	c := dial(t, ts.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 1000, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}))
	go func() { _ = c.Call(context.Background(), "Calc.Block", nil) }()
	<-ts.calc.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Call(ctx, "Calc.Block", nil)
	if c := codeOf(t, err); c != simplerpc.CodeUnavailable && c != simplerpc.CodeDeadlineExceeded {
		t.Fatalf("retries past the deadline: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("retries went on %v past a 100ms deadline", d)
	}
	close(ts.calc.release)
}

func TestReconnectAfterRestart(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ts.calc.started = make(chan struct{}, 1)
		inflight := make(chan error, 1)
		go func() { inflight <- c.Call(context.Background(), "Calc.Block", nil) }()
		<-ts.calc.started
		ts.srv.Close() // hard stop: the in-flight call may or may not have run
		err := <-inflight
		if codeOf(t, err) != simplerpc.CodeConnectionLost {
			t.Fatalf("in-flight call at a hard stop: %v", err)
		}
		if n := ts.calc.runs.Load(); n != 1 {
			t.Fatalf("a lost call was retried: %d executions", n)
		}

		l, err := net.Listen("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		serveOn(t, l)
		var n int
		if err := c.Call(context.Background(), "Calc.Add", []any{20, 22}, &n); err != nil || n != 42 {
			t.Fatalf("call after restart: %d, %v", n, err)
		}
	})
}

func TestRedialWhileServerDown(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts.addr, simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 50, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}))
	ts.srv.Close()
	// Let the client see the connection end: a call written into a
	// connection the server is closing that moment is lost, not redialed.
	time.Sleep(20 * time.Millisecond)
	// Restart shortly: the call's connection attempts ride through the gap.
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(50 * time.Millisecond)
		l, err := net.Listen("tcp", ts.addr)
		if err != nil {
			t.Error(err)
			return
		}
		serveOn(t, l)
	}()
	var n int
	err := c.Call(context.Background(), "Calc.Add", []any{1, 2}, &n)
	<-restarted
	if err != nil || n != 3 {
		t.Fatalf("call across a restart: %d, %v", n, err)
	}
}

func TestDialFailsAfterBoundedRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = simplerpc.Dial(context.Background(), addr, simplerpc.WithRetry(simplerpc.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if codeOf(t, err) != simplerpc.CodeUnavailable {
		t.Fatalf("Dial to a closed port: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("bounded retries took %v", time.Since(start))
	}
}

func TestGracefulShutdown(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		ts.calc.started = make(chan struct{}, 8)
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				var s string
				err := c.Call(context.Background(), "Calc.Block", nil, &s)
				if err == nil && s != "released" {
					err = errors.New("wrong result " + s)
				}
				errs <- err
			})
		}
		for range n {
			<-ts.calc.started
		}
		shut := make(chan error, 1)
		go func() { shut <- ts.srv.Shutdown(context.Background()) }()
		time.Sleep(20 * time.Millisecond)
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned before in-flight calls finished: %v", err)
		default:
		}
		close(ts.calc.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("in-flight call during shutdown: %v", err)
			}
		}
		if err := <-shut; err != nil {
			t.Fatal(err)
		}
		if err := <-ts.done; !errors.Is(err, simplerpc.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		ts.done <- nil // for the cleanup's stop
		// A new call finds no server and fails as not executed.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := c.Call(ctx, "Calc.Add", []any{1, 2}); err == nil {
			t.Fatal("call after shutdown succeeded")
		} else if code := codeOf(t, err); code != simplerpc.CodeUnavailable && code != simplerpc.CodeDeadlineExceeded {
			t.Fatalf("call after shutdown: %v", err)
		}
	})
}

func TestShutdownMovesClientToNewServer(t *testing.T) {
	// Two servers behind one address in turn: the client told to go away
	// redials and its calls keep succeeding, none lost.
	ts := startServer(t)
	c := dial(t, ts.addr)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	calls := 0
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				err := c.Call(context.Background(), "Calc.Add", []any{1, 2}, &n)
				mu.Lock()
				calls++
				if err != nil || n != 3 {
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(30 * time.Millisecond)
	// Take the port over: shut down gracefully, then serve again on it.
	if err := ts.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l)
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed across a graceful restart; first: %v", len(failures), calls, failures[0])
	}
}

func TestManyConcurrentCallers(t *testing.T) {
	eachCodec(t, func(t *testing.T, ts *testServer, c *simplerpc.Client) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 64 {
			wg.Go(func() {
				for i := range 50 {
					var n int
					if err := c.Call(context.Background(), "Calc.Add", []any{g, i}, &n); err != nil || n != g+i {
						errs <- errors.Join(err, errors.New("wrong sum"))
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
}

package simplerpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpchttp"
)

// inlineSvc's Probe says whether the fast path's reader ran it itself
// (fastConn.runInline), by its own stack; it can also block, until its
// context ends or until release is closed.
type inlineSvc struct {
	started chan bool     // as a blocking call begins: whether the reader runs it
	ended   chan error    // a blocking call's end: its context's error
	release chan struct{} // ends the calls that wait for it
	quit    chan struct{} // closed as the test ends, so that no call outlives it
}

const (
	probeQuick   = 0 // return at once
	probeStack   = 1 // return whether the reader runs the call
	probeCtx     = 2 // block until the context ends
	probeRelease = 3 // block until release is closed
)

// runByReader reports whether the calling goroutine is a fast
// connection's reader running a call itself.
func runByReader() bool {
	buf := make([]byte, 16<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*fastConn).runInline")
}

func (s *inlineSvc) Probe(ctx context.Context, mode int) bool {
	switch mode {
	case probeStack:
		return runByReader()
	case probeCtx:
		s.started <- runByReader()
		select {
		case <-ctx.Done():
		case <-s.quit:
		}
		s.ended <- ctx.Err()
	case probeRelease:
		s.started <- runByReader()
		select {
		case <-s.release:
		case <-s.quit:
		}
	}
	return false
}

// Slow takes longer than a quick call (quickCall).
func (s *inlineSvc) Slow(ctx context.Context) bool {
	time.Sleep(50 * time.Microsecond)
	return runByReader()
}

func postProbe(method string, mode, id int) string {
	params := fmt.Sprintf("[%d]", mode)
	if method == "Inline.Slow" {
		params = "[]"
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s,"id":%d}`, method, params, id)
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// serveInline serves an inlineSvc as Inline, with the HTTP front's fast
// path on.
func serveInline(t *testing.T) (*Server, string, *inlineSvc) {
	t.Helper()
	srv := NewServer(WithLogger(slog.New(slog.DiscardHandler)))
	srv.netHTTPOnly = false // the fast path, whatever the test switch says
	svc := &inlineSvc{started: make(chan bool, 1), ended: make(chan error, 1), release: make(chan struct{}), quit: make(chan struct{})}
	if err := srv.Register("Inline", svc); err != nil {
		t.Fatal(err)
	}
	addr := serveInternal(t, srv)
	t.Cleanup(func() { close(svc.quit) }) // before the server's cleanup waits for its calls
	return srv, addr, svc
}

// httpConn is one keep-alive connection for raw requests.
type httpConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialHTTP(t *testing.T, addr string) *httpConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &httpConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// startedInline waits for a blocking call of svc to begin and checks
// that the reader runs it itself.
func startedInline(t *testing.T, svc *inlineSvc) {
	t.Helper()
	select {
	case inline := <-svc.started:
		if !inline {
			t.Fatal("the blocking call of a quick method was not run by the reader")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocking call did not begin")
	}
}

// blockInline serves an inlineSvc, makes its Probe quick and sends a
// call of it in the given blocking mode on a new connection, which it
// returns once the reader runs the call.
func blockInline(t *testing.T, mode int) (*Server, string, *inlineSvc, *httpConn) {
	t.Helper()
	srv, addr, svc := serveInline(t)
	c := dialHTTP(t, addr)
	makeProbeQuick(srv)
	c.send(postProbe("Inline.Probe", mode, 1))
	startedInline(t, svc)
	return srv, addr, svc, c
}

// within waits for ch for up to 5 s.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal(what)
	}
}

func (c *httpConn) send(req string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, req); err != nil {
		c.t.Fatal(err)
	}
}

// read reads a response and returns its body, or the error.
func (c *httpConn) read() (string, error) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

func (c *httpConn) call(req string) string {
	c.t.Helper()
	c.send(req)
	body, err := c.read()
	if err != nil {
		c.t.Fatal(err)
	}
	return body
}

// makeProbeQuick makes Inline.Probe known to be quick, as the timing of its
// calls would (runCost); it stays so for the few calls a test makes.
func makeProbeQuick(srv *Server) { srv.dispatch.lookupName("Inline.Probe").cost.ns.Store(1) }

// TestFastHTTPRunsQuickCallsInline checks that the fast path's reader
// runs a lone call of a quick method itself, and hands any other request
// to the connection's worker: a call of a method that is not quick, a
// batch, and a call of a method not yet timed.
func TestFastHTTPRunsQuickCallsInline(t *testing.T) {
	srv, addr, _ := serveInline(t)
	c := dialHTTP(t, addr)
	if got := c.call(postProbe("Inline.Probe", probeStack, 1)); !strings.Contains(got, `"result":false`) {
		t.Errorf("the first call, of a method not yet timed: %s; want it run by the worker", got)
	}
	makeProbeQuick(srv)
	if got := c.call(postProbe("Inline.Probe", probeStack, 2)); !strings.Contains(got, `"result":true`) {
		t.Errorf("a call of a quick method: %s; want it run by the reader", got)
	}
	for i := range 40 {
		if got := c.call(postProbe("Inline.Slow", 0, 100+i)); !strings.Contains(got, `"result":false`) {
			t.Fatalf("call %d of a slow method: %s; want it run by the worker", i, got)
		}
	}
	makeProbeQuick(srv)
	batch := `[{"jsonrpc":"2.0","method":"Inline.Probe","params":[1],"id":7}]`
	got := c.call(fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(batch), batch))
	if !strings.Contains(got, `"result":false`) {
		t.Errorf("a batch of a quick call: %s; want it run by the worker", got)
	}
}

// TestFastHTTPCloseCancelsInlineCall checks that Close cancels the
// context of a call the reader runs itself (it is not reading, so it
// cannot see the connection end), and that other connections are served
// meanwhile.
func TestFastHTTPCloseCancelsInlineCall(t *testing.T) {
	srv, addr, svc, c := blockInline(t, probeCtx)
	other := dialHTTP(t, addr)
	if got := other.call(postProbe("Inline.Probe", probeQuick, 2)); !strings.Contains(got, `"result":false`) {
		t.Errorf("another connection, while a call blocks in a reader: %s", got)
	}
	srv.Close()
	select {
	case err := <-svc.ended:
		if err == nil {
			t.Error("the call's context ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the call run by the reader")
	}
	if _, err := c.read(); err == nil {
		t.Error("the closed connection answered the canceled call")
	}
}

// TestFastHTTPCloseDoesNotWaitForInlineCall checks that Close returns
// while a call the reader runs itself ignores its canceled context, as
// it does for a call run by the worker; the reader ends once the call
// does.
func TestFastHTTPCloseDoesNotWaitForInlineCall(t *testing.T) {
	srv, _, svc, _ := blockInline(t, probeRelease)
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Error("Close waited for a call that ignores its context")
	}
	close(svc.release)
	within(t, closed, "Close did not return")
}

// TestFastHTTPClientLeavingCancelsInlineCall checks that a call the
// reader runs itself that blocks after all is found by the server's
// sweep, which watches its connection meanwhile: the client going away
// cancels the call's context, as for a call run by the worker; and that
// the connection serves on once such a call returns.
func TestFastHTTPClientLeavingCancelsInlineCall(t *testing.T) {
	srv, addr, svc, c := blockInline(t, probeCtx)
	time.Sleep(5 * sweepEvery) // the sweep has seen the call run a turn
	c.nc.Close()
	select {
	case err := <-svc.ended:
		if err == nil {
			t.Error("the call's context ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client's leaving did not cancel the call run by the reader")
	}

	// A watched call that returns: the connection reads on, the bytes
	// the watch read included.
	makeProbeQuick(srv)
	c = dialHTTP(t, addr)
	c.send(postProbe("Inline.Probe", probeRelease, 2))
	startedInline(t, svc)
	time.Sleep(5 * sweepEvery)
	c.send(postProbe("Inline.Probe", probeQuick, 3)) // read by the watch
	time.Sleep(5 * sweepEvery)
	svc.release <- struct{}{}
	for _, id := range []int{2, 3} {
		if got, err := c.read(); err != nil || !strings.Contains(got, fmt.Sprintf(`"id":%d`, id)) {
			t.Fatalf("response %d after a watched call: %q, %v", id, got, err)
		}
	}
	makeProbeQuick(srv)
	if got := c.call(postProbe("Inline.Probe", probeStack, 4)); !strings.Contains(got, `"result":true`) {
		t.Errorf("the next call after a watched one: %s; want it run by the reader", got)
	}
}

// fastConnOf returns the server's one fast connection.
func fastConnOf(t *testing.T, srv *Server) *fastConn {
	t.Helper()
	f := srv.runningFront()
	return onlyKey(t, &f.mu, f.fast, "fast connections")
}

// TestFastHTTPWatchedCallReadsOn checks the usual end of a watch: the
// call returns with nothing more sent, the reader stops the goroutine
// watching the connection, and serves the next request under a deadline
// of its own (the idle timeout's, not none).
func TestFastHTTPWatchedCallReadsOn(t *testing.T) {
	srv, _, svc, c := blockInline(t, probeRelease)
	fc := fastConnOf(t, srv)
	watched := func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.watcher != nil
	}
	for deadline := time.Now().Add(5 * time.Second); !watched(); time.Sleep(sweepEvery) {
		if time.Now().After(deadline) {
			t.Fatal("the sweep did not watch the blocked call")
		}
	}
	idle := func(when string) {
		t.Helper()
		time.Sleep(20 * time.Millisecond) // the reader waits for the next request
		fc.rdl.mu.Lock()
		set, want := fc.rdl.set, fc.rdl.want
		fc.rdl.mu.Unlock()
		if want.IsZero() || !set.After(time.Now()) {
			t.Errorf("%s, the reader waits with deadline %v (wanted %v); want the idle timeout's", when, set, want)
		}
	}
	svc.release <- struct{}{}
	if got, err := c.read(); err != nil || !strings.Contains(got, `"id":1`) {
		t.Fatalf("the watched call: %q, %v", got, err)
	}
	idle("after the watched call")
	makeProbeQuick(srv)
	if got := c.call(postProbe("Inline.Probe", probeStack, 2)); !strings.Contains(got, `"result":true`) {
		t.Errorf("the next call after a watched one: %s; want it run by the reader", got)
	}
	idle("after the next call")
}

// TestFastHTTPShutdownWaitsForInlineCall checks that Shutdown lets a
// call the reader runs itself finish and answers it, then closes the
// connection.
func TestFastHTTPShutdownWaitsForInlineCall(t *testing.T) {
	srv, _, svc, c := blockInline(t, probeRelease)
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned while a call ran: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(svc.release)
	if got, err := c.read(); err != nil || !strings.Contains(got, `"result":false`) {
		t.Errorf("the call running at Shutdown: %q, %v", got, err)
	}
	if _, err := c.read(); err == nil {
		t.Error("the connection stayed open after Shutdown")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the call")
	}
}

// TestQuickDirect checks which bodies the fast path may run in its
// reader: one call, with an id, of a method known to be quick.
func TestQuickDirect(t *testing.T) {
	srv, _, _ := serveInline(t)
	makeProbeQuick(srv)
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"jsonrpc":"2.0","method":"Inline.Probe","params":[0],"id":1}`, true},
		{`{"jsonrpc":"2.0","method":"Inline.Probe","params":[0]}`, false}, // a notification
		{`[{"jsonrpc":"2.0","method":"Inline.Probe","params":[0],"id":1}]`, false},
		{`{"jsonrpc":"2.0","method":"Inline.Slow","params":[],"id":1}`, false}, // never run
		{`{"jsonrpc":"2.0","method":"Inline.Nope","params":[],"id":1}`, false},
		{`{"jsonrpc":"2.0","method":"Inline.Probe","method":"Inline.Probe","id":1}`, false},
		{`{"jsonrpc":"2.0",`, false},
		{`{"jsonrpc":"2.0","method":"Inline.Probe","params":[0],"id":1,"pad":"` + strings.Repeat("x", jsonrpchttp.ParseGated) + `"}`, false},
	} {
		var p jsonrpchttp.Parsed
		if got := srv.rpc.QuickDirect([]byte(tc.body), &p); got != tc.want {
			t.Errorf("QuickDirect(%.80s) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

package simplerpc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// postAsync sends body by POST from a goroutine of its own; the result
// arrives on the returned channel.
func postAsync(ctx context.Context, hc *http.Client, url, body string) <-chan asyncResult {
	ch := make(chan asyncResult, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			ch <- asyncResult{err: err}
			return
		}
		resp, err := hc.Do(req)
		if err != nil {
			ch <- asyncResult{err: err}
			return
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		var r rpcResponse
		if err == nil {
			err = json.Unmarshal(out, &r)
		}
		ch <- asyncResult{r: r, err: err}
	}()
	return ch
}

type asyncResult struct {
	r   rpcResponse
	err error
}

func TestJSONRPCShutdownWaitsForHTTPCalls(t *testing.T) {
	ts := startServer(t)
	ts.calc.started = make(chan struct{}, 1)
	mounted := httptest.NewServer(ts.srv)
	defer mounted.Close()
	hc := httpClient(t)

	// One call in flight on Serve's port, one on a mounted handler.
	inFlight := postAsync(context.Background(), hc, "http://"+ts.addr, call("Calc.Block", "", 1))
	<-ts.calc.started
	inFlightMounted := postAsync(context.Background(), hc, mounted.URL, call("Calc.Block", "", 2))
	<-ts.calc.started

	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	// New calls are refused as unavailable, so a client may retry them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := rpc(t, hc, mounted.URL, call("Calc.Add", "[1,2]", 3))
		if r.Error != nil {
			wantError(t, "call during shutdown", r, -32001, "shutting down")
			if r.Error.Data["code"] != "unavailable" {
				t.Errorf("refused call data: %v", r.Error.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("calls are still accepted during shutdown")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned before the HTTP calls finished: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(ts.calc.release)
	for i, ch := range []<-chan asyncResult{inFlight, inFlightMounted} {
		res := <-ch
		if res.err != nil {
			t.Fatalf("in-flight call %d: %v", i, res.err)
		}
		wantResult(t, fmt.Sprint("in-flight call ", i), res.r, `"released"`)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-ts.done; !errors.Is(err, simplerpc.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	ts.done <- nil // for the cleanup's stop
	// The port is closed: HTTP clients cannot connect any more.
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Error("the port still accepts connections after Shutdown")
	}
}

func TestJSONRPCCloseCancelsHTTPCalls(t *testing.T) {
	ts := startServer(t)
	ts.calc.started = make(chan struct{}, 1)
	hc := httpClient(t)
	inFlight := postAsync(context.Background(), hc, "http://"+ts.addr, call("Calc.Block", "", 1))
	<-ts.calc.started
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		ts.srv.Close()
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with an HTTP call in flight")
	}
	if res := <-inFlight; res.err == nil {
		t.Errorf("the in-flight call got a reply after Close: %+v", res.r)
	}
}

func TestJSONRPCDisconnectCancelsCall(t *testing.T) {
	ts := startServer(t)
	canceled := make(chan error, 1)
	started := make(chan struct{}, 1)
	err := ts.srv.RegisterFunc("wait", func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		canceled <- ctx.Err()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := postAsync(ctx, httpClient(t), "http://"+ts.addr, call("wait", "", 1))
	<-started
	cancel()
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the call's context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client went away and the call's context was not canceled")
	}
	<-res
}

func TestJSONRPCBusyServerRefuses(t *testing.T) {
	ts := startServer(t, simplerpc.WithMaxConcurrentCalls(1))
	ts.calc.started = make(chan struct{}, 1)
	hc := httpClient(t)
	inFlight := postAsync(context.Background(), hc, "http://"+ts.addr, call("Calc.Block", "", 1))
	<-ts.calc.started
	e := wantError(t, "busy", rpc(t, hc, "http://"+ts.addr, call("Calc.Add", "[1,2]", 2)), -32001, "server busy")
	if e.Data["code"] != "unavailable" {
		t.Errorf("busy data: %v", e.Data)
	}
	close(ts.calc.release)
	if res := <-inFlight; res.err != nil {
		t.Fatal(res.err)
	} else {
		wantResult(t, "blocked call", res.r, `"released"`)
	}
	wantResult(t, "after the busy call", rpc(t, hc, "http://"+ts.addr, call("Calc.Add", "[1,2]", 3)), "3")
}

func TestJSONRPCKeepAliveOnServePort(t *testing.T) {
	ts := startServer(t)
	// Several requests on one raw connection, as HTTP/1.1 keep-alive
	// sends them, pipelined.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	var reqs strings.Builder
	for i := range 3 {
		body := call("Calc.Add", fmt.Sprintf("[%d,%d]", i, i), i)
		fmt.Fprintf(&reqs, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	if _, err := io.WriteString(nc, reqs.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	for i := range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf(`{"jsonrpc":"2.0","result":%d,"id":%d}`, 2*i, i); string(out) != want {
			t.Errorf("response %d: %s, want %s", i, out, want)
		}
	}
}

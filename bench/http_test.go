package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestIdealHTTP checks that the http workload's ideal server answers the
// workload's client with the right sums, on one connection and on many.
func TestIdealHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop, err := serveIdealHTTP(ln, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	c := &jsonrpcClient{hc: &http.Client{Transport: tr}, url: "http://" + ln.Addr().String() + "/", method: "Bench.Add"}
	for i := range int64(20) {
		if err := c.add(context.Background(), i, -3*i); err != nil {
			t.Fatal(err)
		}
	}
	if err := primeLoad(context.Background(), 8, func(ctx context.Context, i int) error { return c.add(ctx, int64(i), 1<<40) }); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestLeanHTTP checks that every server of the http workload answers the
// lean client, on one connection and on many, and that the lean client
// fails a wrong answer: a call of a method the server lacks.
func TestLeanHTTP(t *testing.T) {
	for _, hs := range httpServers() {
		t.Run(hs.name, func(t *testing.T) {
			addr, _, stop := serveOnLoopback(t, hs)
			defer stop()
			c := newLeanClient(addr, hs.method)
			defer c.close()
			for range 5 {
				if err := c.add(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := primeLoad(context.Background(), 8, c.add); err != nil {
				t.Fatal(err)
			}
			wrong := newLeanClient(addr, hs.method+"Missing")
			defer wrong.close()
			if err := wrong.add(context.Background(), 0); err == nil {
				t.Errorf("a call of %sMissing passed", hs.method)
			}
		})
	}
}

// TestLeanMember checks the lean client's test of a reply's members.
func TestLeanMember(t *testing.T) {
	for _, tc := range []struct {
		body, m string
		ok      bool
	}{
		{`{"jsonrpc":"2.0","id":1003,"result":42}`, `"result":42`, true},
		{`{"jsonrpc":"2.0","result":42,"id":1003}`, `"id":1003`, true},
		{`{"jsonrpc":"2.0","id":1003,"result":420}`, `"result":42`, false},
		{`{"jsonrpc":"2.0","id":1003,"result":42`, `"result":42`, false},
		{`{"jsonrpc":"2.0","id":1003,"error":{}}`, `"result":42`, false},
	} {
		if got := hasMember([]byte(tc.body), []byte(tc.m)); got != tc.ok {
			t.Errorf("hasMember(%s, %s) = %v", tc.body, tc.m, got)
		}
	}
}

// TestIdealAdd checks the ideal server's reading of a request body.
func TestIdealAdd(t *testing.T) {
	for _, tc := range []struct {
		body, id string
		sum      int64
		ok       bool
	}{
		{`{"jsonrpc":"2.0","id":7,"method":"Bench.Add","params":[40,2]}`, "7", 42, true},
		{`{"jsonrpc":"2.0","id":"x","method":"Bench.Add","params":[-40,2]}`, `"x"`, -38, true},
		{`{"jsonrpc":"2.0","id":1,"method":"Bench.Add","params":[4.5,2]}`, "", 0, false},
		{`{"jsonrpc":"2.0","method":"Bench.Add","params":[1,2]}`, "", 0, false},
	} {
		id, sum, ok := idealAdd([]byte(tc.body))
		if ok != tc.ok || ok && (string(id) != tc.id || sum != tc.sum) {
			t.Errorf("idealAdd(%s) = %s, %d, %v; want %s, %d, %v", tc.body, id, sum, ok, tc.id, tc.sum, tc.ok)
		}
	}
}

// BenchmarkHTTP runs the http workload's calls against each of its
// servers at each of its caller counts (b.N calls in all), for CPU time per call
// and profiles of one server at a time: the workload itself measures
// throughput.
func BenchmarkHTTP(b *testing.B) {
	for _, hs := range httpServers() {
		for _, n := range httpConc {
			name := strings.NewReplacer("/", "-", " ", "-", "(", "", ")", "").Replace(hs.name)
			b.Run(fmt.Sprintf("%s/C=%d", name, n), func(b *testing.B) { benchHTTP(b, hs, n) })
		}
	}
}

func benchHTTP(b *testing.B, hs httpServer, n int) {
	benchServer(b, hs, n, func(addr string) (func(ctx context.Context, i int) error, func()) {
		tr := &http.Transport{MaxIdleConnsPerHost: httpConc[len(httpConc)-1]}
		c := &jsonrpcClient{hc: &http.Client{Transport: tr}, url: "http://" + addr + "/", method: hs.method}
		return func(ctx context.Context, i int) error { return c.add(ctx, 40, 2) }, tr.CloseIdleConnections
	})
}

// benchServer serves hs on a loopback port and makes b.N calls of it
// with n callers, each calling add (with its index) back to back; dial
// makes the client for the server's address and what closes it.
func benchServer(b *testing.B, hs httpServer, n int, dial func(addr string) (add func(ctx context.Context, i int) error, closeClient func())) {
	addr, _, stop := serveOnLoopback(b, hs)
	defer stop()
	add, closeClient := dial(addr)
	defer closeClient()
	ctx := context.Background()
	if err := primeLoad(ctx, n, add); err != nil {
		b.Fatal(err)
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			for left.Add(-1) >= 0 {
				if err := add(ctx, i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			b.Error(err)
		}
	}
	b.StopTimer()
}

// BenchmarkHTTPLean is BenchmarkHTTP with the lean client: a connection
// per caller, prebuilt requests, so that the server's own cost is most of
// the CPU time per call.
func BenchmarkHTTPLean(b *testing.B) {
	for _, hs := range httpServers() {
		for _, n := range httpConc {
			name := strings.NewReplacer("/", "-", " ", "-", "(", "", ")", "").Replace(hs.name)
			b.Run(fmt.Sprintf("%s/C=%d", name, n), func(b *testing.B) { benchLean(b, hs, n) })
		}
	}
}

func benchLean(b *testing.B, hs httpServer, n int) {
	benchServer(b, hs, n, func(addr string) (func(ctx context.Context, i int) error, func()) {
		c := newLeanClient(addr, hs.method)
		return c.add, c.close
	})
}

// serveOnLoopback serves hs on a loopback port and returns its address,
// the count of warnings it logs, and what stops it, failing tb if it does
// not stop cleanly.
func serveOnLoopback(tb testing.TB, hs httpServer) (string, *atomic.Int64, func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	warns := new(atomic.Int64)
	stop, err := hs.serve(ln, warns)
	if err != nil {
		tb.Fatal(err)
	}
	return ln.Addr().String(), warns, func() {
		if err := stop(); err != nil {
			tb.Error(err)
		}
	}
}

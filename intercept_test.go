package simplerpc_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
)

// sizeRecorder is an interceptor that keeps the sizes the CallInfo of
// each call reports once the call has returned, by method.
type sizeRecorder struct {
	mu    sync.Mutex
	sizes map[string][2]int
}

func (r *sizeRecorder) intercept(next simplerpc.Invoker) simplerpc.Invoker {
	return func(ctx context.Context, info *simplerpc.CallInfo) error {
		err := next(ctx, info)
		r.mu.Lock()
		if r.sizes == nil {
			r.sizes = make(map[string][2]int)
		}
		r.sizes[info.Method] = [2]int{info.RequestSize, info.ResponseSize}
		r.mu.Unlock()
		return err
	}
}

// Both sides' interceptors hear the size of a call's encoded arguments
// and of its results, the same on both; a call that failed has no
// results.
func TestInterceptorSizes(t *testing.T) {
	eachCodecWith(t, func(t *testing.T, codec string) {
		var server, client sizeRecorder
		ts := startServer(t, simplerpc.WithInterceptor(server.intercept))
		c := dial(t, ts.addr, simplerpc.WithCodec(codec), simplerpc.WithInterceptor(client.intercept))
		payload := bytes.Repeat([]byte{7}, 300)
		var got []byte
		if err := c.Call(context.Background(), "Calc.Echo", []any{payload}, &got); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("Calc.Echo: %d bytes, %v", len(got), err)
		}
		var q float64
		if err := c.Call(context.Background(), "Calc.Div", []any{1.0, 0.0}, &q); err == nil {
			t.Fatal("Calc.Div by zero did not fail")
		}
		echo, div := client.sizes["Calc.Echo"], client.sizes["Calc.Div"]
		if echo[0] <= 300 || echo[1] <= 300 {
			t.Errorf("client sizes of Calc.Echo(300 bytes) = %v, want both above 300", echo)
		}
		if div[0] <= 0 || div[1] != 0 {
			t.Errorf("client sizes of a failed Calc.Div = %v, want arguments and no results", div)
		}
		if server.sizes["Calc.Echo"] != echo || server.sizes["Calc.Div"] != div {
			t.Errorf("server sizes %v, client sizes %v: want the same", server.sizes, client.sizes)
		}
	})
}

// eachCodecWith runs f with each codec a client may ask for.
func eachCodecWith(t *testing.T, f func(t *testing.T, codec string)) {
	for _, name := range []string{"cbor", "json"} {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}

// An interceptor that polls its context's Err, without ever asking for
// Done, still sees a cancel the client sends.
func TestInterceptorSeesCancelWithoutDone(t *testing.T) {
	saw := make(chan error, 1)
	poll := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			if info.Method != "Calc.Nothing" {
				return next(ctx, info)
			}
			deadline := time.Now().Add(10 * time.Second)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			saw <- ctx.Err()
			return next(ctx, info)
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(poll))
	c := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := c.Call(ctx, "Calc.Nothing", nil); codeOf(t, err) != simplerpc.CodeCanceled {
		t.Errorf("canceled call: %v", err)
	}
	select {
	case err := <-saw:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the interceptor's context ended with %v, want Canceled", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the interceptor never saw the cancel")
	}
}

// An interceptor must pass on the CallInfo it was given, or a copy: one
// it makes itself fails the call, on either side, with a message that
// says so.
func TestInterceptorOwnCallInfo(t *testing.T) {
	own := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			return next(ctx, &simplerpc.CallInfo{Method: info.Method, Metadata: info.Metadata})
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(own))
	err := dial(t, ts.addr).Call(context.Background(), "Calc.Add", []any{1, 2})
	if codeOf(t, err) != simplerpc.CodeInternal || !strings.Contains(err.Error(), "CallInfo it made itself") {
		t.Errorf("server interceptor passing its own CallInfo: %v", err)
	}
	plain := startServer(t)
	err = dial(t, plain.addr, simplerpc.WithInterceptor(own)).Call(context.Background(), "Calc.Add", []any{1, 2})
	if codeOf(t, err) != simplerpc.CodeInternal || !strings.Contains(err.Error(), "call not sent") {
		t.Errorf("client interceptor passing its own CallInfo: %v", err)
	}
}

// The client reuses a call's CallInfo and metadata map for later calls:
// what an interceptor added to one call's metadata never travels with
// the next, and the context's own metadata travels with each.
func TestClientCallInfoReuse(t *testing.T) {
	var mu sync.Mutex
	var seen []simplerpc.Metadata
	record := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			mu.Lock()
			seen = append(seen, maps.Clone(info.Metadata))
			mu.Unlock()
			return next(ctx, info)
		}
	}
	var n atomic.Int64
	tag := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			if n.Add(1) == 1 {
				info.Metadata.Set("x-first", "yes")
			}
			return next(ctx, info)
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(record))
	c := dial(t, ts.addr, simplerpc.WithInterceptor(tag))
	ctx := simplerpc.AppendMetadata(context.Background(), "x-ctx", "1")
	for i := range 3 {
		var sum int
		if err := c.Call(ctx, "Calc.Add", []any{i, 1}, &sum); err != nil || sum != i+1 {
			t.Fatalf("Calc.Add(%d, 1) = %d, %v", i, sum, err)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("server saw %d calls, want 3", len(seen))
	}
	for i, md := range seen {
		if md.Get("x-ctx") != "1" {
			t.Errorf("call %d: metadata %v lacks the context's x-ctx", i, md)
		}
		if want := i == 0; (md.Get("x-first") != "") != want {
			t.Errorf("call %d: metadata %v; x-first should be there only on the first call", i, md)
		}
	}
}

// The interceptors are applied once, when the Client or Server is made,
// not once per call.
func TestInterceptorsAppliedOnce(t *testing.T) {
	var server, client atomic.Int64
	counting := func(n *atomic.Int64) simplerpc.Interceptor {
		return func(next simplerpc.Invoker) simplerpc.Invoker {
			n.Add(1)
			return next
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(counting(&server)))
	c := dial(t, ts.addr, simplerpc.WithInterceptor(counting(&client)))
	for range 5 {
		if err := c.Call(context.Background(), "Calc.Add", []any{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	if server.Load() != 1 || client.Load() != 1 {
		t.Errorf("interceptors applied %d times on the server, %d on the client; want once each", server.Load(), client.Load())
	}
}

// The context an interceptor sees ends when its call does, whether or
// not anyone asked for Done during the call.
func TestInterceptorContextEndsWithTheCall(t *testing.T) {
	kept := make(chan context.Context, 2)
	keep := func(next simplerpc.Invoker) simplerpc.Invoker {
		return func(ctx context.Context, info *simplerpc.CallInfo) error {
			if info.Method == "Calc.Sum" {
				_ = ctx.Done() // this one's made live during the call
			}
			kept <- ctx
			return next(ctx, info)
		}
	}
	ts := startServer(t, simplerpc.WithInterceptor(keep))
	c := dial(t, ts.addr)
	for _, call := range []struct {
		method string
		args   []any
	}{{"Calc.Add", []any{1, 2}}, {"Calc.Sum", []any{1, 2, 3}}} {
		if err := c.Call(context.Background(), call.method, call.args); err != nil {
			t.Fatalf("%s: %v", call.method, err)
		}
		ctx := <-kept
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the interceptor's context did not end with its call", call.method)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("%s: Err after the call = %v, want Canceled", call.method, ctx.Err())
		}
	}
}

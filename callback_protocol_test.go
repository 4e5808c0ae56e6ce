package simplerpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// A JSON-RPC call of a method with a callback is refused, saying why.
func TestCallbackJSONRPCRefused(t *testing.T) {
	ts, _ := startJobs(t)
	r := rpc(t, httpClient(t), "http://"+ts.addr, call("Jobs.Visit", `[["a"], null]`, 1))
	wantError(t, "JSON-RPC call of a method with a callback", r, -32602, "native protocol")
}

// A client of the version before callbacks (no hello flag) calls a
// method with a callback: the method's callback fails with ErrNoCallbacks,
// which comes back in the reply.
func TestCallbackOldClient(t *testing.T) {
	ts, j := startJobs(t)
	w := openWire(t, ts.addr, "cbor")
	w.call(1, "Jobs.Visit", []string{"a"}, nil)
	e := w.expectCode(1, simplerpc.CodeApplication) // Visit wraps its callback's error
	if e.Name != "simplerpc.no_callbacks" || !errors.Is(j.last(), simplerpc.ErrNoCallbacks) {
		t.Fatalf("old client: reply %+v, server saw %v", e, j.last())
	}
	w.expectAdd(2)
}

// fakeServer accepts one connection, answers its hello with flags, and
// hands the connection to serve.
func fakeServer(t *testing.T, flags uint8, serve func(w *wireConn)) string {
	t.Helper()
	l := listen(t)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		pre := make([]byte, wire.HelloPrefixSize)
		if _, err := io.ReadFull(nc, pre); err != nil {
			return
		}
		h, n, _ := wire.ParseHelloPrefix(pre)
		rest := make([]byte, n)
		if _, err := io.ReadFull(nc, rest); err != nil {
			return
		}
		wire.ParseHelloRest(&h, rest)
		if _, err := nc.Write(wire.AppendWelcome(nil, wire.Welcome{Version: wire.Version, Flags: flags, MaxBody: 1 << 20})); err != nil {
			return
		}
		serve(&wireConn{t: t, nc: nc, codec: codec.ByName(h.Codec)})
	}()
	return l.Addr().String()
}

// A server of the version before callbacks: a call passing funcs fails
// before it is sent.
func TestCallbackOldServer(t *testing.T) {
	var got atomic.Int64
	addr := fakeServer(t, wire.WelcomeStreams, func(w *wireConn) {
		for {
			if _, err := w.tryNext(); err != nil {
				return
			}
			got.Add(1)
		}
	})
	c := dial(t, addr, simplerpc.WithResumableSessions(false))
	err := c.Call(context.Background(), "Jobs.Visit", []any{[]string{"a"}, func(string) (int, error) { return 1, nil }})
	if codeOf(t, err) != simplerpc.CodeNotFound || !contains(err.Error(), "takes no callbacks") {
		t.Fatalf("call with a func to an old server: %v", err)
	}
	c.Close()
	if got.Load() != 0 {
		t.Fatalf("the old server read %d frames", got.Load())
	}
}

// A server can reach only the funcs passed with a call, and only while
// the call is pending: a callback naming another call, or a slot the call
// did not fill, is refused without running anything.
func TestCallbackSecurity(t *testing.T) {
	type answer struct {
		code simplerpc.Code
		name string
		ok   bool
	}
	answers := make(chan answer, 8)
	addr := fakeServer(t, wire.WelcomeStreams|wire.WelcomeCallbacks, func(w *wireConn) {
		f, err := w.tryNext()
		if err != nil || f.Kind != wire.KindCall {
			return
		}
		send := func(id, slot, inv uint64, args ...any) answer {
			var buf bytes.Buffer
			_ = w.codec.AppendArray(&buf, args)
			w.frame(wire.KindCallback, 0, id, append(wire.AppendCallbackPrefix(nil, slot, inv, 0, 0), buf.Bytes()...))
			r, err := w.tryNext()
			if err != nil || r.Kind != wire.KindCallbackReply || r.ID != id {
				return answer{}
			}
			gotInv, rest, err := wire.ParseInvocation(r.body)
			if err != nil || gotInv != inv {
				return answer{}
			}
			if r.Flags&wire.FlagError == 0 {
				return answer{ok: true}
			}
			e := w.errorObject(rawFrame{Header: r.Header, body: rest})
			return answer{code: e.Code, name: e.Name}
		}
		answers <- send(f.ID+1, 0, 1, "other call")
		answers <- send(f.ID, 1, 2, "no such slot")
		answers <- send(f.ID, 0, 3, "mine")
		var res bytes.Buffer
		_ = w.codec.AppendArray(&res, []any{1})
		w.frame(wire.KindReply, 0, f.ID, res.Bytes())
		answers <- send(f.ID, 0, 4, "after the reply")
		_, _ = w.tryNext() // until the client hangs up
	})
	c := dial(t, addr, simplerpc.WithResumableSessions(false))
	var ran []string
	var n int
	err := c.Call(context.Background(), "Jobs.Visit", []any{[]string{"a"}, func(s string) (int, error) {
		ran = append(ran, s)
		return 1, nil
	}}, &n)
	if err != nil || n != 1 {
		t.Fatalf("Visit = %d, %v", n, err)
	}
	for i, want := range []answer{
		{code: simplerpc.CodeUnavailable, name: "simplerpc.callback_expired"},
		{code: simplerpc.CodeInvalidArgument},
		{ok: true},
		{code: simplerpc.CodeUnavailable, name: "simplerpc.callback_expired"},
	} {
		if got := <-answers; got != want {
			t.Errorf("callback %d: answered %+v, want %+v", i+1, got, want)
		}
	}
	if len(ran) != 1 || ran[0] != "mine" {
		t.Fatalf("the client ran %q, want only the call's own invocation", ran)
	}
}

// An attacker whose client never answers callbacks holds at most the
// per-call and per-connection limits of invocations in flight; a
// well-behaved client beside it calls back as usual, and the attacker's
// calls end when it leaves.
func TestCallbackLimitsAttack(t *testing.T) {
	ts, _ := startJobs(t, simplerpc.WithCallbackLimits(4, 6))
	w := dialWire(t, ts.addr)
	if wel := w.hello(wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"}); wel.Flags&wire.WelcomeCallbacks == 0 {
		t.Fatalf("welcome %+v grants no callbacks", wel)
	}
	w.codec = codec.CBOR
	w.call(1, "Jobs.Parallel", 40, uint64(0))
	w.call(2, "Jobs.Parallel", 40, uint64(0))
	perCall := map[uint64]int{}
	_ = w.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	for {
		f, err := w.tryNext()
		if err != nil {
			break
		}
		if f.Kind == wire.KindCallback {
			perCall[f.ID]++
		}
	}
	if perCall[1] > 4 || perCall[2] > 4 || perCall[1]+perCall[2] != 6 {
		t.Fatalf("invocations in flight per call %v, want at most 4 each and 6 in all", perCall)
	}
	jobs := bindJobs(t, dial(t, ts.addr))
	sum, err := jobs.Parallel(context.Background(), 16, func(i int) (int, error) { return i, nil })
	if err != nil || sum != 15*16/2 {
		t.Fatalf("the well-behaved client beside the attacker: %d, %v", sum, err)
	}
	w.nc.Close() // the attacker's calls end: their invocations fail
}

// A client runs at most its limit of invocations at once; the rest are
// refused with CodeResourceExhausted.
func TestCallbackClientLimit(t *testing.T) {
	ts, _ := startJobs(t)
	jobs := bindJobs(t, dial(t, ts.addr, simplerpc.WithClientCallbackLimit(2)))
	var peak, running atomic.Int64
	_, err := jobs.Parallel(context.Background(), 8, func(i int) (int, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(200 * time.Millisecond)
		running.Add(-1)
		return i, nil
	})
	if codeOf(t, err) != simplerpc.CodeResourceExhausted || peak.Load() > 2 {
		t.Fatalf("8 invocations at once with a limit of 2: %v, %d ran at once", err, peak.Load())
	}
}

// The connection of a call breaks while a callback runs: the invocation
// fails on the server with CodeConnectionLost, never hangs.
func TestCallbackConnectionLost(t *testing.T) {
	ts, j := startJobs(t)
	var nc atomic.Pointer[net.Conn]
	c := dial(t, ts.addr, simplerpc.WithResumableSessions(false), simplerpc.WithDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			nc.Store(&conn)
		}
		return conn, err
	}))
	jobs := bindJobs(t, c)
	err := jobs.Wait(context.Background(), 0, func(ctx context.Context) error {
		(*nc.Load()).Close()
		<-ctx.Done()
		return ctx.Err()
	})
	if codeOf(t, err) != simplerpc.CodeConnectionLost {
		t.Fatalf("Wait over a broken connection: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for j.last() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if codeOf(t, j.last()) != simplerpc.CodeConnectionLost {
		t.Fatalf("the server's invocation: %v", j.last())
	}
}

// The frames of PROTOCOL.md §13 as a client in another language sees
// them: a callback frame under the call's id with the slot sent, the
// invocation's number, the settled number and the time left; the reply
// answering it; a callback cancel when the server gives up; and the
// call's reply.
func TestProtocol_13_CallbackFrames(t *testing.T) {
	ts, j := startJobs(t)
	w := dialWire(t, ts.addr)
	w.hello(wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"})
	w.codec = codec.CBOR
	// Visit(items, visit): visit is in slot 7, which the client chose.
	w.call(1, "Jobs.Visit", []string{"ab", "cde"}, uint64(7))
	for inv, item := range []string{"ab", "cde"} {
		f := w.next()
		if f.Kind != wire.KindCallback || f.ID != 1 {
			t.Fatalf("frame %s %d, want a callback of call 1", f.Kind, f.ID)
		}
		c, err := wire.ParseCallback(f.body)
		if err != nil || c.Slot != 7 || c.Invocation != uint64(inv+1) || c.Acked != uint64(inv) || c.Timeout != 0 {
			t.Fatalf("callback %+v, %v; want slot 7, invocation %d, settled %d, no timeout", c, err, inv+1, inv)
		}
		var s string
		arr, err := w.codec.OpenArray(c.Args)
		if err != nil || arr.Len() != 1 || arr.Next(&s) != nil || s != item {
			t.Fatalf("callback arguments %x: want [%q]", c.Args, item)
		}
		var res bytes.Buffer
		_ = w.codec.AppendArray(&res, []any{len(s)})
		w.frame(wire.KindCallbackReply, 0, 1, append(wire.AppendInvocation(nil, c.Invocation), res.Bytes()...))
	}
	var n int
	w.results(w.reply(), &n)
	if n != 5 {
		t.Fatalf("Visit = %d, want 5", n)
	}
	// A deadline: the callback frame carries the time left, and the
	// server that gives up sends a callback cancel.
	w.call(2, "Jobs.Wait", int64(50*time.Millisecond), uint64(0))
	f := w.next()
	c, err := wire.ParseCallback(f.body)
	if err != nil || f.Kind != wire.KindCallback || c.Timeout <= 0 || c.Timeout > 50*time.Millisecond {
		t.Fatalf("callback of Wait: %s %+v, %v; want a timeout of at most 50ms", f.Kind, c, err)
	}
	f = w.next()
	if f.Kind != wire.KindCallbackCancel || f.ID != 2 {
		t.Fatalf("frame %s %d, want a callback cancel of call 2", f.Kind, f.ID)
	}
	if inv, _, err := wire.ParseInvocation(f.body); err != nil || inv != c.Invocation {
		t.Fatalf("callback cancel of invocation %d, %v; want %d", inv, err, c.Invocation)
	}
	w.expectCode(2, simplerpc.CodeDeadlineExceeded)
	if !errors.Is(j.last(), context.DeadlineExceeded) {
		t.Fatalf("the server's invocation: %v", j.last())
	}
	w.expectAdd(3)
}

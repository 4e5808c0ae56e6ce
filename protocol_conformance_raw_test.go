package simplerpc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc"
	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// The conformance tests speak PROTOCOL.md by hand, frame by frame, and
// check what a client of another language would see. Each test names the
// section whose rule it checks: TestProtocol_<section>_<rule>.

// Conf is the service the conformance tests call: it counts its runs, so
// a test can tell a call answered from memory from one run again, and it
// holds calls until a test lets them go.
type Conf struct {
	runs    atomic.Int64
	started chan string   // a tag per Wait begun
	gate    chan struct{} // closed to let every Wait return
}

// Count counts a run and returns the count.
func (c *Conf) Count() int64 { return c.runs.Add(1) }

// Wait counts a run and returns tag once the gate opens, or the
// context's error.
func (c *Conf) Wait(ctx context.Context, tag string) (string, error) {
	c.runs.Add(1)
	c.started <- tag
	select {
	case <-c.gate:
		return tag, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// HasDeadline reports whether the call runs with a deadline.
func (c *Conf) HasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

// Take accepts any value, and returns 1.
func (c *Conf) Take(v any) int { return 1 }

// Fail returns an error that wraps another.
func (c *Conf) Fail() error { return fmt.Errorf("outer: %w", io.ErrUnexpectedEOF) }

// confServer is a test server with the Conf service.
type confServer struct {
	*testServer
	conf *Conf
}

// startConf starts a server with Calc, greet and Conf.
func startConf(t *testing.T, opts ...simplerpc.ServerOption) *confServer {
	t.Helper()
	ts := startServer(t, opts...)
	conf := &Conf{started: make(chan string, 64), gate: make(chan struct{})}
	if err := ts.srv.Register("Conf", conf); err != nil {
		t.Fatal(err)
	}
	cs := &confServer{testServer: ts, conf: conf}
	t.Cleanup(cs.open) // no Wait may outlive the test
	return cs
}

// open lets every Wait return, once.
func (cs *confServer) open() {
	select {
	case <-cs.conf.gate:
	default:
		close(cs.conf.gate)
	}
}

// waitStarted waits for a Wait call with tag to begin.
func (cs *confServer) waitStarted(t *testing.T, tag string) {
	t.Helper()
	select {
	case got := <-cs.conf.started:
		if got != tag {
			t.Fatalf("Wait(%q) began, want Wait(%q)", got, tag)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Wait(%q) did not begin", tag)
	}
}

// waitIdle waits until the server runs no call.
func (cs *confServer) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for simplerpc.ActiveCalls(cs.srv) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the server still runs %d calls", simplerpc.ActiveCalls(cs.srv))
		}
		time.Sleep(time.Millisecond)
	}
}

// wireConn is one connection spoken by hand.
type wireConn struct {
	t     *testing.T
	nc    net.Conn
	codec codec.Codec
}

// dialWire opens a TCP connection to addr, with nothing sent yet.
func dialWire(t *testing.T, addr string) *wireConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &wireConn{t: t, nc: nc}
}

// write sends raw bytes.
func (w *wireConn) write(b []byte) {
	w.t.Helper()
	if _, err := w.nc.Write(b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// hello sends h and returns the welcome.
func (w *wireConn) hello(h wire.Hello) wire.Welcome {
	w.t.Helper()
	w.write(wire.AppendHello(nil, h))
	return w.welcome()
}

// welcome reads the server's welcome.
func (w *wireConn) welcome() wire.Welcome {
	w.t.Helper()
	b := make([]byte, wire.WelcomeSize)
	if _, err := io.ReadFull(w.nc, b); err != nil {
		w.t.Fatalf("no welcome: %v", err)
	}
	wel, err := wire.ParseWelcome(b)
	if err != nil {
		w.t.Fatal(err)
	}
	return wel
}

// openWire dials addr and completes a handshake with codec name, without
// a session.
func openWire(t *testing.T, addr, name string) *wireConn {
	t.Helper()
	w := dialWire(t, addr)
	if wel := w.hello(wire.Hello{Version: wire.Version, Codec: name}); wel.Status != wire.StatusOK {
		t.Fatalf("welcome status %d", wel.Status)
	}
	w.codec = codec.ByName(name)
	return w
}

// newSessionID returns a random session id.
func newSessionID(t *testing.T) [wire.SessionIDSize]byte {
	var sid [wire.SessionIDSize]byte
	if _, err := rand.Read(sid[:]); err != nil {
		t.Fatal(err)
	}
	return sid
}

// openSession dials addr and sends a CBOR hello naming sid, asking to
// resume it if resume; it returns the connection and the welcome.
func openSession(t *testing.T, addr string, sid [wire.SessionIDSize]byte, resume bool) (*wireConn, wire.Welcome) {
	t.Helper()
	w := dialWire(t, addr)
	h := wire.Hello{Version: wire.Version, Flags: wire.HelloSession, Codec: "cbor", Session: sid}
	if resume {
		h.Flags |= wire.HelloResume
	}
	wel := w.hello(h)
	w.codec = codec.CBOR
	return w, wel
}

// frame sends one frame; its size is body's.
func (w *wireConn) frame(kind wire.Kind, flags uint8, id uint64, body []byte) {
	w.t.Helper()
	h := wire.Header{Size: uint32(len(body)), Kind: kind, Flags: flags, ID: id}
	w.write(append(wire.AppendHeader(nil, h), body...))
}

// callBody encodes a call body and the flags its frame carries.
func (w *wireConn) callBody(method string, timeout time.Duration, md []string, args ...any) ([]byte, uint8) {
	w.t.Helper()
	body, flags := wire.AppendCallPrefix(nil, method, timeout, md)
	var buf bytes.Buffer
	if args == nil {
		args = []any{}
	}
	if err := w.codec.AppendArray(&buf, args); err != nil {
		w.t.Fatal(err)
	}
	return append(body, buf.Bytes()...), flags
}

// call sends a call with no timeout and no metadata.
func (w *wireConn) call(id uint64, method string, args ...any) {
	w.t.Helper()
	body, flags := w.callBody(method, 0, nil, args...)
	w.frame(wire.KindCall, flags, id, body)
}

// rawFrame is a frame read from the server.
type rawFrame struct {
	wire.Header
	body []byte
}

// next reads the next frame, whatever its kind.
func (w *wireConn) next() rawFrame {
	w.t.Helper()
	f, err := w.tryNext()
	if err != nil {
		w.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

func (w *wireConn) tryNext() (rawFrame, error) {
	hb := make([]byte, wire.HeaderSize)
	if _, err := io.ReadFull(w.nc, hb); err != nil {
		return rawFrame{}, err
	}
	h, err := wire.ParseHeader(hb, wire.DefaultMaxBody)
	if err != nil {
		return rawFrame{}, err
	}
	f := rawFrame{Header: h, body: make([]byte, h.Size)}
	if _, err := io.ReadFull(w.nc, f.body); err != nil {
		return rawFrame{}, err
	}
	return f, nil
}

// reply reads frames up to the next reply, answering pings.
func (w *wireConn) reply() rawFrame {
	w.t.Helper()
	for {
		f := w.next()
		switch f.Kind {
		case wire.KindReply:
			return f
		case wire.KindPing:
			w.frame(wire.KindPong, 0, f.ID, nil)
		case wire.KindGoAway:
		default:
			w.t.Fatalf("unexpected %s frame", f.Kind)
		}
	}
}

// results decodes a successful reply into ptrs.
func (w *wireConn) results(f rawFrame, ptrs ...any) {
	w.t.Helper()
	if f.Flags&wire.FlagError != 0 {
		w.t.Fatalf("reply %d is an error: %+v", f.ID, w.errorObject(f))
	}
	arr, err := w.codec.OpenArray(f.body)
	if err != nil {
		w.t.Fatal(err)
	}
	if arr.Len() != len(ptrs) {
		w.t.Fatalf("reply %d holds %d results, want %d", f.ID, arr.Len(), len(ptrs))
	}
	for _, p := range ptrs {
		if err := arr.Next(p); err != nil {
			w.t.Fatal(err)
		}
	}
}

// errorObject is an error reply's body (§4).
type errorObject struct {
	Code                                     simplerpc.Code
	Message, Method, RemoteType, Stack, Name string
	HasDetail                                bool
	Detail                                   map[string]any
}

// errorObject decodes an error reply.
func (w *wireConn) errorObject(f rawFrame) errorObject {
	w.t.Helper()
	if f.Flags&wire.FlagError == 0 {
		w.t.Fatalf("reply %d is not an error", f.ID)
	}
	arr, err := w.codec.OpenArray(f.body)
	if err != nil {
		w.t.Fatal(err)
	}
	var e errorObject
	var code uint64
	for _, p := range []any{&code, &e.Message, &e.Method, &e.RemoteType, &e.Stack, &e.Name} {
		if err := arr.Next(p); err != nil {
			w.t.Fatalf("error object: %v", err)
		}
	}
	e.Code = simplerpc.Code(code)
	if arr.Remaining() > 0 {
		e.HasDetail = true
		if err := arr.Next(&e.Detail); err != nil {
			w.t.Fatalf("error detail: %v", err)
		}
	}
	return e
}

// expectCode reads the next reply and checks it is an error of code for
// call id.
func (w *wireConn) expectCode(id uint64, code simplerpc.Code) errorObject {
	w.t.Helper()
	f := w.reply()
	if f.ID != id {
		w.t.Fatalf("reply for call %d, want %d", f.ID, id)
	}
	e := w.errorObject(f)
	if e.Code != code {
		w.t.Fatalf("call %d: code %v (%s), want %v", id, e.Code, e.Message, code)
	}
	return e
}

// expectAdd checks that the connection still serves: Calc.Add under id.
func (w *wireConn) expectAdd(id uint64) {
	w.t.Helper()
	w.call(id, "Calc.Add", 2, 3)
	f := w.reply()
	var n int
	w.results(f, &n)
	if f.ID != id || n != 5 {
		w.t.Fatalf("Calc.Add under id %d: reply %d = %d", id, f.ID, n)
	}
}

// expectClosed checks that the server closes the connection within 5 s,
// sending nothing but pings and go-aways first.
func (w *wireConn) expectClosed() {
	w.t.Helper()
	_ = w.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := w.tryNext()
		if err == nil {
			if f.Kind == wire.KindReply {
				w.t.Fatalf("reply %d where the connection should close", f.ID)
			}
			continue
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			w.t.Fatal("the server did not close the connection")
		}
		return
	}
}

// expectSilence checks that nothing but pings arrives for d.
func (w *wireConn) expectSilence(d time.Duration) {
	w.t.Helper()
	_ = w.nc.SetReadDeadline(time.Now().Add(d))
	defer w.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := w.tryNext()
		if err != nil {
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				return
			}
			w.t.Fatalf("connection failed: %v", err)
		}
		if f.Kind == wire.KindPing {
			w.frame(wire.KindPong, 0, f.ID, nil)
			continue
		}
		w.t.Fatalf("unexpected %s frame %d", f.Kind, f.ID)
	}
}

// codecByName returns the codec name, which must exist.
func codecByName(t *testing.T, name string) codec.Codec {
	t.Helper()
	c := codec.ByName(name)
	if c == nil {
		t.Fatalf("no codec %q", name)
	}
	return c
}

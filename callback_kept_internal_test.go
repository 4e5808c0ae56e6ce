package simplerpc

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// keptServer is the far side of a client connection that a test drives
// by hand: it sends callback frames of call 999 and reads the replies.
type keptServer struct {
	t  *testing.T
	nc net.Conn
}

// acceptKept accepts a client connection on ln, reads its hello and
// welcomes it with callbacks on.
func acceptKept(t *testing.T, ln net.Listener, hello wire.Hello) *keptServer {
	nc, err := ln.Accept()
	if err != nil {
		t.Error(err)
		return nil
	}
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(nc, make([]byte, len(wire.AppendHello(nil, hello)))); err != nil {
		t.Error(err)
	}
	welcome := wire.Welcome{Version: wire.Version, Status: wire.StatusOK, Flags: wire.WelcomeCallbacks, MaxBody: 1 << 20}
	if _, err := nc.Write(wire.AppendWelcome(nil, welcome)); err != nil {
		t.Error(err)
	}
	return &keptServer{t: t, nc: nc}
}

// ask sends invocations first to last of slot 0, settling none.
func (s *keptServer) ask(first, last uint64) {
	var batch []byte
	for inv := first; inv <= last; inv++ {
		body := append(wire.AppendCallbackPrefix(nil, 0, inv, 0, 0), 0x80) // no arguments
		batch = wire.AppendHeader(batch, wire.Header{Kind: wire.KindCallback, ID: 999, Size: uint32(len(body))})
		batch = append(batch, body...)
	}
	if _, err := s.nc.Write(batch); err != nil {
		s.t.Error(err)
	}
}

// reply is a callback reply as the server reads it.
type reply struct {
	inv    uint64
	failed bool
	code   Code   // when failed
	msg    string // when failed
	size   int
}

// replies reads n callback replies, skipping any other frame.
func (s *keptServer) replies(n int) []reply {
	var out []reply
	head := make([]byte, wire.HeaderSize)
	for len(out) < n {
		if _, err := io.ReadFull(s.nc, head); err != nil {
			s.t.Errorf("after %d replies: %v", len(out), err)
			return out
		}
		h, err := wire.ParseHeader(head, 1<<20)
		if err != nil {
			s.t.Fatal(err)
		}
		body := make([]byte, h.Size)
		if _, err := io.ReadFull(s.nc, body); err != nil {
			s.t.Fatal(err)
		}
		if h.Kind != wire.KindCallbackReply {
			continue
		}
		inv, rest, err := wire.ParseInvocation(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r := reply{inv: inv, failed: h.Flags&wire.FlagError != 0, size: len(rest)}
		if r.failed {
			e := decodeErrorBody(codec.CBOR, rest, "Tick")
			r.code, r.msg = e.Code, e.Message
		}
		out = append(out, r)
	}
	return out
}

// dialKept connects a client connection for the funcs of cb, as call 999.
func dialKept(t *testing.T, ctx context.Context, addr string, hello wire.Hello, cb *clientCallbacks) *clientConn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cs := connSettings{writeTimeout: 30 * time.Second, maxMessageSize: 1 << 20, callbackLimit: DefaultClientCallbacks}
	cc, _, err := newClientConn(ctx, nc, hello, cs, oneCallSink{cb: cb}, make(chan struct{}, 1))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// A server that never settles its invocations does not make a resumable
// call keep every reply: past maxKeptReplyBytes the oldest are dropped,
// and an invocation whose reply was dropped, asked again on the
// connection that resumes the call, is answered with an error and not
// run again; one whose reply was kept gets it.
func TestCallbackKeptRepliesBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const replySize = 64 << 10
	const n = 3 * maxKeptReplyBytes / replySize // three times the bound
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var runs atomic.Int32
	cb, _, err := newClientCallbacks(ctx, "Big", []any{func() []byte { runs.Add(1); return make([]byte, replySize) }})
	if err != nil {
		t.Fatal(err)
	}
	cb.resumable = true
	defer cb.finish()
	hello := wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"}

	first := make(chan *keptServer, 1)
	go func() { first <- acceptKept(t, ln, hello) }()
	cc := dialKept(t, ctx, ln.Addr().String(), hello, cb)
	s := <-first
	if s == nil {
		t.FailNow()
	}
	for first := uint64(1); first <= n; first += 64 { // fewer at once than the client runs
		s.ask(first, first+63)
		for _, r := range s.replies(64) {
			if r.failed {
				t.Fatalf("invocation %d failed on its first asking: %s", r.inv, r.msg)
			}
		}
	}
	cb.mu.Lock()
	kept := cb.kept
	cb.mu.Unlock()
	if kept > maxKeptReplyBytes {
		t.Errorf("the call keeps %d bytes of replies; want at most %d", kept, maxKeptReplyBytes)
	}
	if kept < maxKeptReplyBytes/2 {
		t.Errorf("the call keeps %d bytes of replies; want the newest up to %d", kept, maxKeptReplyBytes)
	}
	cc.close(nil)
	<-cc.done
	s.nc.Close()

	// The connection that resumes the call: the server asks for the
	// first reply (dropped) and the last (kept).
	second := make(chan *keptServer, 1)
	go func() { second <- acceptKept(t, ln, hello) }()
	cc2 := dialKept(t, ctx, ln.Addr().String(), hello, cb)
	defer func() {
		cc2.close(nil)
		<-cc2.done
	}()
	s2 := <-second
	if s2 == nil {
		t.FailNow()
	}
	defer s2.nc.Close()
	s2.ask(1, 1)
	s2.ask(n, n)
	got := map[uint64]reply{}
	for _, r := range s2.replies(2) {
		got[r.inv] = r
	}
	if r := got[1]; !r.failed || r.code != CodeUnavailable {
		t.Errorf("invocation 1, whose reply was dropped, asked again: %+v; want an error", r)
	}
	if r := got[n]; r.failed || r.size < replySize {
		t.Errorf("invocation %d, whose reply was kept, asked again: %+v; want its reply of %d bytes", n, r, replySize)
	}
	if r := runs.Load(); r != n {
		t.Errorf("the callback ran %d times; want %d, once per invocation", r, n)
	}
}

// A server that never settles its invocations does not make a call
// remember them without bound: past maxUnsettled, a new invocation is
// refused, not run.
func TestCallbackUnsettledBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var runs atomic.Int32
	cb, _, err := newClientCallbacks(ctx, "Tick", []any{func() int { runs.Add(1); return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	cb.resumable = true
	defer cb.finish()
	hello := wire.Hello{Version: wire.Version, Flags: wire.HelloCallbacks, Codec: "cbor"}
	accepted := make(chan *keptServer, 1)
	go func() { accepted <- acceptKept(t, ln, hello) }()
	cc := dialKept(t, ctx, ln.Addr().String(), hello, cb)
	defer func() {
		cc.close(nil)
		<-cc.done
	}()
	s := <-accepted
	if s == nil {
		t.FailNow()
	}
	defer s.nc.Close()
	const extra = 10
	const batch = 64 // fewer at once than the client runs
	var refused []uint64
	for first := uint64(1); first <= maxUnsettled+extra; first += batch {
		last := min(first+batch-1, maxUnsettled+extra)
		s.ask(first, last)
		for _, r := range s.replies(int(last - first + 1)) {
			// Refusals for running too many at once may come too, when
			// the reader is slow enough to be taken over.
			if r.failed && r.code == CodeResourceExhausted && strings.Contains(r.msg, "unsettled") {
				refused = append(refused, r.inv)
			}
		}
	}
	if len(refused) != extra || refused[0] != maxUnsettled+1 {
		t.Errorf("refused %s; want the %d invocations past %d", fmtInvs(refused), extra, maxUnsettled)
	}
	if r := runs.Load(); r != maxUnsettled {
		t.Errorf("the callback ran %d times; want %d", r, maxUnsettled)
	}
}

func fmtInvs(invs []uint64) string {
	if len(invs) > 20 {
		return fmt.Sprintf("%d invocations, %v…", len(invs), invs[:20])
	}
	return fmt.Sprint(invs)
}

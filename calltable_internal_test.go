package simplerpc

import (
	"errors"
	"io"
	"testing"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// tableCall returns a pending call with a frame the table can number.
func tableCall(t *testing.T) *pendingCall {
	t.Helper()
	frame := getBuffer()
	frame.Write(wire.AppendHeader(nil, wire.Header{Kind: wire.KindCall, Size: 4}))
	frame.WriteString("body")
	t.Cleanup(func() { putBuffer(frame) })
	return &pendingCall{method: "T.M", frame: frame, done: make(chan struct{}, 1)}
}

// failure returns the error a failed call was completed with.
func failure(t *testing.T, pc *pendingCall) *Error {
	t.Helper()
	select {
	case <-pc.done:
	default:
		t.Fatal("the call was not completed")
	}
	var e *Error
	if !errors.As(pc.err, &e) {
		t.Fatalf("call failed with %v, want an *Error", pc.err)
	}
	return e
}

// TestAckIsBelowEveryPendingCall checks the id an ack carries: the
// highest below every call still waiting, however the replies arrive.
func TestAckIsBelowEveryPendingCall(t *testing.T) {
	l := &lane{open: true}
	tb := &callTable{calls: map[uint64]*pendingCall{}}
	for range 400 {
		tb.next++
		tb.calls[tb.next] = &pendingCall{on: l}
		l.n++
	}
	// takeAll settles ids, returning the ack sent on the last one if any.
	takeAll := func(ids ...uint64) (uint64, bool) {
		var s settle
		for _, id := range ids {
			_, s = tb.complete(l, id, 10)
		}
		return s.ack, s.sendAck
	}
	span := func(from, to uint64) []uint64 {
		var ids []uint64
		for id := from; id <= to; id++ {
			ids = append(ids, id)
		}
		return ids
	}
	// 128 replies, all but the first call's: the ack waits below id 1.
	if ack, sent := takeAll(span(2, 129)...); !sent || ack != 0 {
		t.Fatalf("with call 1 pending: ack %d (sent %v), want 0", ack, sent)
	}
	// Call 1 answered, and 127 more: the lowest pending is 257.
	if ack, sent := takeAll(append([]uint64{1}, span(130, 256)...)...); !sent || ack != 256 {
		t.Fatalf("calls up to 256 settled: ack %d (sent %v), want 256", ack, sent)
	}
	// Out of order: 300 stays pending while the rest up to 400 arrive.
	ids := append(span(257, 299), span(301, 385)...)
	if ack, sent := takeAll(ids...); !sent || ack != 299 {
		t.Fatalf("call 300 pending: ack %d (sent %v), want 299", ack, sent)
	}
	if ack, sent := takeAll(append([]uint64{300}, span(386, 400)...)...); sent {
		t.Fatalf("an ack after 16 replies: %d", ack)
	}
	// Every call settled: the next ack is the last id handed out.
	for range 112 {
		tb.next++
		tb.calls[tb.next] = &pendingCall{on: l}
		l.n++
	}
	if ack, sent := takeAll(span(401, 512)...); !sent || ack != 512 {
		t.Fatalf("all settled: ack %d (sent %v), want 512", ack, sent)
	}
}

// TestUnsentCallReSentElsewhereStaysInFlight checks the rule for a call
// whose frame could not be written: taken out (to be retried as never
// sent) only while no other connection carries it. A call re-sent with its
// id after its connection broke is in flight; retrying it too would run it
// twice.
func TestUnsentCallReSentElsewhereStaysInFlight(t *testing.T) {
	broken, next := &lane{open: true}, &lane{open: true}
	tb := &callTable{calls: map[uint64]*pendingCall{}}
	frame := getBuffer()
	frame.WriteString("frame")
	for id := uint64(1); id <= 3; id++ {
		tb.calls[id] = &pendingCall{on: broken, frame: frame}
		broken.n++
	}
	tb.next = 3
	// The connection broke: its calls wait for a new one.
	tb.end(broken, io.EOF, false)
	if tb.orphaned() != 3 {
		t.Fatalf("%d orphans after the connection broke, want 3", tb.orphaned())
	}
	// Call 1's writer notices first: nothing carries it yet.
	if !tb.unsend(1, broken) {
		t.Fatal("an orphaned call whose frame was never written was not taken out")
	}
	resend, ok := tb.adopt(next)
	if !ok || resend.Len() != 2*len("frame") {
		t.Fatalf("re-sent %d bytes (adopted %v); want the frames of calls 2 and 3", resend.Len(), ok)
	}
	putBuffer(resend)
	if tb.unsend(2, broken) {
		t.Fatal("a call re-sent on the new connection was taken out: the caller would send it again")
	}
	if pc := tb.calls[2]; pc == nil || pc.on != next {
		t.Fatalf("call 2 is no longer in flight on the new connection: %+v", pc)
	}
	tb.calls[4] = &pendingCall{on: next, frame: frame}
	next.n++
	if !tb.unsend(4, next) {
		t.Fatal("a call on its own connection, never written, was not taken out")
	}
	if _, ok := tb.calls[4]; ok || tb.orphans != 0 {
		t.Fatalf("after unsend: pending %v, orphans %d", tb.calls, tb.orphans)
	}
	putBuffer(frame)
}

// TestCallTableRegisterNumbersFrames checks that calls are numbered from
// 1 in the order they register, the id written into the frame, and that
// register reports the calls in flight.
func TestCallTableRegisterNumbersFrames(t *testing.T) {
	tb := newCallTable(false)
	l := &lane{open: true}
	for want := uint64(1); want <= 3; want++ {
		pc := tableCall(t)
		id, inflight, ok := tb.register(l, pc)
		if !ok || id != want || inflight != int(want) {
			t.Fatalf("register: id %d, in flight %d, ok %v; want %d, %d, true", id, inflight, ok, want, want)
		}
		h, err := wire.ParseHeader(pc.frame.Bytes(), 1<<20)
		if err != nil || h.ID != want {
			t.Fatalf("frame carries id %d (%v), want %d", h.ID, err, want)
		}
	}
	if tb.pending() != 3 || l.n != 3 {
		t.Fatalf("pending %d, on the lane %d; want 3", tb.pending(), l.n)
	}
	if pc, _ := tb.complete(l, 2, 1); pc == nil || tb.pending() != 2 {
		t.Fatalf("complete(2): %v, pending %d", pc, tb.pending())
	}
	// Answered, but its caller has not returned: still in flight.
	if tb.inFlight() != 3 {
		t.Fatalf("in flight %d before the caller left, want 3", tb.inFlight())
	}
	tb.leave()
	if tb.inFlight() != 2 {
		t.Fatalf("in flight %d after the caller left, want 2", tb.inFlight())
	}
	if pc, _ := tb.complete(l, 2, 1); pc != nil {
		t.Fatal("a second reply for one call completed it twice")
	}
}

// TestCallTableRefusesCalls checks the states in which a call is not
// registered: a connection that takes no new calls, a retired endpoint, a
// closed one.
func TestCallTableRefusesCalls(t *testing.T) {
	tb := newCallTable(false)
	stopped := &lane{open: true}
	if idle := tb.stop(stopped); !idle {
		t.Fatal("a lane with no calls is not idle")
	}
	if _, _, ok := tb.register(stopped, tableCall(t)); ok {
		t.Fatal("a call registered on a connection that takes no new calls")
	}
	tb.retire()
	if _, _, ok := tb.register(&lane{open: true}, tableCall(t)); ok {
		t.Fatal("a call registered on a retired endpoint")
	}
	tb = newCallTable(false)
	tb.close()
	if _, _, ok := tb.register(&lane{open: true}, tableCall(t)); ok {
		t.Fatal("a call registered on a closed endpoint")
	}
}

// TestCallTableDrained checks that the last reply on a connection that
// takes no new calls says it is drained, and no reply before it does.
func TestCallTableDrained(t *testing.T) {
	tb := newCallTable(false)
	l := &lane{open: true}
	a, b := tableCall(t), tableCall(t)
	ida, _, _ := tb.register(l, a)
	idb, _, _ := tb.register(l, b)
	if idle := tb.stop(l); idle {
		t.Fatal("a lane with two calls is idle")
	}
	if _, s := tb.complete(l, ida, 1); s.drained {
		t.Fatal("drained with a call still pending")
	}
	if _, s := tb.complete(l, idb, 1); !s.drained {
		t.Fatal("not drained after the last reply")
	}
}

// TestCallTableEnd checks what becomes of a connection's calls when it
// ends: orphans with a session, CodeConnectionLost without one, and
// CodeUnavailable after a final go-away; calls on other connections are
// untouched.
func TestCallTableEnd(t *testing.T) {
	cases := []struct {
		name       string
		noSessions bool
		final      bool
		want       Code // 0: orphaned
	}{
		{"session", false, false, 0},
		{"no session", true, false, CodeConnectionLost},
		{"final go-away", false, true, CodeUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := newCallTable(c.noSessions)
			l, other := &lane{open: true}, &lane{open: true}
			pc, keep := tableCall(t), tableCall(t)
			tb.register(l, pc)
			tb.register(other, keep)
			tb.end(l, io.EOF, c.final)
			if c.want == 0 {
				if tb.orphaned() != 1 || tb.pending() != 2 {
					t.Fatalf("orphans %d, pending %d; want 1, 2", tb.orphaned(), tb.pending())
				}
				return
			}
			if e := failure(t, pc); e.Code != c.want || e.Method != "T.M" {
				t.Fatalf("failed with %v (%s), want %v", e.Code, e.Method, c.want)
			}
			if tb.orphaned() != 0 || tb.pending() != 1 || other.n != 1 {
				t.Fatalf("orphans %d, pending %d, on the other lane %d; want 0, 1, 1", tb.orphaned(), tb.pending(), other.n)
			}
			if _, _, ok := tb.register(l, tableCall(t)); ok {
				t.Fatal("a call registered on a connection that ended")
			}
		})
	}
}

// TestCallTableSessionLost checks that orphans fail when a new
// connection's welcome says the session is gone, and wait to be adopted
// when it was resumed; and that a stopped connection adopts nothing.
func TestCallTableSessionLost(t *testing.T) {
	tb := newCallTable(false)
	l := &lane{open: true}
	pc := tableCall(t)
	tb.register(l, pc)
	tb.end(l, io.EOF, false)
	tb.answered(true)
	if tb.orphaned() != 1 {
		t.Fatal("a resumed session lost its orphans")
	}
	stopped := &lane{open: true}
	tb.stop(stopped)
	if _, ok := tb.adopt(stopped); ok || tb.orphaned() != 1 {
		t.Fatal("a connection that takes no new calls adopted the orphans")
	}
	tb.answered(false)
	if e := failure(t, pc); e.Code != CodeConnectionLost || !errors.Is(e, errSessionLost) {
		t.Fatalf("orphan of a lost session failed with %v (%v)", e.Code, e.Unwrap())
	}
	if tb.orphaned() != 0 || tb.pending() != 0 {
		t.Fatalf("orphans %d, pending %d after the session was lost", tb.orphaned(), tb.pending())
	}
}

// TestCallTableCloseFailsOrphans checks that closing fails the orphans
// and that a connection ending afterwards fails its calls rather than
// orphaning them.
func TestCallTableCloseFailsOrphans(t *testing.T) {
	tb := newCallTable(false)
	broken, open := &lane{open: true}, &lane{open: true}
	orphan, live := tableCall(t), tableCall(t)
	tb.register(broken, orphan)
	tb.register(open, live)
	tb.end(broken, io.EOF, false)
	tb.close()
	if e := failure(t, orphan); e.Code != CodeConnectionLost || !errors.Is(e, ErrClientClosed) {
		t.Fatalf("orphan failed with %v (%v)", e.Code, e.Unwrap())
	}
	tb.end(open, ErrClientClosed, false)
	if e := failure(t, live); e.Code != CodeConnectionLost {
		t.Fatalf("call of a connection closed with the client failed with %v", e.Code)
	}
	if tb.orphaned() != 0 || tb.pending() != 0 {
		t.Fatalf("orphans %d, pending %d after close", tb.orphaned(), tb.pending())
	}
}

// TestCallTableRemove checks that a caller giving up takes its call back
// with the connection to cancel it on — none while orphaned — and that a
// reply arriving later finds nothing.
func TestCallTableRemove(t *testing.T) {
	tb := newCallTable(false)
	cc := &clientConn{}
	l := newLane(cc)
	id, _, _ := tb.register(l, tableCall(t))
	if on, ok := tb.remove(id); !ok || on != cc {
		t.Fatalf("remove: %v, %v; want the call's connection", on, ok)
	}
	if _, ok := tb.remove(id); ok {
		t.Fatal("a call removed twice")
	}
	if pc, _ := tb.complete(l, id, 1); pc != nil {
		t.Fatal("a reply completed a removed call")
	}
	id, _, _ = tb.register(l, tableCall(t))
	tb.end(l, io.EOF, false)
	if on, ok := tb.remove(id); !ok || on != nil {
		t.Fatalf("remove of an orphan: %v, %v; want no connection", on, ok)
	}
	if tb.orphaned() != 0 {
		t.Fatalf("%d orphans after the orphan was removed", tb.orphaned())
	}
}

// TestCallTableHello checks the session's hellos: the first starts the
// session, later ones resume it, and after renew a new id starts again.
func TestCallTableHello(t *testing.T) {
	tb := newCallTable(false)
	sid, resume := tb.hello()
	if resume || sid == ([wire.SessionIDSize]byte{}) {
		t.Fatalf("first hello: resume %v, id %x", resume, sid)
	}
	if again, resume := tb.hello(); !resume || again != sid {
		t.Fatalf("second hello: resume %v, id %x; want to resume %x", resume, again, sid)
	}
	tb.renew()
	if fresh, resume := tb.hello(); resume || fresh == sid {
		t.Fatalf("hello after renew: resume %v, id %x (old %x)", resume, fresh, sid)
	}
}

// TestIdleAck checks when a reply leads to an ack that waits for the
// connection's next call: once idleAckEvery replies are unacked and the
// reply leaves no call pending on its connection, not while calls are.
func TestIdleAck(t *testing.T) {
	l := &lane{open: true}
	tb := &callTable{calls: map[uint64]*pendingCall{}}
	call := func() uint64 {
		tb.next++
		tb.calls[tb.next] = &pendingCall{on: l}
		l.n++
		return tb.next
	}
	for i := 1; i < idleAckEvery; i++ {
		if _, s := tb.complete(l, call(), 10); s.lazy || s.sendAck {
			t.Fatalf("reply %d of a lone caller: an ack (lazy %v)", i, s.lazy)
		}
	}
	busy := call()
	if _, s := tb.complete(l, call(), 10); s.lazy || s.sendAck {
		t.Fatalf("reply %d with a call pending: an ack (lazy %v)", idleAckEvery, s.lazy)
	}
	_, s := tb.complete(l, busy, 10)
	if !s.lazy || s.sendAck || s.ack != tb.next {
		t.Fatalf("reply leaving the connection idle: lazy %v, sent now %v, ack %d; want a lazy ack of %d", s.lazy, s.sendAck, s.ack, tb.next)
	}
}

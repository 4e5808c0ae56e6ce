package simplerpc

import "testing"

// TestAckIsBelowEveryPendingCall checks the id an ack carries: the
// highest below every call still waiting, however the replies arrive.
func TestAckIsBelowEveryPendingCall(t *testing.T) {
	cc := &clientConn{}
	ep := &endpoint{cfg: &clientConfig{}, pending: map[uint64]*pendingCall{}}
	for range 400 {
		ep.next++
		ep.pending[ep.next] = &pendingCall{cc: cc}
	}
	// takeAll settles ids, returning the ack sent on the last one if any.
	takeAll := func(ids ...uint64) (uint64, bool) {
		var ack uint64
		var sent bool
		for _, id := range ids {
			_, ack, sent = ep.take(id, 10)
		}
		return ack, sent
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
		ep.next++
		ep.pending[ep.next] = &pendingCall{cc: cc}
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
	broken, next := &clientConn{}, &clientConn{}
	ep := &endpoint{cfg: &clientConfig{}, pending: map[uint64]*pendingCall{}}
	frame := getBuffer()
	frame.WriteString("frame")
	for id := uint64(1); id <= 3; id++ {
		ep.pending[id] = &pendingCall{cc: broken, frame: frame}
	}
	ep.next = 3
	// The connection broke: its calls wait for a new one.
	for _, pc := range ep.pending {
		pc.cc = nil
		ep.orphans++
	}
	// Call 1's writer notices first: nothing carries it yet.
	if !ep.unsend(1, broken) {
		t.Fatal("an orphaned call whose frame was never written was not taken out")
	}
	resend, lost := ep.adoptOrphans(next, true)
	if len(lost) != 0 || resend.Len() != 2*len("frame") {
		t.Fatalf("re-sent %d bytes, lost %d; want the frames of calls 2 and 3", resend.Len(), len(lost))
	}
	putBuffer(resend)
	if ep.unsend(2, broken) {
		t.Fatal("a call re-sent on the new connection was taken out: the caller would send it again")
	}
	if pc := ep.pending[2]; pc == nil || pc.cc != next {
		t.Fatalf("call 2 is no longer in flight on the new connection: %+v", pc)
	}
	ep.pending[4] = &pendingCall{cc: next, frame: frame}
	if !ep.unsend(4, next) {
		t.Fatal("a call on its own connection, never written, was not taken out")
	}
	if _, ok := ep.pending[4]; ok || ep.orphans != 0 {
		t.Fatalf("after unsend: pending %v, orphans %d", ep.pending, ep.orphans)
	}
	putBuffer(frame)
}

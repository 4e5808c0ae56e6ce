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

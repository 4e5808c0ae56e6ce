package simplerpc

// An idle ack. A connection whose reply leaves it with no call pending,
// after idleAckEvery replies unacked, acks them — not in a write of its
// own, which with one caller per connection would be a system call more
// per idleAckEvery calls on each side, but ahead of its next call, in
// the same write. Until that call the server keeps those replies, as it
// did before the ack; an ack written meanwhile (writeAck) says more and
// replaces it.

// deferAck makes the connection's next call carry an ack of every call up
// to id. Only the read loop calls it.
func (cc *clientConn) deferAck(id uint64) {
	frame := cc.ackFrame(id)
	cc.ackNext.Store(&frame)
}

// withAck returns frame, a call's, preceded by the ack deferred for it, if
// any: then in a buffer of its own, since the call's frame is kept to be
// sent again as it is.
func (cc *clientConn) withAck(frame []byte) []byte {
	if cc.ackNext.Load() == nil { // the common case, without a write to shared memory
		return frame
	}
	ack := cc.ackNext.Swap(nil)
	if ack == nil {
		return frame
	}
	return append(*ack, frame...)
}

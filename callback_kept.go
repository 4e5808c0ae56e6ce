package simplerpc

// The bounds on what a resumable call remembers of its invocations for
// a server that may ask again on the connection that resumes it. A
// well-behaved server settles its invocations (the floor in each
// callback frame) as they return; one that never does — hostile, or
// holding its floor behind one slow invocation while many quick ones
// pass it — would otherwise make the client keep every reply it sent.
const (
	// maxKeptReplyBytes bounds the reply bytes one call keeps: past it
	// the oldest kept replies are dropped, and an invocation whose reply
	// was dropped is answered, if asked again, with CodeUnavailable —
	// never run again. The newest reply is always kept, however large.
	maxKeptReplyBytes = 8 << 20

	// maxUnsettled bounds the invocations of one call the client
	// remembers unsettled (running, or answered and not settled): past
	// it a new invocation is refused with CodeResourceExhausted, not run.
	maxUnsettled = 1 << 14
)

// keep records reply, the reply frame of ci, to send again, dropping
// the oldest kept replies past maxKeptReplyBytes. cb.mu is held.
func (cb *clientCallbacks) keep(ci *clientInvocation, reply []byte) {
	ci.reply = reply
	cb.kept += len(reply)
	for cb.kept > maxKeptReplyBytes {
		var oldest uint64
		var o *clientInvocation
		for inv, k := range cb.seen {
			if k.reply != nil && k != ci && (o == nil || inv < oldest) {
				oldest, o = inv, k
			}
		}
		if o == nil {
			return // ci alone is past the bound: it is kept
		}
		cb.kept -= len(o.reply)
		o.reply, o.dropped = nil, true
	}
}

// forget removes invocation inv, which has returned, from what cb
// remembers. cb.mu is held.
func (cb *clientCallbacks) forget(inv uint64, ci *clientInvocation) {
	cb.kept -= len(ci.reply)
	delete(cb.seen, inv)
}

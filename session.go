package simplerpc

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// DefaultSessionTTL is how long a server keeps the session of a client
// whose connection broke, waiting for it to reconnect and resume.
const DefaultSessionTTL = 30 * time.Second

// maxSessionCalls bounds the calls a server remembers per session; the
// bytes of the replies it keeps are bounded by keepLimit. Past either
// bound the session is dropped: its connection keeps working, but it can
// no longer be resumed.
const maxSessionCalls = 8192

// ackSweepEvery is how many acks pass between walks over a session's
// calls for replies settled by an ack's id alone.
const ackSweepEvery = 16

// keptOverhead is what the budget counts for a kept reply besides its
// buffer's bytes: the buffer's header (40 bytes), its entry in the
// session's calls (an id and a sessionCall, 80 bytes, in a window at
// most half again as long as the calls it holds, in an array growing by
// doubling: up to three times that; session_calls.go) and in its
// connection's list of replies written (16 bytes). Counting less let 400
// abandoned sessions of 8,000 small replies each hold a fifth more heap
// than the budget said.
const keptOverhead = 320

// sentReply is a kept reply written to a connection: the frame seq there.
type sentReply struct{ id, seq uint64 }

// replyConn is what a session needs of the connection it answers on
// (a *serverConn): the session never writes while it holds its lock, and
// reaches its connections only through these.
type replyConn interface {
	// writeReply queues a reply frame, waiting for room in the
	// connection's queue, and returns its place among the frames
	// written there.
	writeReply(frame []byte) (uint64, error)
	// abort closes the connection at once: the session it answered for
	// is gone.
	abort()
	// supersede closes the connection: its session moved to another.
	supersede()
	// logger is the server's logger, with the connection's peer.
	logger() *slog.Logger
}

// session is the server's memory of one client session across
// connections: the calls it received, and the replies the client has not
// yet acknowledged. The server's table of sessions (session_table.go)
// finds it by id, binds it to who opened it, and ends it when it expires
// or is evicted.
//
// A session is attached (conn set) or detached; a detached one is listed
// in the server's eviction order. It ends once: then it is broken, its
// memory given back, its calls canceled, and it is out of the table.
//
// Locks: the list fields are the server's mu's; every field from mu down
// is mu's. The server's mu is taken before mu, never after; no write to a
// connection, and no other lock but the budget's atomics, happens under
// mu.
type session struct {
	srv     *Server
	id      [wire.SessionIDSize]byte
	cert    string          // fingerprint of the client certificate that opened it; "" for none
	ctx     context.Context // parent of its calls' contexts; ends with the session
	cancel  context.CancelFunc
	cancels *cancelSet

	// Under srv.mu: its place in the server's list of detached sessions.
	prev, next *session
	listed     bool
	detachedAt time.Time

	mu       sync.Mutex
	conn     replyConn // the connection replies go to; nil while detached
	owner    string    // the identity WithSessionIdentity gave its first call
	ownerSet bool
	calls    sessionCalls // its calls by id (session_calls.go)
	running  int          // calls begun and not finished
	orphans  int          // of those, the ones counted in srv.orphanCalls (running while detached, or after the session ended detached)
	bytes    int          // bytes of kept replies, as the budget counts them
	acked    uint64       // the client settled every id up to this
	highest  uint64       // the highest id begun: no id above it is in calls
	acks     int          // acks received
	// The client's last count of frames read, on connection readOn.
	readOn replyConn
	read   uint64
	// The kept replies written to sentOn, the session's connection, in
	// about the order they were: delivered walks only those the client
	// has read.
	sentOn replyConn
	sent   []sentReply
	broken bool // over its bounds or ended: no more memory, no resume
	expiry *time.Timer

	streams streamsOf // its streams, which outlive its connections (stream_table.go); its own lock

	cbs *callbackTable // its calls' callbacks in flight, across its connections (callback_server.go); made under mu
}

// sessionCall is a call the session received: running, or done with its
// reply kept until the client acknowledges it.
type sessionCall struct {
	reply   *bytes.Buffer // nil while running
	from    replyConn     // the connection it was received on (while running)
	sending bool          // finish still owns reply: it, not a release, pools the buffer
	conn    replyConn     // the connection reply was last written to, if any
	seq     uint64        // its place among the frames written there
	cost    int           // what the budget counts for reply
}

// What the server does with a call a session received.
type callAction int

const (
	callNew       callAction = iota // run it
	callRunning                     // it is running: its reply will follow
	callDone                        // it ran: the kept reply was sent again
	callStale                       // its id is at or below the last ack: refuse it
	callDuplicate                   // its id is running, received on this very connection: refuse it
)

// keptCost is what the budget counts for keeping buf.
func keptCost(buf *bytes.Buffer) int { return buf.Cap() + keptOverhead }

// forgetAll drops the session's memory and marks it broken. sess.mu must
// be held.
func (sess *session) forgetAll() {
	sess.calls.each(func(_ uint64, c sessionCall) bool {
		if c.reply != nil && !c.sending {
			putBuffer(c.reply)
		}
		return true
	})
	sess.srv.budget.giveFreed(int64(sess.bytes))
	// Its calls still running stay counted in srv.orphanCalls, if they
	// were, until they return (finish): canceled, they still run. No
	// resume can claim them any more: they leave detachedCalls now.
	if !sess.broken && sess.orphans > 0 {
		sess.srv.detachedCalls.Add(-int64(sess.orphans))
	}
	sess.sentOn, sess.sent = nil, nil
	sess.calls.reset()
	sess.bytes, sess.broken = 0, true
}

// begin decides what to do with call id arriving on sc. For a call
// already answered (callDone) it returns a copy of the kept reply, for
// the caller to send again with resend: the session never writes while
// it holds its lock, since a write may wait for room.
func (sess *session) begin(id uint64, sc replyConn) (callAction, resent) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	switch {
	case sess.broken:
		sess.running++ // finish or forget counts it out
		return callNew, resent{}
	case id <= sess.acked:
		return callStale, resent{} // id 0 too: the first id a session may use is 1
	}
	// A client numbers its calls in order: a call above every id begun is
	// new, and needs no look in calls (with many sessions, each map cold
	// in the cache, that look cost as much as the insert).
	if id <= sess.highest {
		if act, r, found := sess.known(id, sc); found {
			return act, r
		}
	}
	if sess.calls.len() >= maxSessionCalls {
		sess.srv.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: session over its bounds; it can no longer be resumed", "calls", sess.calls.len())
		sess.forgetAll()
		sess.running++ // finish or forget counts it out, as on a broken session
		return callNew, resent{}
	}
	sess.calls.put(id, sessionCall{from: sc})
	sess.highest = max(sess.highest, id)
	sess.running++
	return callNew, resent{}
}

// known is begin for an id at or below the highest begun: what to do
// with it if the session holds it (found). sess.mu must be held.
func (sess *session) known(id uint64, sc replyConn) (act callAction, r resent, found bool) {
	if c, ok := sess.calls.get(id); ok {
		if c.reply == nil {
			if c.from == sc {
				return callDuplicate, resent{}, true
			}
			return callRunning, resent{}, true
		}
		return callDone, resent{id: id, reply: c.reply, frame: bytes.Clone(c.reply.Bytes())}, true
	}
	return callNew, resent{}, false
}

// resent is a kept reply to send again: a copy of its frame, and the
// buffer it was copied from, which identifies it.
type resent struct {
	id    uint64
	reply *bytes.Buffer
	frame []byte
}

// resend writes r, a kept reply begin copied, to sc, and notes where it
// went, unless the reply was released meanwhile.
func (sess *session) resend(sc replyConn, r resent) {
	seq, err := sc.writeReply(r.frame)
	if err != nil {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if c, ok := sess.calls.get(r.id); ok && c.reply == r.reply && !c.sending {
		c.conn, c.seq = sc, seq
		sess.calls.put(r.id, c)
		sess.noteSent(sc, r.id, seq)
	}
}

// noteSent lists a kept reply written to sc, the session's connection,
// at seq. sess.mu must be held.
func (sess *session) noteSent(sc replyConn, id, seq uint64) {
	if sc != sess.conn {
		return // a connection the session has left: its client reads no more
	}
	if sess.sentOn != sc {
		sess.sentOn, sess.sent = sc, sess.sent[:0]
	}
	sess.sent = append(sess.sent, sentReply{id, seq})
}

// forget drops a call that was refused before it ran, or a resumable
// stream's call that ended. A session that dropped its memory meanwhile
// (forgetAll) no longer holds the call, which still counts as running,
// and as an orphan while the session has any: it counts out here, as in
// finish, or it would stay counted — an orphan for good, taking room from
// every connection (connCallLimit).
func (sess *session) forget(id uint64) {
	sess.mu.Lock()
	if c, ok := sess.calls.get(id); ok && c.reply == nil {
		sess.calls.del(id)
		sess.ended()
	} else if !ok && sess.broken {
		sess.ended()
	}
	sess.mu.Unlock()
}

// ended counts a call out of those running (and of the orphans, while
// the session has any: every call of a session that ended detached is
// one). sess.mu must be held.
func (sess *session) ended() {
	sess.running--
	if sess.orphans > 0 {
		sess.orphans--
		sess.srv.orphanCalls.Add(-1)
		if !sess.broken {
			sess.srv.detachedCalls.Add(-1)
		}
	}
}

// finish sends a call's reply frame, held in buf, to the session's
// connection, and keeps it until the client has it. It takes ownership of
// buf. The reply is kept before it is written, so a client resuming
// meanwhile gets it; it is written outside the lock, which a write to a
// slow connection would hold too long.
func (sess *session) finish(id uint64, buf *bytes.Buffer) {
	sess.mu.Lock()
	sc := sess.conn
	keep := sess.calls.has(id)
	if keep || sess.broken {
		sess.ended()
	}
	keep = keep && id > sess.acked
	if keep {
		// sending: finish owns buf until it takes the lock again, so a
		// session ended meanwhile does not pool it under finish's feet.
		sess.calls.put(id, sessionCall{reply: buf, sending: true})
	} else {
		sess.calls.del(id)
	}
	sess.mu.Unlock()
	var seq uint64
	var err error
	if sc != nil {
		seq, err = sc.writeReply(buf.Bytes())
	}
	if keep {
		fit := fitKept(buf) // outside the lock: finish still owns buf
		sess.mu.Lock()
		if c, ok := sess.calls.get(id); ok && c.reply == buf {
			if fit != buf {
				putBuffer(buf)
				buf, c.reply = fit, fit
			}
			c.sending = false
			if sc != nil && err == nil {
				c.conn, c.seq = sc, seq
				sess.noteSent(sc, id, seq)
			}
			c.cost = keptCost(buf)
			sess.bytes += c.cost
			sess.srv.budget.take(int64(c.cost))
			sess.calls.put(id, c)
			buf = nil // kept
			if c.conn != nil && c.conn == sess.readOn && c.seq <= sess.read {
				sess.drop(id, c) // the client read it while it was being written
			} else if limit := sess.keepLimit(); sess.bytes > limit {
				if sc != nil {
					sess.srv.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: session keeps too many unacknowledged replies; it can no longer be resumed",
						"bytes", sess.bytes, "limit", limit)
				}
				sess.forgetAll()
			}
		}
		sess.mu.Unlock()
	}
	if buf != nil {
		putBuffer(buf)
	}
}

// keptSlack is the room past its bytes that a kept reply's buffer may
// have before fitKept moves the reply to a buffer of its size.
const keptSlack = 4 << 10

// fitKept returns buf, a reply written and about to be kept, or — when
// buf has far more room than the reply takes — a copy of the reply in a
// buffer of its own size, buf being left to its caller. A reply is built
// in a pooled buffer, which an earlier, larger frame may have grown (a
// stream's 64 KiB items, a large reply: up to maxPooledBuffer), and a
// kept reply holds its buffer, and is counted on the budget for it, until
// the client acknowledges it — which an idle client does only with its
// next call. Kept as it was, a 4 KiB reply held 72 KiB for as long as its
// client was idle, and a session of small replies could pass its
// keepLimit, and be given up, for the room its buffers had. A buffer past
// maxPooledBuffer is a large reply's own, which its writer may still
// hold (replybuf.go): it is kept as it is.
func fitKept(buf *bytes.Buffer) *bytes.Buffer {
	n := buf.Len()
	if buf.Cap()-n <= max(n, keptSlack) || buf.Cap() > maxPooledBuffer {
		return buf
	}
	return bytes.NewBuffer(append(make([]byte, 0, n), buf.Bytes()...))
}

// keepLimit bounds the bytes of written replies a session keeps for the
// client to acknowledge: those in the connection's write queue (up to the
// server's backlog limit) and as much again on their way, or read but not
// yet acknowledged.
func (sess *session) keepLimit() int { return 2 * sess.srv.backlogLimit() }

// delivered releases the replies the client has read: those written to
// sc among its first frames frames. The client will not send their calls
// again, so they are forgotten altogether — earlier than an ack of their
// ids, which waits for every call before them. sess.sent lists the
// replies written to sc in about the order they were, so this walks only
// those the client has read.
func (sess *session) delivered(sc replyConn, frames uint64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.broken {
		return
	}
	sess.readOn, sess.read = sc, frames
	if sess.sentOn != sc {
		return
	}
	n := 0
	for ; n < len(sess.sent) && sess.sent[n].seq <= frames; n++ {
		r := sess.sent[n]
		if c, ok := sess.calls.get(r.id); ok && c.reply != nil && !c.sending && c.conn == sc && c.seq == r.seq {
			sess.drop(r.id, c)
		}
	}
	sess.sent = append(sess.sent[:0], sess.sent[n:]...)
}

// drop forgets a call whose reply is kept, returning its buffer to the
// pool. sess.mu must be held.
func (sess *session) drop(id uint64, c sessionCall) {
	sess.bytes -= c.cost
	sess.srv.budget.give(int64(c.cost))
	putBuffer(c.reply)
	sess.calls.del(id)
}

// ack releases the replies of every call up to id, acknowledged on sc:
// the client settled them and will not send them again.
func (sess *session) ack(id uint64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if id <= sess.acked || sess.broken {
		return
	}
	sess.acked = id
	sess.streams.settled(id)
	// Replies the client read are released by delivered as they arrive;
	// what an ack alone settles (a reply written to a connection that
	// broke before the client said it read it, or every reply of a
	// client whose acks carry no count of frames read) is swept one ack
	// in ackSweepEvery.
	if sess.acks++; sess.acks%ackSweepEvery != 0 {
		return
	}
	sess.calls.dropThrough(id, func(c sessionCall) bool {
		if c.reply == nil {
			return false // still running
		}
		if !c.sending { // finish counts and pools a reply once written
			sess.bytes -= c.cost
			sess.srv.budget.give(int64(c.cost))
			putBuffer(c.reply)
		}
		return true
	})
	// The list of replies written keeps only those still kept.
	kept := sess.sent[:0]
	for _, r := range sess.sent {
		if c, ok := sess.calls.get(r.id); ok && c.conn == sess.sentOn && c.seq == r.seq {
			kept = append(kept, r)
		}
	}
	clear(sess.sent[len(kept):])
	sess.sent = kept
}

// cancelSet holds the cancel functions of running calls by id, so a cancel
// frame can reach them: per connection, or per session across them. On a
// connection without a session it also holds the ids of every call
// running (with no cancel for those that take no context), so that a
// second call under a running one's id is refused.
//
// Locks: mu guards m, and is a leaf: the cancel functions are called
// after it is released.
type cancelSet struct {
	mu sync.Mutex
	m  map[uint64]cancelEntry
}

// cancelEntry is what cancels a running call: its context's CancelFunc,
// or the call context interceptors see (callctx.go), held as itself so
// that no CancelFunc is made for it, and canceled when the set forgets
// it. Both are nil for a call that takes no context.
type cancelEntry struct {
	fn   context.CancelFunc
	call *callCtx
}

func newCancelSet() *cancelSet { return &cancelSet{m: make(map[uint64]cancelEntry)} }

func (cs *cancelSet) add(id uint64, cancel context.CancelFunc) {
	cs.mu.Lock()
	cs.m[id] = cancelEntry{fn: cancel}
	cs.mu.Unlock()
}

// addCall holds the call context c under id; remove cancels it.
func (cs *cancelSet) addCall(id uint64, c *callCtx) {
	cs.mu.Lock()
	cs.m[id] = cancelEntry{call: c}
	cs.mu.Unlock()
}

// claim records id as running, with no cancel function yet, unless it is
// already; it reports whether it was not.
func (cs *cancelSet) claim(id uint64) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.m[id]; ok {
		return false
	}
	cs.m[id] = cancelEntry{}
	return true
}

// remove forgets id, canceling the call context held under it, if any.
func (cs *cancelSet) remove(id uint64) {
	cs.mu.Lock()
	e := cs.m[id]
	delete(cs.m, id)
	cs.mu.Unlock()
	if e.call != nil {
		e.call.cancel()
	}
}

func (cs *cancelSet) cancel(id uint64) {
	cs.mu.Lock()
	e := cs.m[id]
	cs.mu.Unlock()
	switch {
	case e.fn != nil:
		e.fn()
	case e.call != nil:
		e.call.cancel()
	}
}

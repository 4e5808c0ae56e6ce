package simplerpc

import (
	"bytes"
	"context"
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

// sentReply is a kept reply written to a connection: the frame seq there.
type sentReply struct{ id, seq uint64 }

// WithSessionTTL sets how long a server keeps a disconnected client's
// session for it to resume (default 30s).
func WithSessionTTL(d time.Duration) ServerOption {
	return serverOptionFunc(func(c *serverConfig) {
		if d > 0 {
			c.sessionTTL = d
		}
	})
}

// WithResumableSessions turns session resumption on or off for a client
// (on by default). With it, calls in flight when a connection breaks are
// re-sent under their original ids on a new connection, and the server
// answers each from its memory or runs it if it never received it: a
// network blip loses no call and runs none twice. Without it, such calls
// fail with CodeConnectionLost.
func WithResumableSessions(on bool) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.noSessions = !on })
}

// session is the server's memory of one client session across
// connections: the calls it received, and the replies the client has not
// yet acknowledged.
type session struct {
	srv     *Server
	id      [wire.SessionIDSize]byte
	ctx     context.Context // parent of its calls' contexts; ends with the session
	cancel  context.CancelFunc
	cancels *cancelSet

	mu    sync.Mutex
	conn  *serverConn // the connection replies go to; nil while detached
	calls map[uint64]sessionCall
	bytes int    // bytes of kept replies
	acked uint64 // the client settled every id up to this
	acks  int    // acks received
	// The client's last count of frames read, on connection readOn.
	readOn *serverConn
	read   uint64
	broken bool // over its bounds or ended: no more memory, no resume
	expiry *time.Timer
}

// sessionCall is a call the session received: running, or done with its
// reply kept until the client acknowledges it.
type sessionCall struct {
	reply   *bytes.Buffer // nil while running
	sending bool          // finish is writing reply: it, not a release, pools the buffer
	conn    *serverConn   // the connection reply was last written to, if any
	seq     uint64        // its place among the frames written there
}

// What the server does with a call a session received.
type callAction int

const (
	callNew     callAction = iota // run it
	callRunning                   // it is running: its reply will follow
	callDone                      // it ran: the kept reply was sent again
	callStale                     // the client settled it already: ignore
)

// attachSession finds or starts the session a hello names and attaches
// sc to it. It reports whether an existing session was resumed.
func (s *Server) attachSession(h wire.Hello, sc *serverConn) (*session, bool) {
	s.mu.Lock()
	old := s.sessions[h.Session]
	if old != nil && h.Flags&wire.HelloResume != 0 && old.attach(sc) {
		s.mu.Unlock()
		return old, true
	}
	sess := &session{srv: s, id: h.Session, calls: make(map[uint64]sessionCall), cancels: newCancelSet(), conn: sc}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	s.sessions[h.Session] = sess
	s.mu.Unlock()
	if old != nil {
		old.end()
	}
	return sess, false
}

// attach makes sc the session's connection, unless the session is broken.
func (sess *session) attach(sc *serverConn) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.broken {
		return false
	}
	sess.conn = sc
	if sess.expiry != nil {
		sess.expiry.Stop()
		sess.expiry = nil
	}
	return true
}

// detach notes that sc ended. A session left without a connection ends
// after the TTL unless it is resumed.
func (sess *session) detach(sc *serverConn) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.readOn == sc {
		sess.readOn, sess.read = nil, 0
	}
	sc.sent = nil // its replies wait for the client to send their calls again, or for an ack
	if sess.conn != sc {
		return
	}
	sess.conn = nil
	if !sess.broken {
		sess.expiry = time.AfterFunc(sess.srv.cfg.sessionTTL, sess.expire)
	}
}

// expire ends a session nobody resumed.
func (sess *session) expire() {
	s := sess.srv
	s.mu.Lock()
	sess.mu.Lock()
	gone := sess.conn == nil
	sess.mu.Unlock()
	if gone && s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
	s.mu.Unlock()
	if gone {
		sess.end()
	}
}

// end forgets everything and cancels the calls still running.
func (sess *session) end() {
	sess.cancel()
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.forgetAll()
	if sess.expiry != nil {
		sess.expiry.Stop()
		sess.expiry = nil
	}
}

// forgetAll drops the session's memory and marks it broken. sess.mu must
// be held.
func (sess *session) forgetAll() {
	for _, c := range sess.calls {
		if c.reply != nil && !c.sending {
			putBuffer(c.reply)
		}
	}
	sess.calls, sess.bytes, sess.broken = nil, 0, true
}

// begin decides what to do with call id arriving on sc. A call already
// answered has its reply written to sc again.
func (sess *session) begin(id uint64, sc *serverConn) callAction {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	switch {
	case sess.broken:
		return callNew
	case id <= sess.acked:
		return callStale
	}
	if c, ok := sess.calls[id]; ok {
		if c.reply == nil {
			return callRunning
		}
		if seq, err := sc.w.WriteSeq(sc.ctx, c.reply.Bytes(), false); err == nil && !c.sending {
			c.conn, c.seq = sc, seq
			sess.calls[id] = c
			sc.sent = append(sc.sent, sentReply{id, seq})
		}
		return callDone
	}
	if len(sess.calls) >= maxSessionCalls {
		sc.logger().Warn("simplerpc: session over its bounds; it can no longer be resumed", "calls", len(sess.calls))
		sess.forgetAll()
		return callNew
	}
	sess.calls[id] = sessionCall{}
	return callNew
}

// forget drops a call that was refused before it ran.
func (sess *session) forget(id uint64) {
	sess.mu.Lock()
	if c, ok := sess.calls[id]; ok && c.reply == nil {
		delete(sess.calls, id)
	}
	sess.mu.Unlock()
}

// finish sends a call's reply frame, held in buf, to the session's
// connection, and keeps it until the client has it. It takes ownership of
// buf. The reply is kept before it is written, so a client resuming
// meanwhile gets it; it is written outside the lock, which a write to a
// slow connection would hold too long.
func (sess *session) finish(id uint64, buf *bytes.Buffer) {
	sess.mu.Lock()
	sc := sess.conn
	_, keep := sess.calls[id]
	keep = keep && id > sess.acked
	if keep {
		sess.calls[id] = sessionCall{reply: buf, sending: sc != nil}
	} else {
		delete(sess.calls, id)
	}
	sess.mu.Unlock()
	var seq uint64
	var err error
	if sc != nil {
		seq, err = sc.writeReply(buf.Bytes())
	}
	if keep {
		sess.mu.Lock()
		if c, ok := sess.calls[id]; ok && c.reply == buf {
			c.sending = false
			if sc != nil && err == nil {
				c.conn, c.seq = sc, seq
				sc.sent = append(sc.sent, sentReply{id, seq})
			}
			sess.bytes += buf.Len()
			sess.calls[id] = c
			buf = nil // kept
			if c.conn != nil && c.conn == sess.readOn && c.seq <= sess.read {
				sess.drop(id, c) // the client read it while it was being written
			} else if limit := sess.keepLimit(); sess.bytes > limit {
				if sc != nil {
					sc.logger().Warn("simplerpc: session keeps too many unacknowledged replies; it can no longer be resumed",
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

// keepLimit bounds the bytes of written replies a session keeps for the
// client to acknowledge: those in the connection's write queue (up to the
// server's backlog limit) and as much again on their way, or read but not
// yet acknowledged.
func (sess *session) keepLimit() int { return 2 * sess.srv.backlogLimit() }

// delivered releases the replies the client has read: those written to
// sc among its first frames frames. The client will not send their calls
// again, so they are forgotten altogether — earlier than an ack of their
// ids, which waits for every call before them. sc.sent lists the replies
// written to sc in about the order they were, so this walks only those
// the client has read.
func (sess *session) delivered(sc *serverConn, frames uint64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.broken {
		return
	}
	sess.readOn, sess.read = sc, frames
	n := 0
	for ; n < len(sc.sent) && sc.sent[n].seq <= frames; n++ {
		r := sc.sent[n]
		if c, ok := sess.calls[r.id]; ok && c.reply != nil && !c.sending && c.conn == sc && c.seq == r.seq {
			sess.drop(r.id, c)
		}
	}
	sc.sent = append(sc.sent[:0], sc.sent[n:]...)
}

// drop forgets a call whose reply is kept, returning its buffer to the
// pool. sess.mu must be held.
func (sess *session) drop(id uint64, c sessionCall) {
	sess.bytes -= c.reply.Len()
	putBuffer(c.reply)
	delete(sess.calls, id)
}

// ack releases the replies of every call up to id: the client settled
// them and will not send them again.
func (sess *session) ack(id uint64) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if id <= sess.acked || sess.broken {
		return
	}
	sess.acked = id
	// Replies the client read are released by delivered as they arrive;
	// what an ack alone settles (a reply written to a connection that
	// broke before the client said it read it) is rare, so the walk over
	// every call is done one ack in ackSweepEvery.
	if sess.acks++; sess.acks%ackSweepEvery != 0 {
		return
	}
	for cid, c := range sess.calls {
		if cid <= id && c.reply != nil {
			if !c.sending { // finish counts and pools a reply once written
				sess.bytes -= c.reply.Len()
				putBuffer(c.reply)
			}
			delete(sess.calls, cid)
		}
	}
}

// endSessions ends every session: the server is closing.
func (s *Server) endSessions() {
	s.mu.Lock()
	all := make([]*session, 0, len(s.sessions))
	for id, sess := range s.sessions {
		all = append(all, sess)
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.end()
	}
}

// cancelSet holds the cancel functions of running calls by id, so a cancel
// frame can reach them: per connection, or per session across them.
type cancelSet struct {
	mu sync.Mutex
	m  map[uint64]context.CancelFunc
}

func newCancelSet() *cancelSet { return &cancelSet{m: make(map[uint64]context.CancelFunc)} }

func (cs *cancelSet) add(id uint64, cancel context.CancelFunc) {
	cs.mu.Lock()
	cs.m[id] = cancel
	cs.mu.Unlock()
}

func (cs *cancelSet) remove(id uint64) {
	cs.mu.Lock()
	delete(cs.m, id)
	cs.mu.Unlock()
}

func (cs *cancelSet) cancel(id uint64) {
	cs.mu.Lock()
	cancel := cs.m[id]
	cs.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

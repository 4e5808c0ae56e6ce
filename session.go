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

// Bounds on what a server remembers per session. Past them the session is
// dropped: its connection keeps working, but it can no longer be resumed.
const (
	maxSessionCalls = 8192
	maxSessionBytes = 8 << 20
)

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

	mu     sync.Mutex
	conn   *serverConn // the connection replies go to; nil while detached
	calls  map[uint64]sessionCall
	bytes  int    // bytes of kept replies
	acked  uint64 // the client settled every id up to this
	broken bool   // over its bounds or ended: no more memory, no resume
	expiry *time.Timer
}

// sessionCall is a call the session received: running, or done with its
// reply kept until the client acknowledges it.
type sessionCall struct {
	reply *bytes.Buffer // nil while running
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
		if c.reply != nil {
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
		_ = sc.w.Write(sc.ctx, c.reply.Bytes())
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
// connection, and keeps it until the client acknowledges it. It takes
// ownership of buf.
func (sess *session) finish(id uint64, buf *bytes.Buffer) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sc := sess.conn; sc != nil {
		// Written under the lock: an ack may release buf once it unlocks.
		_ = sc.writeReply(buf.Bytes())
	}
	if _, ok := sess.calls[id]; !ok || id <= sess.acked {
		delete(sess.calls, id)
		putBuffer(buf)
		return
	}
	sess.calls[id] = sessionCall{reply: buf}
	sess.bytes += buf.Len()
	if sess.bytes > maxSessionBytes {
		if sc := sess.conn; sc != nil {
			sc.logger().Warn("simplerpc: session keeps too many unacknowledged replies; it can no longer be resumed", "bytes", sess.bytes)
		}
		sess.forgetAll()
	}
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
	for cid, c := range sess.calls {
		if cid <= id && c.reply != nil {
			sess.bytes -= c.reply.Len()
			putBuffer(c.reply)
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

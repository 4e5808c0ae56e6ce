package simplerpc

import (
	"context"
	"log/slog"
	"time"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// Bounds on what clients that went away leave behind. Past either, the
// sessions detached the longest are ended (evicted) first — past the
// bound on calls, the oldest of those still running calls —; their calls
// still running are canceled, and a client resuming one is told the
// session is gone, so its calls in flight fail with CodeConnectionLost.
const (
	// maxDetachedSessions bounds the sessions kept for clients to resume.
	maxDetachedSessions = 4096
	// maxOrphanCalls bounds the calls still running for detached
	// sessions: calls that outlived their connection.
	maxOrphanCalls = maxConnCalls
)

// The server's answer to a hello that names a session.
type attachResult int

const (
	sessionNew     attachResult = iota // a new session was started
	sessionResumed                     // the session was resumed (or will be, once the connection proves who it is)
	sessionRefused                     // the id is in use by another identity
)

// sessionList is the server's list of detached sessions, the one
// detached the longest first. It is guarded by the server's mu.
type sessionList struct {
	head, tail *session
	n          int
}

func (l *sessionList) push(sess *session) {
	sess.prev, sess.next, sess.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = sess
	} else {
		l.head = sess
	}
	l.tail = sess
	l.n++
}

func (l *sessionList) remove(sess *session) {
	if !sess.listed {
		return
	}
	if sess.prev != nil {
		sess.prev.next = sess.next
	} else {
		l.head = sess.next
	}
	if sess.next != nil {
		sess.next.prev = sess.prev
	} else {
		l.tail = sess.prev
	}
	sess.prev, sess.next, sess.listed = nil, nil, false
	l.n--
}

// attachSession finds or starts the session a hello names, for sc. A
// hello that names a session the server holds must ask to resume it, from
// the same client certificate, or it is refused: a session id is never
// taken over by a new session. When the server vets resumes (see
// vetsResumes), a resumed session is handed to sc only when its first
// call proves who it is (serverConn.vetResume); until then sc is on
// probation.
func (s *Server) attachSession(h wire.Hello, sc *serverConn) (*session, attachResult) {
	cert := certID(sc.nc)
	s.mu.Lock()
	if old := s.sessions[h.Session]; old != nil {
		if h.Flags&wire.HelloResume == 0 || old.cert != cert {
			s.mu.Unlock()
			return nil, sessionRefused
		}
		if s.vetsResumes() {
			s.mu.Unlock()
			sc.probation = true
			return old, sessionResumed
		}
		superseded, ok := s.promoteLocked(old, sc, "", false)
		s.mu.Unlock()
		if !ok {
			return nil, sessionRefused
		}
		if superseded != nil {
			superseded.supersede()
		}
		return old, sessionResumed
	}
	sess := &session{srv: s, id: h.Session, cert: cert, cancels: newCancelSet(), conn: sc}
	sess.ctx, sess.cancel = context.WithCancel(context.Background())
	s.sessions[h.Session] = sess
	s.mu.Unlock()
	return sess, sessionNew
}

// promoteLocked makes sc the connection of sess, which must still be the
// server's, and returns the connection it replaces, if any, to be closed.
// With hasOwner, owner is the identity sc proved: it must be the
// session's, or becomes it. s.mu must be held.
func (s *Server) promoteLocked(sess *session, sc *serverConn, owner string, hasOwner bool) (superseded replyConn, ok bool) {
	if s.sessions[sess.id] != sess {
		return nil, false
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.broken || hasOwner && !sess.claimLocked(owner) {
		return nil, false
	}
	s.detached.remove(sess)
	if old := sess.conn; old != sc {
		superseded = old
	}
	sess.conn = sc
	if sess.expiry != nil {
		sess.expiry.Stop()
		sess.expiry = nil
	}
	s.orphanCalls.Add(-int64(sess.orphans))
	s.detachedCalls.Add(-int64(sess.orphans))
	sess.orphans = 0
	return superseded, true
}

// setOwner records the identity of a session's first call on the
// connection that opened it; it reports false if the session already
// has another.
func (sess *session) setOwner(owner string) bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.claimLocked(owner)
}

// claimLocked reports whether owner is the session's identity, making it
// so if the session has none yet. sess.mu must be held.
func (sess *session) claimLocked(owner string) bool {
	if sess.ownerSet {
		return sess.owner == owner
	}
	sess.owner, sess.ownerSet = owner, true
	return true
}

// detach notes that sc ended. A session left without a connection ends
// after the TTL unless it is resumed, or earlier if it is evicted; one
// that broke its bounds ends now.
func (sess *session) detach(sc *serverConn) {
	s := sess.srv
	s.mu.Lock()
	sess.mu.Lock()
	if sess.readOn == replyConn(sc) {
		sess.readOn, sess.read = nil, 0
	}
	if sess.sentOn == replyConn(sc) {
		sess.sentOn, sess.sent = nil, nil // its replies wait for the client to send their calls again, or for an ack
	}
	if sess.conn != replyConn(sc) {
		sess.mu.Unlock()
		s.mu.Unlock()
		return
	}
	sess.conn = nil
	broken := sess.broken
	if !broken {
		sess.expiry = time.AfterFunc(s.cfg.sessionTTL, sess.expire)
		sess.detachedAt = time.Now()
		sess.orphans = sess.running
		s.orphanCalls.Add(int64(sess.orphans))
		s.detachedCalls.Add(int64(sess.orphans))
		s.detached.push(sess)
	} else if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id) // it can never be resumed: forget it now
	}
	sess.mu.Unlock()
	s.mu.Unlock()
	if broken {
		sess.end()
	}
	s.evictOver()
}

// evictOver evicts detached sessions while they are over their bounds:
// the one detached the longest while there are too many, and while their
// calls are too many, the one detached the longest of those running
// calls — evicting one without calls would make no room. The calls of an
// evicted session are out of the bound at once (detachedCalls), though
// they stay counted in orphanCalls until they return: the loop ends
// once the calls a resume could still claim are within it, rather than
// evict every detached session while canceled calls wind down.
func (s *Server) evictOver() {
	for {
		s.mu.Lock()
		sessions := s.detached.n > maxDetachedSessions
		s.mu.Unlock()
		switch {
		case sessions:
			if !s.evictOldest("too many sessions detached") {
				return
			}
		case s.detachedCalls.Load() > s.maxOrphans():
			if !s.evictHolding("too many calls outlive their connections") {
				return
			}
		default:
			return
		}
	}
}

// maxOrphans bounds the calls still running for detached sessions:
// maxOrphanCalls, and with a limit of concurrent calls half of it.
// Each connection's own limit makes room for those calls too
// (connCallLimit).
func (s *Server) maxOrphans() int64 {
	if l := s.cfg.maxConcurrent; l > 0 {
		return int64(min(maxOrphanCalls, max(l/2, 1)))
	}
	return maxOrphanCalls
}

// expire ends a session nobody resumed.
func (sess *session) expire() {
	s := sess.srv
	s.mu.Lock()
	sess.mu.Lock()
	gone := sess.conn == nil // broken while detached too: nothing can resume it
	sess.mu.Unlock()
	if gone && s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
		s.detached.remove(sess)
	}
	s.mu.Unlock()
	if gone {
		sess.end()
	}
}

// evictOldest ends the session detached the longest, for the reason
// given, and reports whether there was one.
func (s *Server) evictOldest(why string) bool { return s.evictFirst(why, false) }

// evictHolding ends the session detached the longest of those whose calls
// still run, for the reason given, and reports whether there was one:
// the eviction that makes room for calls.
func (s *Server) evictHolding(why string) bool {
	if s.detachedCalls.Load() <= 0 {
		return false
	}
	return s.evictFirst(why, true)
}

// evictFirst ends the first session of the detached list, or with
// holding the first whose calls still run, and reports whether there was
// one. The walk to the first holding calls takes s.mu, then each
// session's mu, in the locks' order.
func (s *Server) evictFirst(why string, holding bool) bool {
	s.mu.Lock()
	sess := s.detached.head
	for holding && sess != nil && !sess.holdsCalls() {
		sess = sess.next
	}
	if sess != nil {
		s.detached.remove(sess)
		if s.sessions[sess.id] == sess {
			delete(s.sessions, sess.id)
		}
	}
	s.mu.Unlock()
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	kept, running := sess.bytes, sess.running
	sess.mu.Unlock()
	s.logs.log(s.cfg.logger, slog.LevelWarn, "simplerpc: session evicted", slog.String("reason", why),
		slog.Duration("detached", time.Since(sess.detachedAt)), slog.Int("kept_bytes", kept), slog.Int("running_calls", running))
	sess.end()
	return true
}

// holdsCalls reports whether calls of the session, detached, still run
// (counted in detachedCalls).
func (sess *session) holdsCalls() bool {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.orphans > 0 && !sess.broken
}

// end forgets everything and cancels the calls still running. A
// connection still attached is closed, so that its client learns the
// session is gone when it resumes.
func (sess *session) end() {
	sess.cancel()
	sess.streams.clear()
	sess.mu.Lock()
	sess.forgetAll()
	if sess.expiry != nil {
		sess.expiry.Stop()
		sess.expiry = nil
	}
	sc := sess.conn
	sess.mu.Unlock()
	if sc != nil {
		sc.abort()
	}
}

// endSessions ends every session: the server is closing.
func (s *Server) endSessions() {
	s.mu.Lock()
	all := make([]*session, 0, len(s.sessions))
	for id, sess := range s.sessions {
		all = append(all, sess)
		delete(s.sessions, id)
		s.detached.remove(sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.end()
	}
}

package simplerpc

import "os"

// SessionIDOf returns the session id a client's connection to its only
// server opens with — what an eavesdropper on a plain connection reads in
// the hello. It exists for tests of session hijacking.
func SessionIDOf(c *Client) [16]byte {
	for _, ep := range *c.all.Load() {
		ep.calls.mu.Lock()
		defer ep.calls.mu.Unlock()
		return ep.calls.sid
	}
	return [16]byte{}
}

// ForceSessionID gives a client's endpoints the session id sid and closes
// their connections, so that the next call resumes sid.
func ForceSessionID(c *Client, sid [16]byte) {
	for _, ep := range *c.all.Load() {
		ep.calls.mu.Lock()
		ep.calls.sid = sid
		ep.calls.mu.Unlock()
		ep.mu.Lock()
		cc := ep.cur
		ep.mu.Unlock()
		if cc != nil {
			cc.nc.Close()
		}
	}
}

// SessionStats reports the sessions s holds, how many of them are
// detached, and how many replies its connections list as written and
// kept.
func SessionStats(s *Server) (sessions, detached, sentListed int) {
	s.mu.Lock()
	sessions, detached = len(s.sessions), s.detached.n
	all := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.mu.Lock()
		sentListed += len(sess.sent)
		sess.mu.Unlock()
	}
	return sessions, detached, sentListed
}

// BudgetInUse returns the bytes s's memory budget counts now.
func BudgetInUse(s *Server) int64 { return s.budget.inUse() }

// OrphanCalls returns the calls s runs for sessions whose connection is
// gone.
func OrphanCalls(s *Server) int64 { return s.orphanCalls.Load() }

// ActiveCalls returns the calls s has accepted and not yet answered.
func ActiveCalls(s *Server) int64 { return s.dispatch.running() }

// ReadersWaitingForRoom returns how many of s's connections have their
// reader waiting for room in the memory budget.
func ReadersWaitingForRoom(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for sc := range s.conns {
		if sc.roomWait.Load() {
			n++
		}
	}
	return n
}

// The HTTP front's fast path is on unless SIMPLERPC_HTTP_FRONT=net/http,
// which runs the tests against net/http's server alone.
func init() {
	if os.Getenv("SIMPLERPC_HTTP_FRONT") == "net/http" {
		netHTTPOnly = true
	}
}

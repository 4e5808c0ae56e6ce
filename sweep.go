package simplerpc

import (
	"sync"
	"sync/atomic"
	"time"
)

// sweepEvery is how often the server's sweep looks at the connections
// whose readers run calls of quick methods themselves. Such a call that
// blocks is taken over after between one and two of these.
const sweepEvery = time.Millisecond

// sweepFrom is the number of connections, per core, from which the
// sweep watches the calls of quick methods. With fewer, each
// connection's takeover timer does, as for any call: its checks every
// takeoverAfter cost little with a few connections, and a sequential
// caller's round trip is shorter with them (the timer's firing keeps
// the runtime's poller awake between calls) — measured, a lone caller's
// Add took 25 µs with the sweep, 20 µs with the timer.
const sweepFrom = 8

// sweeps reports whether the sweep, rather than the connection's
// takeover timer, watches inline calls of quick methods: whether the
// server has many connections.
func (s *Server) sweeps() bool { return int(s.connCount.Load()) > sweepFrom*s.cores }

// inlineSweep watches, for the whole server, the calls of quick methods
// (runCost) that connections' readers run themselves. Those calls are
// not watched by their connection's takeover timer (connScheduler):
// with many connections, each carrying a call now and then, arming a
// timer for each call — and the goroutine each firing starts — cost
// more than the calls. A connection joins the sweep's list when its
// reader runs such a call and is not listed; every sweepEvery the sweep
// takes over the reading of each listed connection whose reader has run
// the same call since the previous sweep, and drops those whose reader
// runs no call. Its cost follows the calls, not the connections: an idle
// connection is not listed, and the timer is not armed while the list is
// empty.
//
// Its only goroutine is the timer's, one sweep at a time: it ends after
// each sweep, and the timer is re-armed only while connections are
// listed, so once the server's connections are gone the sweep stops
// within two turns.
//
// Locks: mu guards conns, spare and timer, and is a leaf: a sweep copies
// the list out under it and takes readers over without it. A listed
// connection's connScheduler.listed, an atomic, says it is in conns.
//
// The HTTP front's fast connections are swept too (foreign_fast.go):
// a quick call their reader runs itself that still runs a turn later
// gets a goroutine that watches its connection meanwhile.
type inlineSweep struct {
	mu    sync.Mutex
	conns []swept     // listed connections (their listed flag), once each
	spare []swept     // the list's other buffer, reused by sweep
	timer *time.Timer // armed while conns is not empty
}

// swept is a connection the sweep watches: a native one (serverConn) or
// a fast HTTP one (fastConn). sweepOne is the sweep's look at it; it
// reports whether the connection stays listed.
type swept interface{ sweepOne() bool }

// watch lists sc, whose reader has begun running its calls-th inline
// call, a call of a quick method. Only sc's reader calls it, and only
// with sc not listed.
func (w *inlineSweep) watch(sc *serverConn, calls uint64) {
	w.list(sc, &sc.sched.listed, &sc.sched.sweepSeen, calls)
}

// list lists c, whose listed flag and last call seen are listed and
// seen, as watch does.
func (w *inlineSweep) list(c swept, listed *atomic.Bool, seen *atomic.Uint64, calls uint64) {
	if !listed.CompareAndSwap(false, true) {
		return // the sweep kept it meanwhile
	}
	// Seen as one call earlier, so that the first sweep to come, which
	// may be at once, records the call rather than take it over: it is
	// taken over only if it still runs a whole turn later.
	seen.Store(calls - 1)
	w.mu.Lock()
	w.conns = append(w.conns, c)
	if w.timer == nil {
		w.timer = time.AfterFunc(sweepEvery, w.sweep)
	}
	w.mu.Unlock()
}

// sweep runs on the timer: it looks at each listed connection once,
// keeps those still busy, and re-arms itself while any are listed.
func (w *inlineSweep) sweep() {
	w.mu.Lock()
	conns := w.conns
	w.conns = w.spare[:0]
	w.mu.Unlock()
	keep := conns[:0]
	for _, sc := range conns {
		if sc.sweepOne() {
			keep = append(keep, sc)
		}
	}
	clear(conns[len(keep):])
	w.mu.Lock()
	w.conns = append(w.conns, keep...)
	clear(keep)
	w.spare = conns[:0]
	if len(w.conns) > 0 {
		w.timer.Reset(sweepEvery)
	} else {
		w.timer = nil
	}
	w.mu.Unlock()
}

// sweepOne is the sweep's look at one listed connection. A call running
// inline with no inline call begun since the previous look has run for
// at least sweepEvery: a new goroutine takes over the reading (as watch
// does for the connection's timer). It reports whether the connection
// stays listed: it does while its reader runs a call. One that runs
// none at the moment is dropped, though it ran some since the last look:
// its reader lists it again with its next call, at most once a sweep,
// where keeping it would cost a look more for every call of a connection
// whose calls come one at a time, far apart — the usual connection of a
// server with many.
func (sc *serverConn) sweepOne() bool {
	s := &sc.sched
	st := s.readerState.Load()
	calls := s.inlineCalls.Load()
	seen := s.sweepSeen.Swap(calls)
	if st&readerRunning != 0 && calls == seen &&
		s.readerState.CompareAndSwap(st, st&^readerRunning+readerTakeover) {
		// The new reader lists the connection again when it runs a
		// quick call. It owns the connection now, as the old one did,
		// and ends it the same way (read).
		s.listed.Store(false)
		go sc.read()
		return false
	}
	if st&readerRunning != 0 {
		return true
	}
	s.listed.Store(false)
	// A call that began after the loads above saw the connection still
	// listed and did not list it: keep it, unless its reader has listed
	// it again since.
	return s.inlineCalls.Load() != calls && s.listed.CompareAndSwap(false, true)
}

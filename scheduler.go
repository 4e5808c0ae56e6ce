package simplerpc

import (
	"errors"
	"sync/atomic"
	"time"
)

// maxConnCalls bounds the calls running at once for one connection. At the
// bound the server stops reading that connection until a call finishes, so
// a client cannot make it start goroutines without limit.
const maxConnCalls = 4096

// connScheduler decides where the calls of one connection run, and
// counts them. Its one entry point is dispatch, for each call the reader
// has admitted (serverConn.startCall); takeSlot and leave count calls in
// and out at the connection's limit, and soloReply tells a finished call
// whether to write its reply itself.
//
// A call runs in one of two places:
//
//   - in the reader goroutine (runInline), when it is the only call
//     running with no frame behind it — a sequential caller's — or when
//     its method is quick (runCost) whatever is behind it: this spares a
//     goroutine switch per call;
//   - otherwise in a call goroutine of the server's pool (workerPool),
//     and the reader reads on.
//
// Who reads the connection. One goroutine at a time owns the read loop;
// readerState's low bit says whether it is running a call inline, the
// bits above count takeovers:
//
//	          call dispatched inline
//	reading ──────────────────────────► running inline
//	   ▲                                  │       │
//	   │  the call ends; the state is     │       │ watch (the takeover
//	   │  still this goroutine's: it      │       │ timer's goroutine),
//	   │  reads on                        │       │ or for a quick method
//	   └──────────────────────────────────┘       │ the server's sweep: the
//	                                              │ call has run for
//	                                              │ takeoverAfter (the
//	                                              │ sweep: sweepEvery) and
//	                                              │ no call began since
//	                                              ▼
//	           the timer's goroutine, or one the sweep starts, becomes
//	           the reader (reading); the old one finishes its call, finds
//	           the takeover count moved, and returns (errTakenOver)
//	           without touching the connection again
//
// The fields are atomics, written by the reader and read by the call
// goroutines, the timer's and the sweep's; takeover itself is set once,
// by the reader.
type connScheduler struct {
	readerIdle   atomic.Bool   // the reader waits for bytes, with none unread
	readerState  atomic.Uint64 // readerRunning, and a count of takeovers
	running      atomic.Int32  // calls running for this connection, up to maxConnCalls
	wake         chan struct{} // signaled when a call ends, or memory is given back, while the reader waits
	takeover     *time.Timer   // fires watch; made by the first timed call run inline
	watching     atomic.Bool   // the takeover timer is armed
	inlineCalls  atomic.Uint64 // calls begun by runInline
	timedCalls   atomic.Uint64 // of inlineCalls, those the takeover timer watches: of methods not known to be quick
	inlineBehind atomic.Bool   // frames wait behind the call runInline runs
	watchSeen    atomic.Uint64 // inlineCalls at watch's last check
	watchTimed   atomic.Uint64 // timedCalls at watch's last check
	listed       atomic.Bool   // in the server's sweep (sweep.go), which watches calls of quick methods
	sweepSeen    atomic.Uint64 // inlineCalls at the sweep's last look
}

// dispatch runs t, a call the reader admitted; behind says whether frames
// wait behind it. It reports whether this goroutine is still the reader.
func (sc *serverConn) dispatch(t task, behind bool) bool {
	if (behind || sc.sched.running.Load() > 1) && !t.m.cost.quick() || t.stream != nil || sc.callsBack(t) {
		sc.srv.pool.start(t)
		return true
	}
	return sc.runInline(t, behind)
}

// soloReply reports whether a finished call writes its reply itself
// rather than through the send loop: it is the one call running, and the
// reader has nothing more to read — it waits for bytes, or it ran the
// call itself with no frame behind it.
func (s *connScheduler) soloReply() bool {
	return s.running.Load() <= 1 && (s.readerIdle.Load() || s.readerState.Load()&readerRunning != 0 && !s.inlineBehind.Load())
}

// stop disarms the takeover timer: the connection is closing.
func (s *connScheduler) stop() {
	if s.takeover != nil {
		s.takeover.Stop()
	}
}

// takeoverAfter is how long the reader goroutine runs a call itself
// before another goroutine takes over reading the connection (at least;
// at most twice as long).
const takeoverAfter = 100 * time.Microsecond

// readerState's low bit says whether the reader goroutine is running a
// call itself; the bits above count takeovers, so that a goroutine whose
// reading was taken over can never mistake a later state for its own.
const (
	readerRunning  = 1
	readerTakeover = 2 // one takeover, in the count
)

// errTakenOver ends a read loop whose goroutine ran a call for so long
// that another goroutine took the reading over.
var errTakenOver = errors.New("reading taken over")

// runInline runs a call in the reader goroutine. The reader does so for
// a lone call, the one running on the connection with no frame behind it,
// which spares the hand-off to another goroutine and answers a sequential
// caller sooner; and for a call of a quick method (see runCost) whatever
// is behind it, which spares a loaded server a goroutine switch per call.
// behind says whether frames wait behind the call: if not, it writes its
// reply itself. A call that runs longer than takeoverAfter does not hold
// up the connection: a new goroutine takes over its reading. runInline
// reports whether this goroutine is still the reader.
//
// Who watches a call depends on its method. A call of a method known to
// be quick is watched by the server's sweep (sweep.go), which takes it
// over if it blocks after all, within one to two sweepEvery: with many
// connections each carrying a call now and then, a timer per call would
// cost more than the call. Any other call is watched by the
// connection's takeover timer, which takes it over after takeoverAfter.
// That timer is not set per call either: setting a timer wakes the
// runtime's network poller, which costs a sequential caller more than
// the rest of the server's work on its call. Once armed, it checks the
// connection every takeoverAfter while such calls keep coming (see
// watch) and disarms itself when they stop.
func (sc *serverConn) runInline(t task, behind bool) bool {
	s := &sc.sched
	quick := t.m.cost.quick() && sc.srv.sweeps()
	if !quick && s.takeover == nil {
		// Made stopped, before the state below publishes it to watch.
		s.takeover = time.AfterFunc(time.Hour, sc.watch)
		s.takeover.Stop()
	}
	reading := s.readerState.Load() // the reader's own: no one else changes it now
	calls := s.inlineCalls.Add(1)
	s.inlineBehind.Store(behind)
	s.readerState.Store(reading | readerRunning)
	switch {
	case quick:
		if !s.listed.Load() {
			sc.srv.sweep.watch(sc, calls)
		}
	default:
		timed := s.timedCalls.Add(1)
		if !s.watching.Load() && s.watching.CompareAndSwap(false, true) {
			s.watchSeen.Store(calls)
			s.watchTimed.Store(timed)
			s.takeover.Reset(takeoverAfter)
		}
	}
	sc.run(t.id, t.m, t.ctx, t.cancel, t.args, t.reserve, nil)
	return sc.sched.readerState.CompareAndSwap(reading|readerRunning, reading)
}

// watch runs every takeoverAfter while the reader goroutine runs timed
// calls, those of methods not known to be quick (in a goroutine of its
// own, the timer's). A call still running with no call begun since the
// last check, or since this call armed the timer, has run for at least
// takeoverAfter: unless it ends meanwhile, this goroutine becomes the
// connection's reader. With no call running and no timed call begun
// since the last check, the timer is disarmed, so that a lone call now
// and then costs one check, and calls of quick methods alone (which the
// sweep watches) cost none.
func (sc *serverConn) watch() {
	s := &sc.sched
	// The state is loaded first: a call running then, with no call begun
	// since seen, began before it. (A call ending and the next beginning
	// between these loads and the swap below can still be taken over
	// early, which costs a goroutine switch and nothing else.)
	st := s.readerState.Load()
	calls := s.inlineCalls.Load()
	seen := s.watchSeen.Swap(calls)
	timed := s.timedCalls.Load()
	timedSeen := s.watchTimed.Swap(timed)
	if st&readerRunning != 0 && calls == seen &&
		s.readerState.CompareAndSwap(st, st&^readerRunning+readerTakeover) {
		s.watching.Store(false) // the new reader arms it again
		sc.read()
		return
	}
	if timed != timedSeen || st&readerRunning != 0 {
		s.takeover.Reset(takeoverAfter)
		return
	}
	s.watching.Store(false)
	// A timed call that began after the loads above saw watching still
	// set and did not arm the timer: arm it for that call.
	if s.timedCalls.Load() != timed && s.watching.CompareAndSwap(false, true) {
		s.takeover.Reset(takeoverAfter)
	}
}

// takeSlot counts a call in as running, first waiting, at the
// connection's limit (connCallLimit), for one to end. A wait that the
// calls of detached sessions are in the way of first evicts the one
// detached the longest holding calls: those calls are the first canceled
// to make room. It evicts at most one session for each call, and none
// when the calls of sessions already ended, which leave as they return,
// hold the limit down by themselves: evicting then would make no room.
func (sc *serverConn) takeSlot() error {
	s := &sc.sched
	var poll *time.Timer
	evicted := false
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	for {
		n := s.running.Load()
		limit := sc.srv.connCallLimit()
		if n < limit {
			if s.running.CompareAndSwap(n, n+1) {
				return nil
			}
			continue
		}
		var tick <-chan time.Time
		if limit < maxConnCalls {
			srv := sc.srv
			if ended := srv.orphanCalls.Load() - srv.detachedCalls.Load(); !evicted && int64(n) < maxConnCalls-ended {
				evicted = srv.evictHolding("a connection needs the room the calls outliving their connections take")
			}
			// The limit rises as those calls end, which nothing
			// signals here: look again now and then.
			if poll == nil {
				poll = time.NewTimer(roomPoll)
			} else {
				poll.Reset(roomPoll)
			}
			tick = poll.C
		}
		select {
		case <-s.wake:
		case <-tick:
		case <-sc.ctx.Done():
			return sc.ctx.Err()
		}
	}
}

// connCallLimit is how many calls one connection may run at once:
// maxConnCalls less every call still running for a session whose
// connection is gone (detached, or evicted and not yet returned), but at
// least one. A connection's calls and those together are at most
// maxConnCalls whenever it starts one, so that a client that keeps one
// connection open at a time, leaving each with its calls running, has at
// most 2 × maxConnCalls running however many sessions it leaves: the
// connection it has open and the calls it left behind share one
// maxConnCalls; the connection it just closed, whose calls run on until
// the server notices the close (then joining those left behind), has the
// other.
func (s *Server) connCallLimit() int32 {
	n := s.orphanCalls.Load()
	if n <= 0 {
		return maxConnCalls
	}
	return int32(max(int64(maxConnCalls)-n, 1))
}

// leave counts a call out, waking the reader if it waits for a slot.
func (s *connScheduler) leave() {
	if s.running.Add(-1) == maxConnCalls-1 {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// fairSlot reports whether a call admitted on sc may run, by the rule of
// fair shares at the limit of concurrent calls (dispatch_admit.go): in
// the last eighth of the limit, only a connection running fewer than an
// eighth; while a caller under its share waits for a slot, only one
// running fewer than waitShare.
func (sc *serverConn) fairSlot() bool {
	d := sc.srv.dispatch
	limit := d.maxConcurrent()
	if limit == 0 {
		return true
	}
	own := sc.sched.running.Load()
	if d.waiting.Load() > 0 && own >= waitShare(limit) {
		return false
	}
	return d.running() <= int64(limit-limit/8) || own < reserveOf(limit)
}

package simplerpc

import (
	"errors"
	"time"
)

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
// The takeover timer is not set per call: setting a timer wakes the
// runtime's network poller, which costs a sequential caller more than
// the rest of the server's work on its call. Once armed, the timer
// checks the connection every takeoverAfter while calls keep coming
// (see watch) and disarms itself when they stop.
func (sc *serverConn) runInline(t task, behind bool) bool {
	if sc.takeover == nil {
		// Made stopped, before the state below publishes it to watch.
		sc.takeover = time.AfterFunc(time.Hour, sc.watch)
		sc.takeover.Stop()
	}
	reading := sc.readerState.Load() // the reader's own: no one else changes it now
	calls := sc.inlineCalls.Add(1)
	sc.inlineBehind.Store(behind)
	sc.readerState.Store(reading | readerRunning)
	if !sc.watching.Load() && sc.watching.CompareAndSwap(false, true) {
		sc.watchSeen.Store(calls)
		sc.takeover.Reset(takeoverAfter)
	}
	sc.run(t.id, t.m, t.ctx, t.cancel, t.args, t.reserve)
	return sc.readerState.CompareAndSwap(reading|readerRunning, reading)
}

// watch runs every takeoverAfter while the reader goroutine runs calls
// (in a goroutine of its own, the timer's). A call still running with no
// call begun since the last check, or since this call armed the timer,
// has run for at least takeoverAfter: unless it ends meanwhile, this
// goroutine becomes the connection's reader. With no call running and
// none begun since the last check, the timer is disarmed, so that a lone
// call now and then costs one check.
func (sc *serverConn) watch() {
	// The state is loaded first: a call running then, with no call begun
	// since seen, began before it. (A call ending and the next beginning
	// between these loads and the swap below can still be taken over
	// early, which costs a goroutine switch and nothing else.)
	st := sc.readerState.Load()
	calls := sc.inlineCalls.Load()
	seen := sc.watchSeen.Swap(calls)
	if st&readerRunning != 0 && calls == seen &&
		sc.readerState.CompareAndSwap(st, st&^readerRunning+readerTakeover) {
		sc.watching.Store(false) // the new reader arms it again
		sc.read()
		return
	}
	if calls != seen || st&readerRunning != 0 {
		sc.takeover.Reset(takeoverAfter)
		return
	}
	sc.watching.Store(false)
	// A call that began after the loads above saw watching still set and
	// did not arm the timer: arm it for that call.
	if sc.inlineCalls.Load() != calls && sc.watching.CompareAndSwap(false, true) {
		sc.takeover.Reset(takeoverAfter)
	}
}

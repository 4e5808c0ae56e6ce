package simplerpc

import (
	"errors"
	"time"
)

// takeoverAfter is how long the reader goroutine runs a call itself
// before another goroutine takes over reading the connection.
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

// runInline runs a call in the reader goroutine: for a lone call, the
// one running on the connection with no frame behind it, this spares
// the hand-off to another goroutine and answers a sequential caller
// sooner. A call that runs longer than takeoverAfter does not hold up
// the connection: a new goroutine takes over its reading. runInline
// reports whether this goroutine is still the reader.
func (sc *serverConn) runInline(t task) bool {
	if sc.takeover == nil {
		// Made stopped, before the state below publishes it to takeOver.
		sc.takeover = time.AfterFunc(time.Hour, sc.takeOver)
		sc.takeover.Stop()
	}
	reading := sc.readerState.Load() // the reader's own: no one else changes it now
	sc.readerState.Store(reading | readerRunning)
	sc.takeover.Reset(takeoverAfter)
	sc.run(t.id, t.m, t.ctx, t.cancel, t.args)
	if sc.readerState.CompareAndSwap(reading|readerRunning, reading) {
		sc.takeover.Stop()
		return true
	}
	return false
}

// takeOver runs when a call run by the reader goroutine outlasts
// takeoverAfter (in a goroutine of its own, the timer's): unless the call
// ended meanwhile, this goroutine becomes the connection's reader.
func (sc *serverConn) takeOver() {
	st := sc.readerState.Load()
	if st&readerRunning != 0 && sc.readerState.CompareAndSwap(st, st&^readerRunning+readerTakeover) {
		sc.read()
	}
}

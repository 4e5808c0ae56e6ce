package simplerpc

import (
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/frameio"
)

// Where a client runs a callback invocation. A lone invocation — the one
// running on its connection, with no frame read behind it, as a server
// method calling its callback in a loop sends them — runs in the
// connection's reader goroutine, which then writes its reply itself: a
// round trip then costs the client no hand-off to another goroutine, and
// no thread wake-up for one. Any other runs in a worker (runInvocation),
// and the reader reads on.
//
// An invocation run by the reader may block: on something slow, or on a
// call to the same client, whose reply only the reader can deliver. It
// does not hold the connection up, nor deadlock it: the reading is taken
// over, as a server's is (scheduler.go), by the goroutine of a timer that
// finds the same invocation running on two checks takeoverAfter apart.
// The old goroutine finishes its invocation, finds the takeover count
// moved, and returns without touching the connection again.
//
//	            lone invocation
//	reading ────────────────────► running one
//	   ▲                            │      │
//	   │  it returns; the state     │      │ watchInline: running, no
//	   │  is still this             │      │ invocation begun since the
//	   │  goroutine's: it reads on  │      │ last check
//	   └────────────────────────────┘      ▼
//	                 the timer's goroutine becomes the reader (reading);
//	                 the old one returns errTakenOver when done
//
// The timer is not set per invocation — setting one wakes the runtime's
// network poller — but armed by the first and re-armed by its own checks
// while invocations keep coming; it disarms itself when they stop.

// inlineReader is a client connection's state of the invocations its
// reader runs. Its fields are atomics, written by the reader and read by
// the timer's goroutine, but timer and fr, which the reader sets before
// it first publishes a state.
type inlineReader struct {
	state    atomic.Uint64 // readerRunning, and a count of takeovers (as connScheduler.readerState)
	begun    atomic.Uint64 // invocations begun by the reader
	seen     atomic.Uint64 // begun at the timer's last check
	watching atomic.Bool   // the timer is armed
	timer    *time.Timer   // fires watchInline; made by the first invocation the reader runs
	fr       *frameio.Reader
}

// runsInline reports whether the reader runs an invocation itself: it
// is the only one running (n, counted with it) and no frame waits behind
// it.
func runsInline(n int64, fr *frameio.Reader) bool { return n == 1 && fr.Buffered() == 0 }

// runInline runs job, an invocation, in the reader goroutine, which
// reads fr. It reports whether this goroutine is still the reader.
func (cc *clientConn) runInline(fr *frameio.Reader, job func()) bool {
	r := &cc.cb.inline
	if r.timer == nil {
		r.fr = fr
		// Made stopped, before the state below publishes it.
		r.timer = time.AfterFunc(time.Hour, cc.watchInline)
		r.timer.Stop()
	}
	reading := r.state.Load() // the reader's own: no one else changes it now
	n := r.begun.Add(1)
	r.state.Store(reading | readerRunning)
	if !r.watching.Load() && r.watching.CompareAndSwap(false, true) {
		r.seen.Store(n)
		r.timer.Reset(takeoverAfter)
	}
	job()
	return r.state.CompareAndSwap(reading|readerRunning, reading)
}

// watchInline runs every takeoverAfter while the reader runs invocations
// (in the timer's goroutine). An invocation still running with none
// begun since the last check has run for at least takeoverAfter: unless
// it returns meanwhile, this goroutine becomes the connection's reader.
// With none running and none begun since, the timer is disarmed.
func (cc *clientConn) watchInline() {
	r := &cc.cb.inline
	st := r.state.Load()
	begun := r.begun.Load()
	seen := r.seen.Swap(begun)
	if st&readerRunning != 0 && begun == seen &&
		r.state.CompareAndSwap(st, st&^readerRunning+readerTakeover) {
		r.watching.Store(false) // the new reader arms it again
		cc.readLoop(r.fr)
		return
	}
	if begun != seen || st&readerRunning != 0 {
		r.timer.Reset(takeoverAfter)
		return
	}
	r.watching.Store(false)
	// An invocation that began after the loads above saw watching still
	// set and did not arm the timer: arm it for that one.
	if r.begun.Load() != begun && r.watching.CompareAndSwap(false, true) {
		r.timer.Reset(takeoverAfter)
	}
}

// stopInline disarms the timer: the reading has ended.
func (cc *clientConn) stopInline() {
	if t := cc.cb.inline.timer; t != nil {
		t.Stop()
	}
}

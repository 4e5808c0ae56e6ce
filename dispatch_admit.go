package simplerpc

import (
	"sync/atomic"
	"time"
)

// admit counts a call of m about to run, or refuses it with
// CodeUnavailable when its caller was told to go away (goingAway: the
// caller's connection's flag, or the HTTP calls' one) or the server runs
// as many calls as it may. At that limit it first ends the session
// detached the longest (dispatchConfig.evict) — calls of a client that
// left may hold the slots — and waits briefly for its calls to end.
// Every admitted call must be released once.
func (d *dispatcher) admit(m *method, goingAway *atomic.Bool) *Error {
	e := d.tryAdmit(m, goingAway)
	if e == nil || goingAway.Load() || d.cfg.evict == nil || !d.cfg.evict("the limit of concurrent calls is reached") {
		return e
	}
	for deadline := time.Now().Add(evictWait); ; time.Sleep(time.Millisecond) {
		if e = d.tryAdmit(m, goingAway); e == nil || time.Now().After(deadline) {
			return e
		}
	}
}

// tryAdmit is admit without the eviction.
func (d *dispatcher) tryAdmit(m *method, goingAway *atomic.Bool) *Error {
	// Count the call before looking at the go-away flag: Shutdown sets the
	// flag, then waits for the count to reach zero.
	n := d.active.Add(1)
	switch {
	case goingAway.Load():
		d.active.Add(-1)
		d.cfg.refused.shutdown.Add(1)
		return errorf(CodeUnavailable, m.name, "server is shutting down; call not run")
	case d.cfg.maxConcurrent > 0 && n > int64(d.cfg.maxConcurrent):
		d.active.Add(-1)
		d.cfg.refused.busy.Add(1)
		return errorf(CodeUnavailable, m.name, "server busy: %d calls running; call not run", d.cfg.maxConcurrent)
	}
	return nil
}

// evictWait is how long a call refused at the limit of concurrent calls
// waits for the calls of an evicted session to end.
const evictWait = 20 * time.Millisecond

// release ends what admit began.
func (d *dispatcher) release() { d.active.Add(-1) }

// running returns the calls admitted and not yet released.
func (d *dispatcher) running() int64 { return d.active.Load() }

// maxConcurrent returns the limit of calls admitted at once, 0 for none.
func (d *dispatcher) maxConcurrent() int { return d.cfg.maxConcurrent }

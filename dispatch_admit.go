package simplerpc

import (
	"sync/atomic"
	"time"
)

// Admission at the limit of concurrent calls (WithMaxConcurrentCalls).
// The rule is a fair share, so that no one peer — a connection, or the
// sessions its client left behind — keeps a newcomer out:
//
//   - Below the last eighth of the limit (the reserve), any call is
//     admitted.
//   - In the reserve, a connection's call is admitted only while that
//     connection runs fewer than an eighth of the limit: one connection
//     alone runs at most seven eighths, so that one arriving at an idle
//     server cannot take every slot and hold it for as long as its calls
//     run. A JSON-RPC request has no connection: it may take the reserve.
//   - At the limit, a caller under its share (a connection running fewer
//     than an eighth, or a JSON-RPC request) is not refused at once: it
//     waits, up to admitWait, for a slot — unless as many callers as the
//     reserve already wait. The calls of one JSON-RPC request (a batch)
//     share one such wait. Meanwhile the detached sessions
//     holding calls are ended, the one detached the longest first (their
//     calls are the first canceled to make room), and a connection
//     running waitShare calls or more is refused any more, so that the
//     slots that free go to those waiting. A connection over its share,
//     or running waitShare calls or more, is refused at once while
//     anyone waits.
//
// No call is admitted past the limit: a waiter takes a slot only when
// one frees.

// admitWait bounds how long a call under its share waits for a slot at
// the limit of concurrent calls; evictEvery is how often, meanwhile, it
// ends another detached session holding calls.
const (
	admitWait  = time.Second
	evictEvery = 20 * time.Millisecond
)

// admitEpoch is what admitRequest's shared deadlines count from.
var admitEpoch = time.Now()

// evictWait is how long a call over its share, refused at the limit with
// no one waiting, waits for the calls of the session it evicted to end.
const evictWait = 20 * time.Millisecond

// admit counts a call of m about to run, or refuses it with
// CodeUnavailable when its caller was told to go away (goingAway: the
// caller's connection's flag, or the HTTP calls' one) or the server runs
// as many calls as it may (see the rule above). held counts the calls
// the caller's connection runs; nil for a call that has none (JSON-RPC
// over HTTP), which is always under its share. Every admitted call must
// be released once.
func (d *dispatcher) admit(m *method, goingAway *atomic.Bool, held *atomic.Int32) *Error {
	return d.admitWaiting(m, goingAway, held, nil)
}

// admitRequest is admit for a call of a JSON-RPC request, whose calls
// together wait for slots at most admitWait: by holds when that wait
// ends (nanoseconds since admitEpoch), 0 until one of them first finds
// the server full. A batch of calls to a full server then takes at most
// a second more, not a second a call.
func (d *dispatcher) admitRequest(m *method, goingAway *atomic.Bool, by *atomic.Int64) *Error {
	return d.admitWaiting(m, goingAway, nil, by)
}

// admitWaiting is admit, and with by not nil admitRequest.
func (d *dispatcher) admitWaiting(m *method, goingAway *atomic.Bool, held *atomic.Int32, by *atomic.Int64) *Error {
	switch d.take(goingAway) {
	case admitted:
		return nil
	case shuttingDown:
		return d.refuseShutdown(m)
	}
	return d.admitFull(m, goingAway, held, by)
}

// What take did.
type admission int

const (
	admitted     admission = iota // counted in
	full                          // the server runs as many calls as it may
	shuttingDown                  // the caller was told to go away
)

// take counts a call in, unless the server is full or the caller goes
// away. The count never passes the limit, not even for a moment: Stats'
// CallsRunning, which reads it, is never over WithMaxConcurrentCalls.
func (d *dispatcher) take(goingAway *atomic.Bool) admission {
	// Count the call before looking at the go-away flag: Shutdown sets the
	// flag, then waits for the count to reach zero.
	if limit := int64(d.cfg.maxConcurrent); limit == 0 {
		d.active.Add(1)
	} else {
		for {
			n := d.active.Load()
			if n >= limit {
				if goingAway.Load() {
					return shuttingDown
				}
				return full
			}
			if d.active.CompareAndSwap(n, n+1) {
				break
			}
		}
	}
	if goingAway.Load() {
		d.active.Add(-1)
		return shuttingDown
	}
	return admitted
}

// admitFull is admit for a call that found the server full.
func (d *dispatcher) admitFull(m *method, goingAway *atomic.Bool, held *atomic.Int32, by *atomic.Int64) *Error {
	limit := d.cfg.maxConcurrent
	if held != nil && (held.Load() >= reserveOf(limit) || held.Load() >= waitShare(limit) && d.waiting.Load() > 0) {
		// Over its share, or running as many as fairSlot would refuse
		// it while others wait: at most a short wait for the calls of
		// a session it evicts, and none while a caller under its
		// share waits for the slots that free.
		if d.waiting.Load() > 0 || d.cfg.evict == nil || !d.cfg.evict(evictWhy) {
			return d.refuseBusy(m)
		}
		return d.waitSlot(m, goingAway, time.Now().Add(evictWait), false)
	}
	deadline := time.Now().Add(admitWait)
	if by != nil {
		// On the monotonic clock: a step of the wall clock moves no wait.
		if !by.CompareAndSwap(0, int64(time.Since(admitEpoch)+admitWait)) {
			deadline = admitEpoch.Add(time.Duration(by.Load()))
		}
		if !time.Now().Before(deadline) {
			return d.refuseBusy(m) // its request has waited its second
		}
	}
	if d.waiting.Add(1) > maxWaiting(limit) {
		// Enough wait already: those waiting would take the slots
		// that free before it.
		d.waiting.Add(-1)
		return d.refuseBusy(m)
	}
	defer d.waiting.Add(-1)
	return d.waitSlot(m, goingAway, deadline, true)
}

// evictWhy is the reason admission gives for an eviction.
const evictWhy = "the limit of concurrent calls is reached"

// waitSlot waits until deadline for a slot, looking again every few
// milliseconds (the calls that end do not signal it: that would cost
// every call's release a look; maxWaiting bounds the lookers). With
// evicting, it ends a detached session holding calls now and every
// evictEvery.
func (d *dispatcher) waitSlot(m *method, goingAway *atomic.Bool, deadline time.Time, evicting bool) *Error {
	var evictAt time.Time
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 5*time.Millisecond) {
		if now := time.Now(); evicting && d.cfg.evict != nil && !now.Before(evictAt) {
			d.cfg.evict(evictWhy)
			evictAt = now.Add(evictEvery)
		}
		time.Sleep(pause)
		switch d.take(goingAway) {
		case admitted:
			return nil
		case shuttingDown:
			return d.refuseShutdown(m)
		}
		if time.Now().After(deadline) {
			return d.refuseBusy(m)
		}
	}
}

// refuseBusy refuses a call at the limit of concurrent calls.
func (d *dispatcher) refuseBusy(m *method) *Error {
	d.cfg.refused.busy.Add(1)
	return errorf(CodeUnavailable, m.name, "server busy: %d calls running; call not run", d.cfg.maxConcurrent)
}

// refuseShutdown refuses a call of a caller told to go away.
func (d *dispatcher) refuseShutdown(m *method) *Error {
	d.cfg.refused.shutdown.Add(1)
	return errorf(CodeUnavailable, m.name, "server is shutting down; call not run")
}

// reserveOf is the reserve of a limit of concurrent calls: its last
// eighth, at least one call. A connection running fewer calls is under
// its share.
func reserveOf(limit int) int32 { return int32(max(limit/8, 1)) }

// maxWaiting bounds the calls waiting for a slot at once: the reserve.
// A caller under its share finding that many waiting is refused at once.
func maxWaiting(limit int) int32 { return reserveOf(limit) }

// waitShare is what a connection may run while a caller under its share
// waits for a slot: an eighth of the reserve, at least one call.
func waitShare(limit int) int32 { return int32(max(limit/64, 1)) }

// release ends what admit began.
func (d *dispatcher) release() { d.active.Add(-1) }

// running returns the calls admitted and not yet released.
func (d *dispatcher) running() int64 { return d.active.Load() }

// maxConcurrent returns the limit of calls admitted at once, 0 for none.
func (d *dispatcher) maxConcurrent() int { return d.cfg.maxConcurrent }

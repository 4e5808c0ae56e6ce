package simplerpc

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// lazyDeadline is one deadline of a frontConn, set on the connection only
// when it must be. Per keep-alive request net/http sets the read deadline
// six times (the header timeout, then none; none as its background read
// starts; the past, to abort that read after the handler, then none; the
// idle timeout) and the write deadline once (none, after the response),
// and the handler sets each once more: each a runtime timer added, moved
// or deleted, together about a tenth of the server's work on a small
// request (4.4% of BenchmarkJSONRPC's CPU, client included). Here a deadline
// in the past is set at once (it interrupts a read or a write); a later
// one is set a quarter of its timeout late, and skipped while the
// connection's own, pending, is no later than that; none (zero) is never
// set, nor the clock read for it: a deadline the connection keeps,
// pending or passed (the past one that aborted a read), is replaced by
// the next one asked for, or re-armed by the I/O it fails. An I/O that
// times out on a
// deadline the connection kept but net/http no longer wants is re-armed
// with the one wanted and goes on (frontConn.Read and Write): it fails
// with a timeout only once the deadline last asked for has passed — at
// most a quarter of its timeout late.
//
// A deadline further than horizon (if not zero) is set horizon from now,
// and re-armed when that passes: the read deadline's horizon is an
// eighth more than the header timeout, so that the idle timeout set as a
// request ends is no later than the next request's header timeout with
// its slack, which then need not be set (one timer update per request
// fewer).
type lazyDeadline struct {
	horizon time.Duration // set once, when the connection is made

	mu   sync.Mutex
	want time.Time // the deadline asked for; zero: none
	set  time.Time // the deadline on the connection; zero: none
}

// within is t, but no further than the horizon from now.
func (d *lazyDeadline) within(t, now time.Time) time.Time {
	if d.horizon > 0 && t.Sub(now) > d.horizon {
		return now.Add(d.horizon)
	}
	return t
}

// late is t with the slack a deadline is set with: a quarter of the time
// until it, from now.
func late(t, now time.Time) time.Time { return t.Add(t.Sub(now) / 4) }

// update records t as the deadline wanted and sets on the connection,
// with apply, whatever must be.
func (d *lazyDeadline) update(t time.Time, apply func(time.Time) error) error {
	if t.IsZero() {
		d.mu.Lock()
		d.want = t
		d.mu.Unlock()
		return nil // if the one kept fires, or has, the I/O re-arms
	}
	return d.updateAt(t, time.Now(), apply)
}

// after is update with the deadline dt from now, reading the clock once.
func (d *lazyDeadline) after(dt time.Duration, apply func(time.Time) error) error {
	now := time.Now()
	return d.updateAt(now.Add(dt), now, apply)
}

// updateAt is update of a deadline t that is not zero, at now.
func (d *lazyDeadline) updateAt(t, now time.Time, apply func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = t
	pending := !d.set.IsZero() && d.set.After(now)
	switch {
	case !t.After(now):
		// In the past: at once, to interrupt the I/O under way.
	case pending && !d.set.After(late(t, now)):
		return nil // early at worst: the I/O re-arms
	default:
		t = d.within(late(t, now), now)
	}
	d.set = t
	return apply(t)
}

// rearm is what an I/O that timed out does: if the deadline wanted has
// not passed (the connection's was an earlier one, kept), it sets that
// one and reports true, for the I/O to go on.
func (d *lazyDeadline) rearm(apply func(time.Time) error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, now := d.want, time.Now()
	if !t.IsZero() && !t.After(now) {
		return false
	}
	if !t.IsZero() {
		t = d.within(t, now)
	}
	d.set = t
	return apply(t) == nil
}

// timedOut reports whether err is a deadline's.
func timedOut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// readLazy reads nc into p; a read that times out on a deadline d kept
// but no longer wanted goes on.
func readLazy(nc net.Conn, p []byte, d *lazyDeadline, apply func(time.Time) error) (int, error) {
	for {
		n, err := nc.Read(p)
		if n > 0 || err == nil || !timedOut(err) || !d.rearm(apply) {
			return n, err
		}
	}
}

// writeLazy writes p to nc; a write that times out on a deadline d kept
// but no longer wanted goes on.
func writeLazy(nc net.Conn, p []byte, d *lazyDeadline, apply func(time.Time) error) (int, error) {
	n, err := nc.Write(p)
	for err != nil && n < len(p) && timedOut(err) && d.rearm(apply) {
		var m int
		m, err = nc.Write(p[n:])
		n += m
	}
	return n, err
}

package simplerpc

import (
	"fmt"
	"time"
)

// supervise is the endpoint's one background goroutine. It sleeps until
// nudged — by a connection that stopped or ended, by markDown, or by a
// dial that found orphaned calls — then tends to the endpoint, and, while
// the endpoint is down, probes it. It returns when ep.ctx ends (close).
//
//	         nudge                     down
//	asleep ─────────► tend ───────────────────► probe ──connected──► asleep
//	   ▲                │ (up)                  │   ▲
//	   └────────────────┘              nudge: tend ─┘
func (ep *endpoint) supervise() {
	defer close(ep.exited)
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-ep.wake:
		}
		ep.tend()
		ep.probe()
	}
}

// tend brings the endpoint up to date: it forgets connections that ended,
// marks the endpoint down when one broke or was sent away, and re-sends
// the calls orphaned by a broken connection.
func (ep *endpoint) tend() {
	if ep.prune() {
		ep.setDown()
	}
	if ep.calls.orphaned() > 0 {
		ep.recover()
	}
}

// prune forgets the connections that ended, and takes cur off a
// connection that takes no new calls. It reports whether a connection
// newly stopped in a way that says the server is not to be called for
// now (a go-away, a failed write, a break).
func (ep *endpoint) prune() (down bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for cc, seen := range ep.conns {
		usable, ended, stoppedDown := cc.status()
		if usable {
			continue
		}
		if ep.cur == cc {
			ep.setCur(nil)
		}
		if ended {
			delete(ep.conns, cc)
		} else {
			ep.conns[cc] = true
		}
		if !seen && stoppedDown {
			down = true
		}
	}
	return down
}

// recover re-sends the orphaned calls on a connection of the session,
// dialing one under the retry policy if need be. If none can be made, they
// fail with CodeConnectionLost.
func (ep *endpoint) recover() {
	var err error
	for n := 1; ; n++ {
		var cc *clientConn
		if cc, err = ep.conn(ep.ctx); err == nil {
			frames, ok := ep.calls.adopt(cc.lane)
			if ok {
				cc.resend(ep.ctx, frames.Bytes())
				putBuffer(frames)
				return
			}
			// cc stopped before it took them: the next turn dials anew.
			err = errorf(CodeUnavailable, "", "connection to %s closed before the calls could be sent again", ep.addr)
		}
		if !retryable(err) || n >= max(ep.cfg.retry.MaxAttempts, 1) || !ep.cfg.retry.wait(ep.ctx, n) {
			break
		}
	}
	ep.calls.failOrphans(CodeConnectionLost, fmt.Sprintf("connection lost while the call was in flight (it may or may not have run), and no new one could be made: %v", err), err)
}

// probe redials a down endpoint, backing off under the retry policy's
// delays (capped at its MaxBackoff, or 1s), until a connection is made or
// the endpoint closes. A nudge while it waits is tended to at once:
// orphaned calls do not wait out the backoff.
func (ep *endpoint) probe() {
	policy := ep.cfg.retry
	if policy.InitialBackoff <= 0 {
		policy.InitialBackoff = 10 * time.Millisecond
	}
	if policy.MaxBackoff <= 0 {
		policy.MaxBackoff = time.Second
	}
	for n := 1; ep.isDown(); n++ {
		t := time.NewTimer(policy.backoff(n))
		for waiting := true; waiting; {
			select {
			case <-ep.ctx.Done():
				t.Stop()
				return
			case <-ep.wake:
				ep.tend()
				if !ep.isDown() {
					t.Stop()
					return
				}
			case <-t.C:
				waiting = false
			}
		}
		_, _ = ep.conn(ep.ctx) // connected: conn clears down
	}
}

// isDown reports whether the supervisor is to probe the endpoint.
func (ep *endpoint) isDown() bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.down
}

package simplerpc

import (
	"context"
	"errors"
	"time"
)

// healthTimeout bounds one health check (WithHealthCheck), or the
// interval if shorter.
const healthTimeout = 5 * time.Second

// ready reports whether the balancer may pick the endpoint: reachable,
// and not reporting NOT_SERVING.
func (ep *endpoint) ready() bool { return ep.healthy.Load() && !ep.notServing.Load() }

// startHealthWatch starts the endpoint's health checks when the client
// asked for them (WithHealthCheck): a second goroutine, watchHealth,
// which ends with ep.ctx and closes healthDone.
func (ep *endpoint) startHealthWatch() {
	ep.healthDone = make(chan struct{})
	if ep.cfg.healthInterval <= 0 {
		close(ep.healthDone)
		return
	}
	go ep.watchHealth(ep.cfg.healthInterval)
}

// watchHealth asks the server for its health every interval, on the
// connection new calls go to (it dials none: that is the supervisor's
// work), and records whether it reports NOT_SERVING.
func (ep *endpoint) watchHealth(interval time.Duration) {
	defer close(ep.healthDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-t.C:
		}
		ep.checkHealth(min(interval, healthTimeout))
	}
}

// checkHealth makes one health check. An answer sets notServing; a
// server without the health method counts as serving; any other failure
// leaves the status as it was.
func (ep *endpoint) checkHealth(timeout time.Duration) {
	ep.mu.Lock()
	cc := ep.cur
	if ep.retiring || cc == nil || !cc.usable() {
		cc = nil
	}
	ep.mu.Unlock()
	if cc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ep.ctx, timeout)
	defer cancel()
	var h Health
	err := ep.roundTrip(ctx, cc, HealthMethod, []any{""}, []any{&h}, nil, nil, nil)
	switch {
	case err == nil:
	case errors.Is(err, &Error{Code: CodeNotFound}):
		h.Status = HealthServing
	default:
		return
	}
	if ep.notServing.Swap(h.Status == HealthNotServing) != (h.Status == HealthNotServing) && ep.onChange != nil {
		ep.onChange()
	}
}

package simplerpc

import (
	"sync/atomic"
	"time"
)

// quickCall is the run time under which a call is run by the connection's
// reader goroutine even with more frames behind it: about what handing a
// call to another goroutine costs when many calls run at once. Running
// such calls one after another in the reader spares each the hand-off,
// and spares a loaded server the scheduling and lock contention of
// thousands of goroutines that each run for a microsecond.
const quickCall = 5 * time.Microsecond

// costSampleEvery says which calls are timed: those whose id is a
// multiple of it. Timing every call would make a method called from many
// cores write one shared word on every call.
const costSampleEvery = 8

// runCost follows how long a method's calls run: a moving average of
// sampled run times, 0 until the first sample. One slow sample makes the
// method slow at once (an eighth of a long run outweighs the threshold);
// it becomes quick again only after a run of quick samples. A sample
// counts for at most maxCostSample. It is one atomic, written by the
// goroutines that time calls, read by schedulers.
type runCost struct{ ns atomic.Int64 }

// maxCostSample is the most one sampled call counts for. A run time is
// measured on the wall clock: on a busy machine a one-microsecond call
// preempted by the kernel can take milliseconds, and counted in full it
// kept a quick method slow for hundreds of calls (about 40 quick samples
// after 10 ms). Counted as this, it is slow at once all the same, and
// quick again after about 13 quick samples, as after a call that really
// ran this long.
const maxCostSample = 200 * time.Microsecond

// observe records that a sampled call ran for d.
func (c *runCost) observe(d time.Duration) {
	d = min(d, maxCostSample)
	old := c.ns.Load()
	if old == 0 {
		c.ns.Store(max(int64(d), 1))
		return
	}
	// Samples from calls ending together may overwrite each other: the
	// average is a guide, not a count.
	c.ns.Store(old - old/8 + int64(d)/8)
}

// quick reports whether the method's calls are known to run in less than
// quickCall.
func (c *runCost) quick() bool {
	ns := c.ns.Load()
	return ns > 0 && ns < int64(quickCall)
}

// replySize follows how large a method's replies are, so that the server
// can reserve memory for a call before it runs: the largest reply seen
// lately. A larger reply raises it at once; smaller ones lower it by an
// eighth of the difference, on sampled calls. n is an atomic; fixed is
// set at Register.
type replySize struct {
	n     atomic.Int64
	fixed int64 // a bound on every reply, when the result types have a fixed size (fixedReply); else 0
}

// observe records a reply of n bytes to call id.
func (r *replySize) observe(id uint64, n int) {
	old := r.n.Load()
	switch {
	case int64(n) > old:
		r.n.Store(int64(n))
	case id%costSampleEvery == 0 && int64(n) < old:
		r.n.Store(old - (old-int64(n))/8)
	}
}

// reserve returns what to reserve for a call's reply before it runs:
// for a method whose results have a fixed size, their bound; else twice
// the expected reply (the results, then their encoding), or, with no
// reply seen yet, a 16th of a connection's share — so that a connection
// runs at most 16 calls of a method whose replies may be large before
// one of them says how large.
func (r *replySize) reserve(share int64) int64 {
	if r.fixed > 0 {
		return r.fixed
	}
	if n := r.n.Load(); n > 0 {
		return 2 * n
	}
	return share / 16
}

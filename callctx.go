package simplerpc

import (
	"context"
	"sync/atomic"
	"time"
)

// callCtx is the context of a call that interceptors see, canceled by a
// cancel frame, the caller's deadline, the end of its connection (or
// session), and the end of the call. Most calls end without anyone
// waiting on their context, so what context.WithCancel would build at
// once — a context registered with its parent, a closure to cancel it —
// is built only when something asks for Done (or derives a context that
// must follow this one): until then, Err reads a flag, the deadline and
// the parent. It also carries the caller's metadata and the call's
// CallInfo, so that the call takes one allocation for all three.
type callCtx struct {
	parent   context.Context
	deadline time.Time // the caller's, or the zero time for none
	call     serverCall

	// live is the context that does the canceling once made; it is
	// set once, from nil, and never changes. canceled is set by cancel.
	// Neither takes a lock: cancel sets canceled, then cancels live if
	// there is one; make stores live, then cancels it if canceled is
	// set. Whichever of the two comes second sees the other's write, so
	// a live context made as the call is canceled ends too.
	live     atomic.Pointer[liveCtx]
	canceled atomic.Bool
}

// liveCtx is a callCtx's own cancelable context, made when needed.
type liveCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// callKey is the context key of a call's serverCall.
type callKey struct{}

// newCallCtx returns the context of a call from parent with the caller's
// timeout (0 for none) and metadata (md, possibly nil).
func newCallCtx(parent context.Context, timeout time.Duration, md Metadata) *callCtx {
	c := &callCtx{parent: parent}
	if timeout > 0 {
		c.deadline = time.Now().Add(timeout)
		if pd, ok := parent.Deadline(); ok && pd.Before(c.deadline) {
			c.deadline = pd
		}
	}
	c.call.info.Metadata = md
	return c
}

// make returns c's live context, making it the first time. Two callers
// at once may each make one: the one stored first is kept, the other
// released.
func (c *callCtx) make() *liveCtx {
	if l := c.live.Load(); l != nil {
		return l
	}
	l := new(liveCtx)
	if c.deadline.IsZero() || c.canceled.Load() {
		l.ctx, l.cancel = context.WithCancel(c.parent)
	} else {
		l.ctx, l.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	if !c.live.CompareAndSwap(nil, l) {
		l.cancel()
		return c.live.Load()
	}
	if c.canceled.Load() {
		l.cancel()
	}
	return l
}

// cancel cancels c; it is the call's context.CancelFunc.
func (c *callCtx) cancel() {
	c.canceled.Store(true)
	if l := c.live.Load(); l != nil {
		l.cancel()
	}
}

// Deadline returns the caller's deadline, or the parent's if earlier.
func (c *callCtx) Deadline() (time.Time, bool) {
	if !c.deadline.IsZero() {
		return c.deadline, true
	}
	return c.parent.Deadline()
}

// Done returns a channel closed when c is canceled.
func (c *callCtx) Done() <-chan struct{} { return c.make().ctx.Done() }

// Err returns why c was canceled, or nil.
func (c *callCtx) Err() error {
	if l := c.live.Load(); l != nil {
		return l.ctx.Err()
	}
	return c.lazyErr()
}

// lazyErr is Err before c's live context is made.
func (c *callCtx) lazyErr() error {
	if c.canceled.Load() {
		return context.Canceled
	}
	if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return c.parent.Err()
}

// Value returns the caller's metadata and the call for their keys, and
// otherwise the parent's value. Once c has ended on its own, it answers
// from its live context, made then if it was not, so that
// context.Cause, which asks for a key of the context package's, sees
// why.
func (c *callCtx) Value(key any) any {
	switch key.(type) {
	case incomingKey:
		if md := c.call.info.Metadata; md != nil {
			return md
		}
	case callKey:
		return &c.call
	}
	if l := c.live.Load(); l != nil {
		return l.ctx.Value(key)
	}
	if c.lazyErr() != nil && c.parent.Err() == nil {
		return c.make().ctx.Value(key)
	}
	return c.parent.Value(key)
}

// String names the context, as those of the context package do.
func (c *callCtx) String() string { return "simplerpc call context" }

// interceptedContext returns the context of a call that interceptors
// see, from parent, and registers it as the call's in the cancel table:
// the callContext of such calls. The cancel table cancels it when the
// call ends and the table forgets it (the run's settle), so the cancel
// function returned does nothing — a CancelFunc for the context itself
// would cost an allocation per call.
func (sc *serverConn) interceptedContext(parent context.Context, id uint64, timeout time.Duration, kv []string, size int) (context.Context, context.CancelFunc) {
	var md Metadata
	if len(kv) > 0 {
		md = metadataFromPairs(kv)
	}
	c := newCallCtx(parent, timeout, md)
	c.call.info.RequestSize = size
	sc.cancels.addCall(id, c)
	return c, endedByCancelTable
}

// endedByCancelTable is the cancel function of a call context held in a
// cancel table, which cancels it as it removes it.
func endedByCancelTable() {}

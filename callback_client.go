package simplerpc

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// The client's side of callbacks. A call whose arguments hold funcs
// sends, in each func's place, its slot — its number among the call's
// funcs — and keeps the funcs in a clientCallbacks attached to the
// pending call. A callback frame for the call runs the func in its slot —
// in the connection's reader when it is the only one running, else in a
// goroutine of its own (callback_inline.go) — with a context derived from
// the caller's and bounded by the deadline the server sent; its results
// or error go back in a callback reply. Nothing else of the client is reachable: a
// frame names a call by id and a func by slot, and only the funcs passed
// with that call, while it is pending, can be found.
//
// The invocations belong to their call, whichever goroutine runs them:
// the call does not return before they have (finish), and their contexts
// end when the call does.

// DefaultClientCallbacks is how many callback invocations a client runs
// at once on one connection unless WithClientCallbackLimit says
// otherwise.
const DefaultClientCallbacks = 256

// WithCallbacks turns callbacks on or off; they are on by default. A
// client with callbacks off runs none: funcs passed among a call's
// arguments still travel as callbacks, and the server's every invocation
// of them fails with CodePermissionDenied (ErrNoCallbacks), without the
// client hearing of it.
func WithCallbacks(on bool) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.noCallbacks = !on })
}

// WithClientCallbackLimit bounds the callback invocations a client runs
// at once on one connection; an invocation past it is refused, not run,
// and fails on the server with CodeResourceExhausted. If zero or not
// given, the limit is DefaultClientCallbacks.
func WithClientCallbackLimit(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.callbackLimit = n })
}

// connCallbackState is what a client connection knows of callbacks.
type connCallbackState struct {
	ok      bool         // the server may send callbacks here (the welcome granted them)
	limit   int64        // invocations it runs at once
	running atomic.Int64 // invocations running
	work    chan func()  // unbuffered: an invocation handed to a worker waiting for one
	inline  inlineReader // invocations the reader runs itself (callback_inline.go)
	refused cbRefusals   // refusals the writer has yet to take (callback_refuse.go)
}

// callbackIdle is how long a goroutine that ran an invocation waits for
// another before it exits: invocations that follow one another reuse a
// goroutine whose stack has grown to run them, rather than each growing
// a new one.
const callbackIdle = time.Second

// runInvocation runs job on a worker waiting for one, or on a new one.
// Workers belong to the connection: each exits when it has waited
// callbackIdle for work, or when the connection's reader has returned.
func (cc *clientConn) runInvocation(job func()) {
	select {
	case cc.cb.work <- job:
	default:
		go cc.callbackWorker(job)
	}
}

// callbackWorker runs job, then the jobs handed to it, until it has
// waited callbackIdle for one or the connection ended.
func (cc *clientConn) callbackWorker(job func()) {
	idle := time.NewTimer(callbackIdle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(callbackIdle)
		select {
		case job = <-cc.cb.work:
		case <-idle.C:
			return
		case <-cc.done:
			return
		}
	}
}

// clientCallbacks is the funcs passed with one call.
//
// With a session, the server may send an invocation again on the
// connection that resumes it; seen tells them apart by number: an
// invocation running is not run again, and one that ran has its reply
// sent again from memory. An entry leaves seen once a callback frame
// says the server settled its invocation (floor), or with the call.
type clientCallbacks struct {
	methods   []*method // by slot: each func, as callbackMethod runs it
	resumable bool      // the call outlives its connection: replies are kept
	ctx       context.Context
	cancel    context.CancelFunc // ends the invocations' contexts when the call returns

	mu    sync.Mutex                   // guards the fields below
	seen  map[uint64]*clientInvocation // invocations running or answered and not settled, by number
	floor uint64                       // every invocation up to it is settled on the server
	kept  int                          // bytes of the replies in seen (maxKeptReplyBytes)
	ended bool                         // the call returned: no new invocation runs
	wg    sync.WaitGroup               // the invocations' goroutines
}

// clientInvocation is an invocation the client runs or has run.
type clientInvocation struct {
	cancel  context.CancelFunc // ends its context
	reply   []byte             // its reply frame, once it ran (kept when resumable)
	done    bool
	dropped bool        // its reply was not kept (maxKeptReplyBytes): asked again, it is answered with an error
	also    *clientConn // a connection the server asked again on while it ran: the reply goes there too
	sentOn  *clientConn // the connection its reply went to last, once it ran
}

// hasFuncs reports whether args hold a func — a value for an interface
// of callbacks (AsInterface) is one too: the call passes callbacks.
func hasFuncs(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case int64, int, string:
			continue // the commonest, told apart without reflection
		}
		if a != nil && reflect.TypeOf(a).Kind() == reflect.Func {
			return true
		}
	}
	return false
}

// newClientCallbacks takes the funcs out of args, a call of method's,
// and returns them with the arguments to send: each func replaced by its
// slot, or by nil for a nil func.
func newClientCallbacks(ctx context.Context, method string, args []any) (*clientCallbacks, []any, error) {
	cb := &clientCallbacks{seen: make(map[uint64]*clientInvocation)}
	sent := make([]any, len(args))
	for i, a := range args {
		if ia, ok := a.(interfaceArg); ok {
			slots, err := cb.addInterface(method, i, ia)
			if err != nil {
				return nil, nil, err
			}
			sent[i] = slots
			continue
		}
		v := reflect.ValueOf(a)
		if a == nil || v.Kind() != reflect.Func {
			sent[i] = a
			continue
		}
		if v.IsNil() {
			continue // nil: the server's method gets a nil func
		}
		slot := len(cb.methods)
		m, err := callbackMethod(method, slot, v)
		if err != nil {
			return nil, nil, errorf(CodeInvalidArgument, method, "argument %d (%s) cannot be a callback: %v; call not sent", i+1, v.Type(), err)
		}
		cb.methods = append(cb.methods, m)
		sent[i] = uint64(slot)
	}
	cb.ctx, cb.cancel = context.WithCancel(ctx)
	return cb, sent, nil
}

// finish ends the call's invocations and waits for their goroutines.
func (cb *clientCallbacks) finish() {
	cb.mu.Lock()
	cb.ended = true
	cb.mu.Unlock()
	cb.cancel()
	cb.wg.Wait()
}

// callBack makes a call whose arguments hold funcs.
func (c *Client) callBack(ctx context.Context, method string, args, results []any, md []string, info *CallInfo) error {
	cb, sent, err := newClientCallbacks(ctx, method, args)
	if err != nil {
		return err
	}
	cb.resumable = !c.cfg.noSessions
	defer cb.finish()
	return c.attempt(ctx, method, func(ep *endpoint, cc *clientConn) error {
		if !cc.cb.ok && !c.cfg.noCallbacks {
			return errorf(CodeNotFound, method, "the server takes no callbacks (it speaks an older version of the protocol); call not sent")
		}
		return ep.roundTrip(ctx, cc, method, sent, results, md, info, cb)
	})
}

// callbacks returns the funcs of the pending call id, or nil.
func (t *callTable) callbacks(id uint64) *clientCallbacks {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pc := t.calls[id]; pc != nil {
		return pc.cb
	}
	return nil
}

// callbackFrame handles a callback or callback cancel frame, read from
// fr. It returns errTakenOver when it ran an invocation for so long that
// another goroutine took the reading over.
func (cc *clientConn) callbackFrame(fr *frameio.Reader, h wire.Header, body []byte) error {
	if !cc.cb.ok {
		return fmt.Errorf("%w: server sent a %s frame on a connection without callbacks", errProtocol, h.Kind)
	}
	if h.Kind == wire.KindCallbackCancel {
		inv, _, err := wire.ParseInvocation(body)
		if err != nil {
			return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
		}
		if cb := cc.sink.callbacks(h.ID); cb != nil {
			cb.stop(inv)
		}
		return nil
	}
	c, err := wire.ParseCallback(body)
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	cb := cc.sink.callbacks(h.ID)
	switch {
	case cb == nil:
		return cc.refuseCallback(h.ID, c.Invocation, newError(CodeUnavailable, callbackName("", int(c.Slot)),
			fmt.Errorf("%w (no call %d is running here)", ErrCallbackExpired, h.ID)))
	case c.Slot >= uint64(len(cb.methods)):
		return cc.refuseCallback(h.ID, c.Invocation, errorf(CodeInvalidArgument, callbackName("", int(min(c.Slot, 1<<20))),
			"call %d passed %d func(s): there is no callback %d; not run", h.ID, len(cb.methods), c.Slot))
	}
	m := cb.methods[c.Slot]
	switch again, reply, lost := cb.repeat(cc, c); {
	case lost:
		return cc.refuseCallback(h.ID, c.Invocation, errorf(CodeUnavailable, m.name,
			"invocation %d ran, but its reply was not kept (the server left more than %d bytes of replies unsettled); not run again", c.Invocation, maxKeptReplyBytes))
	case reply != nil:
		_ = cc.w.WriteControl(reply) // answered before: the same reply again
		return nil
	case again:
		return nil // running, or settled: nothing to do
	}
	running := cc.cb.running.Add(1)
	if running > cc.cb.limit {
		cc.cb.running.Add(-1)
		return cc.refuseCallback(h.ID, c.Invocation, errorf(CodeResourceExhausted, m.name,
			"the client runs at most %d callbacks at once on a connection; not run", cc.cb.limit))
	}
	ctx, refused := cb.start(c, m)
	if refused != nil {
		cc.cb.running.Add(-1)
		return cc.refuseCallback(h.ID, c.Invocation, refused)
	}
	args := append([]byte(nil), c.Args...) // the reader's buffer is not the invocation's: it may be taken over
	job := func() { cc.runCallback(cb, m, h.ID, c.Invocation, ctx, args) }
	if !runsInline(running, fr) {
		cc.runInvocation(job)
		return nil
	}
	if !cc.runInline(fr, job) {
		return errTakenOver
	}
	return nil
}

// repeat forgets the invocations c, which came on cc, says the server
// settled, and reports whether c's own was seen before — with a copy of
// its reply frame if it has one to send again; one still running will
// send its reply on cc too. A reply is sent again only on a connection
// it has not gone to last: a server asks again on the connection that
// resumes its session, never twice on one, and one that does gets
// nothing more — its asking costs the client no memory.
//
// An invocation whose reply was dropped (maxKeptReplyBytes) is reported
// with lost set, once per connection, for the caller to answer with an
// error.
func (cb *clientCallbacks) repeat(cc *clientConn, c wire.Callback) (again bool, reply []byte, lost bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if c.Acked > cb.floor {
		cb.floor = c.Acked
		for inv, ci := range cb.seen {
			if inv <= cb.floor && ci.done {
				cb.forget(inv, ci)
			}
		}
	}
	if c.Invocation <= cb.floor {
		return true, nil, false
	}
	if ci := cb.seen[c.Invocation]; ci != nil {
		if ci.done && ci.sentOn != cc {
			ci.sentOn = cc
			if ci.dropped {
				return true, nil, true
			}
			if ci.reply != nil {
				return true, bytes.Clone(ci.reply), false
			}
		}
		if !ci.done {
			ci.also = cc
		}
		return true, nil, false
	}
	return false, nil, false
}

// start records invocation c, of m, as running and returns its context,
// or the error to refuse it with: the call has returned, or it
// remembers maxUnsettled invocations already.
func (cb *clientCallbacks) start(c wire.Callback, m *method) (context.Context, *Error) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.ended {
		return nil, newError(CodeUnavailable, m.name, ErrCallbackExpired)
	}
	if len(cb.seen) >= maxUnsettled {
		return nil, errorf(CodeResourceExhausted, m.name,
			"the server left %d invocations of this call unsettled, the most a client remembers; not run", len(cb.seen))
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(cb.ctx, c.Timeout)
	} else {
		ctx, cancel = context.WithCancel(cb.ctx)
	}
	cb.seen[c.Invocation] = &clientInvocation{cancel: cancel}
	cb.wg.Add(1)
	return ctx, nil
}

// stop cancels invocation inv, if it runs.
func (cb *clientCallbacks) stop(inv uint64) {
	cb.mu.Lock()
	var cancel context.CancelFunc
	if ci := cb.seen[inv]; ci != nil {
		cancel = ci.cancel
	}
	cb.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// done records that invocation inv, which came on cc, has returned with
// reply, its reply frame, which it keeps to send again if the call is
// resumable. It returns the connection the server asked again on
// meanwhile, if any.
func (cb *clientCallbacks) done(cc *clientConn, inv uint64, reply []byte) (also *clientConn) {
	cb.mu.Lock()
	ci := cb.seen[inv]
	if ci != nil {
		also = ci.also
		ci.done = true
		ci.sentOn = cc
		if also != nil {
			ci.sentOn = also
		}
		if !cb.resumable || inv <= cb.floor {
			cb.forget(inv, ci)
		} else {
			cb.keep(ci, bytes.Clone(reply))
		}
	}
	cb.mu.Unlock()
	if ci != nil {
		ci.cancel()
	}
	return also
}

// runCallback runs one invocation and sends its reply.
func (cc *clientConn) runCallback(cb *clientCallbacks, m *method, id, inv uint64, ctx context.Context, data []byte) {
	defer cb.wg.Done()
	defer cc.cb.running.Add(-1)
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	buf.Write(wire.AppendInvocation(buf.AvailableBuffer(), inv))
	start := buf.Len()
	var e *Error
	var detail any
	args, e := m.decodeArgs(cc.codec, data)
	if e == nil {
		e, detail = m.invoke(ctx, args, cc.codec, buf, false)
	}
	if e == nil && buf.Len()-wire.HeaderSize > cc.maxBody {
		e = errorf(CodeResourceExhausted, m.name, "callback reply of %d bytes exceeds the server's %d-byte limit", buf.Len()-wire.HeaderSize, cc.maxBody)
	}
	var flags uint8
	if e != nil {
		e.Stack = "" // the client's stacks stay on the client
		buf.Truncate(start)
		if err := appendErrorBody(buf, cc.codec, e, detail); err != nil {
			buf.Truncate(start)
			_ = appendErrorBody(buf, cc.codec, errorf(CodeInternal, m.name, "the error could not be encoded: %v", err), nil)
		}
		flags = wire.FlagError
	}
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindCallbackReply, flags, id)
	also := cb.done(cc, inv, frame)
	// After the call returned, no one waits for it; on a connection that
	// broke, the server asks again on the next.
	if cc.cb.running.Load() == 1 {
		_ = cc.w.WriteSolo(cb.ctx, frame) // the only one running: no one to share a write with
	} else {
		_ = cc.w.Write(cb.ctx, frame)
	}
	if also != nil && also != cc {
		_ = also.w.Write(cb.ctx, frame)
	}
}

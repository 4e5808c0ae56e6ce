package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"sync"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// The server's side of callbacks. A call of a method with callback
// parameters gets a callCallbacks, through its context, when the
// connection it came on takes callbacks; invoke gives each callback
// parameter a proxy func (reflect.MakeFunc) that sends a callback frame
// on the call's connection and waits for the client's callback reply,
// which the connection's reader hands over (callbackReply). The call's
// return ends its callCallbacks: a proxy called later fails at once with
// ErrCallbackExpired, and invocations still waiting fail with it too.
//
// Locks: a session's mu, a callbackTable's mu and a callCallbacks' mu are
// each taken alone; none is held while writing or waiting.

// ErrCallbackExpired is the cause of the error a callback proxy returns
// when the call that received the callback has returned: a callback is
// valid only while its call runs. The error's code is CodeUnavailable
// (the client ran nothing); errors.Is(err, ErrCallbackExpired) holds.
var ErrCallbackExpired = errors.New("simplerpc: callback used after its call returned")

// ErrNoCallbacks is the cause of the error a callback proxy returns when
// the client takes no callbacks: it turned them off (WithCallbacks) or
// speaks a version of the protocol before them. The error's code is
// CodePermissionDenied; errors.Is(err, ErrNoCallbacks) holds.
var ErrNoCallbacks = errors.New("simplerpc: the client takes no callbacks")

// The callback errors travel as themselves: errors.Is holds on either
// side of the call, and through a method that returns them.
func init() {
	RegisterError("simplerpc.callback_expired", ErrCallbackExpired)
	RegisterError("simplerpc.no_callbacks", ErrNoCallbacks)
}

// Defaults for the callback limits (WithCallbackLimits).
const (
	// DefaultCallbacksPerCall is how many invocations of the callbacks
	// of one call may be in flight at once.
	DefaultCallbacksPerCall = 64
	// DefaultCallbacksPerConn is how many invocations of callbacks may be
	// in flight at once on one connection, over all its calls.
	DefaultCallbacksPerConn = 256
)

// WithCallbackLimits bounds the callback invocations a server has in
// flight — sent to the client and not yet answered — per call and per
// connection. A server-side caller of a callback past a limit waits for
// room, as long as its context allows. If zero or not given, the limits
// are DefaultCallbacksPerCall and DefaultCallbacksPerConn.
func WithCallbackLimits(perCall, perConn int) ServerOption {
	return serverOptionFunc(func(c *serverConfig) {
		c.callbacksPerCall, c.callbacksPerConn = perCall, perConn
	})
}

// callbacksKey is the context key under which a call of a method with
// callbacks finds its callCallbacks.
type callbacksKey struct{}

// callbackTable is what a connection, or a session across its
// connections, has of callbacks in flight: the calls whose callbacks may
// run, by call id, and the room left for invocations. A connection's
// lives from its first call with callbacks to the connection's end
// (closeCallbacks); a session's, as long as the session.
//
// Locks: mu guards calls and closed, and is a leaf, taken alone; sc,
// sess, codec and slots are set when the table is made.
type callbackTable struct {
	sc    *serverConn   // the connection, for a table without a session
	sess  *session      // the session, for one with: invocations go to its connection of the moment
	codec codec.Codec   // what invocations are encoded with: the codec of the connection the table began on
	slots chan struct{} // one token per invocation in flight

	mu     sync.Mutex                // guards the fields below
	calls  map[uint64]*callCallbacks // the running calls with callbacks
	closed bool                      // the connection ended: no invocation can be sent
}

// callCallbacks is one running call's callbacks.
//
// Locks: mu guards next, low, waiting and ended, and is a leaf, taken
// alone: an invocation is written to the connection after it is
// released. The rest is set when the call starts.
type callCallbacks struct {
	table  *callbackTable // nil when the client takes no callbacks
	id     uint64
	method string
	slots  chan struct{} // one token per invocation of this call in flight
	over   chan struct{} // closed when the call returned

	mu      sync.Mutex                   // guards the fields below
	next    uint64                       // the last invocation number handed out
	low     uint64                       // every invocation up to it is settled: answered or given up
	waiting map[uint64]*serverInvocation // invocations sent and not answered, by number
	ended   bool                         // over is closed
}

// serverInvocation is an invocation in flight.
type serverInvocation struct {
	done  chan cbDone // its outcome, sent once
	frame []byte      // its callback frame, to send again on a resumed session's connection
}

// cbDone is how an invocation ended: the client's reply (its flags and a
// copy of its body), or an error of the server's side.
type cbDone struct {
	flags uint8
	body  []byte
	err   *Error
	held  *serverConn // the connection whose share of the memory budget body is counted on (release)
}

// release gives back what the reply's body holds of the memory budget,
// once it is decoded or dropped: from then on its results are the
// method's, as a call's arguments are.
func (d cbDone) release() {
	if d.held != nil {
		d.held.unreserve(int64(cap(d.body)))
	}
}

// withCallbacks returns the context call id of m runs with: it carries
// the call's callCallbacks. On a connection without callbacks, the
// callbacks refuse every invocation.
func (sc *serverConn) withCallbacks(ctx context.Context, id uint64, m *method) context.Context {
	perCall := sc.srv.cfg.callbacksPerCall
	if perCall <= 0 {
		perCall = DefaultCallbacksPerCall
	}
	cc := &callCallbacks{id: id, method: m.name, slots: make(chan struct{}, perCall), over: make(chan struct{})}
	if t := sc.callbackTable(); t != nil {
		cc.waiting = make(map[uint64]*serverInvocation)
		t.mu.Lock()
		if !t.closed {
			cc.table = t
			t.calls[id] = cc
		} // else the connection is ending; nothing will be sent
		t.mu.Unlock()
	}
	return context.WithValue(ctx, callbacksKey{}, cc)
}

// callbackTable returns the table of the connection's calls, or of its
// session's, made at the first call with callbacks; nil when the client
// takes no callbacks.
func (sc *serverConn) callbackTable() *callbackTable {
	if !sc.callbacksOK {
		return nil
	}
	perConn := sc.srv.cfg.callbacksPerConn
	if perConn <= 0 {
		perConn = DefaultCallbacksPerConn
	}
	if sess := sc.sess; sess != nil {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		if sess.cbs == nil {
			sess.cbs = &callbackTable{sess: sess, codec: sc.codec, slots: make(chan struct{}, perConn), calls: make(map[uint64]*callCallbacks)}
		}
		return sess.cbs
	}
	if sc.cbs == nil {
		sc.cbs = &callbackTable{sc: sc, codec: sc.codec, slots: make(chan struct{}, perConn), calls: make(map[uint64]*callCallbacks)}
	}
	return sc.cbs
}

// target returns the connection invocations go to now: the table's, or
// its session's current one if it takes callbacks; nil while the session
// is detached.
func (t *callbackTable) target() *serverConn {
	if t.sess == nil {
		return t.sc
	}
	t.sess.mu.Lock()
	sc, _ := t.sess.conn.(*serverConn)
	t.sess.mu.Unlock()
	if sc == nil || !sc.callbacksOK {
		return nil
	}
	return sc
}

// get returns the running call id's callbacks, or nil.
func (t *callbackTable) get(id uint64) *callCallbacks {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

// decodeCallbackArgs decodes the arguments of a method with callbacks.
// In a callback parameter's place the client sends the slot its func has
// among the call's funcs, an unsigned integer, or nil for a nil func;
// that place of the values returned holds the slot as a uint64, or the
// zero Value, for bindCallbacks to turn into a func.
func (m *method) decodeCallbackArgs(arr *codec.Array) ([]reflect.Value, *Error) {
	n := len(m.params)
	if got := arr.Len(); got != n {
		return nil, errorf(CodeInvalidArgument, m.name, "%s takes %s, got %d", m.name, m.arity(), got)
	}
	holder := reflect.New(m.argsType).Elem()
	args := make([]reflect.Value, m.lead+n)
	cb := 0
	for i := 0; i < n; i++ {
		if cb < len(m.callbacks) && m.callbacks[cb].index == i {
			if pa := m.callbacks[cb].iface; pa != nil {
				cb++
				var slots []uint64
				if err := arr.Next(&slots); err != nil {
					return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s) is an interface of callbacks: want an array of its methods' slots, or nil: %v (a client passes its value with simplerpc.AsInterface)", i+1, m.params[i], err)
				}
				if slots != nil && len(slots) != len(pa.methods) {
					return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s) is an interface of %s: got %d slot(s)", i+1, m.params[i], count(len(pa.methods), "method"), len(slots))
				}
				if slots != nil {
					args[m.lead+i] = reflect.ValueOf(slots)
				}
				continue
			}
			cb++
			var slot *uint64
			if err := arr.Next(&slot); err != nil {
				return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s) is a callback: want the func's slot, an unsigned integer, or nil: %v", i+1, m.params[i], err)
			}
			if slot != nil {
				args[m.lead+i] = reflect.ValueOf(*slot)
			}
			continue
		}
		f := holder.Field(i)
		if err := arr.Next(f.Addr().Interface()); err != nil {
			return nil, errorf(CodeInvalidArgument, m.name, "argument %d (%s): %v", i+1, m.params[i], err)
		}
		args[m.lead+i] = f
	}
	return args, nil
}

// bindCallbacks puts in args, in place of each callback's slot, a func
// that invokes it on the client, and returns what ends them when the
// method returns.
func (m *method) bindCallbacks(ctx context.Context, args []reflect.Value) func() {
	cc, _ := ctx.Value(callbacksKey{}).(*callCallbacks)
	if cc == nil {
		// Not a native call (JSON-RPC refuses these methods): no client
		// to call back.
		cc = &callCallbacks{method: m.name, over: make(chan struct{})}
	}
	proxy := func(slot uint64, shape *callbackShape) reflect.Value {
		return reflect.MakeFunc(shape.typ, func(in []reflect.Value) []reflect.Value {
			return cc.call(ctx, slot, shape, in)
		})
	}
	for _, p := range m.callbacks {
		i := m.lead + p.index
		if !args[i].IsValid() && cc.table != nil {
			args[i] = reflect.Zero(p.typ()) // the client passed a nil func or interface
			continue
		}
		// Without callbacks on the connection, even a nil func gets a
		// proxy, which says why it cannot run.
		if p.iface != nil {
			var slots []uint64
			if args[i].IsValid() {
				slots = args[i].Interface().([]uint64)
			}
			args[i] = p.iface.newProxy(proxy, slots)
			continue
		}
		var slot uint64
		if args[i].IsValid() {
			slot = args[i].Uint()
		}
		args[i] = proxy(slot, p.shape)
	}
	return cc.end
}

// call is a proxy's body: it invokes the func in slot with in and returns
// its results, or zero results and the error — which, for a callback
// without an error result, is logged and dropped.
func (cc *callCallbacks) call(callCtx context.Context, slot uint64, shape *callbackShape, in []reflect.Value) []reflect.Value {
	ctx := callCtx
	if shape.ctx {
		// The method's context for the invocation, which may be any; the
		// invocation still ends when the call returns (end).
		if x, ok := in[0].Interface().(context.Context); ok && x != nil {
			ctx = x
		}
		in = in[1:]
	}
	out := make([]reflect.Value, len(shape.results), len(shape.results)+1)
	ptrs := make([]any, len(shape.results))
	for i, t := range shape.results {
		p := reflect.New(t)
		ptrs[i], out[i] = p.Interface(), p.Elem()
	}
	e := cc.invoke(ctx, slot, in, ptrs)
	if e != nil {
		for i, t := range shape.results {
			out[i] = reflect.Zero(t)
		}
	}
	if shape.hasErr {
		var err error
		if e != nil {
			err = e
		}
		out = append(out, reflect.ValueOf(&err).Elem())
	} else if e != nil && cc.table != nil {
		srv := cc.table.server()
		srv.logs.log(srv.cfg.logger, slog.LevelWarn, "simplerpc: callback failed (it has no error result to report it)",
			slog.String("method", cc.name(slot)), slog.Any("error", e))
	}
	return out
}

// name names the func in slot, for errors and logs: made only for them,
// since an invocation that succeeds needs none.
func (cc *callCallbacks) name(slot uint64) string { return callbackName(cc.method, int(slot)) }

// invoke sends one invocation of the func in slot and waits for its
// results, decoded into ptrs.
func (cc *callCallbacks) invoke(ctx context.Context, slot uint64, in []reflect.Value, ptrs []any) *Error {
	expired := func() *Error {
		return newError(CodeUnavailable, cc.name(slot), fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	}
	select {
	case <-cc.over:
		return expired()
	default:
	}
	t := cc.table
	if t == nil {
		return newError(CodePermissionDenied, cc.name(slot), ErrNoCallbacks)
	}
	// Room in the call, then in the connection.
	for _, slots := range []chan struct{}{cc.slots, t.slots} {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-cc.over:
			return expired()
		case <-ctx.Done():
			return contextError(cc.name(slot), ctx.Err())
		}
	}
	inv, low, e := cc.open(slot)
	if e != nil {
		return e
	}
	srv := t.server()
	c := t.codec
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	buf.Write(wire.AppendCallbackPrefix(buf.AvailableBuffer(), slot, inv, low, timeoutOf(ctx)))
	if err := c.AppendValues(buf, in); err != nil {
		cc.close(inv)
		return errorf(CodeInvalidArgument, cc.name(slot), "cannot encode the callback's arguments: %v", err)
	}
	if size := buf.Len() - wire.HeaderSize; size > srv.cfg.maxMessageSize {
		cc.close(inv)
		return errorf(CodeResourceExhausted, cc.name(slot), "callback of %d bytes exceeds the %d-byte message limit", size, srv.cfg.maxMessageSize)
	}
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindCallback, 0, cc.id)
	done := cc.keep(inv, frame, t.sess != nil)
	if done == nil {
		return expired()
	}
	// With a session, a frame that does not reach the client is sent again
	// on the connection that resumes the session (resendCallbacks).
	if sc := t.target(); sc != nil {
		// Alone in flight, it is written at once; among others, through
		// the send loop, so that they share writes.
		write := sc.w.Write
		if len(t.slots) == 1 {
			write = sc.w.WriteSolo
		}
		if err := write(ctx, frame); err != nil && t.sess == nil {
			cc.close(inv)
			if ctx.Err() != nil {
				return contextError(cc.name(slot), ctx.Err())
			}
			return withCause(&Error{Code: CodeConnectionLost, Method: cc.name(slot), Message: "connection failed before the callback was sent: " + err.Error()}, err)
		}
	}
	select {
	case d := <-done:
		defer d.release()
		switch {
		case d.err != nil:
			d.err.Method = cc.name(slot)
			return d.err
		case d.flags&wire.FlagError != 0:
			return decodeErrorBody(c, d.body, cc.name(slot))
		}
		if err := decodeResults(c, d.body, true, "", ptrs); err != nil { // the body is the invocation's own copy
			// Decoded again for an error that names the callback: a
			// name is made only when something fails.
			err = decodeResults(c, d.body, true, cc.name(slot), ptrs)
			if e, ok := err.(*Error); ok {
				return e
			}
			return newError(CodeInternal, cc.name(slot), err)
		}
		return nil
	case <-ctx.Done():
		switch sc := t.target(); {
		case !cc.close(inv):
			// Settled meanwhile: its outcome is sent, or about to be.
			(<-done).release()
		case sc != nil:
			body := wire.AppendInvocation(nil, inv)
			cancel := wire.AppendHeader(make([]byte, 0, wire.HeaderSize+len(body)), wire.Header{Kind: wire.KindCallbackCancel, ID: cc.id, Size: uint32(len(body))})
			_ = sc.w.WriteControl(append(cancel, body...))
		}
		if t.sess == nil && t.sc.ctx.Err() != nil {
			// The call's context ended with its connection.
			return errorf(CodeConnectionLost, cc.name(slot), "connection lost while the callback was in flight (it may or may not have run)")
		}
		return contextError(cc.name(slot), ctx.Err())
	}
}

// server returns the server of the table.
func (t *callbackTable) server() *Server {
	if t.sess != nil {
		return t.sess.srv
	}
	return t.sc.srv
}

// open numbers a new invocation, unless the call has returned or its
// connection ended, and returns it with the number up to which every
// invocation is settled.
func (cc *callCallbacks) open(slot uint64) (inv, low uint64, e *Error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ended {
		return 0, 0, newError(CodeUnavailable, cc.name(slot), fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	}
	if cc.waiting == nil {
		return 0, 0, errorf(CodeConnectionLost, cc.name(slot), "the connection of the call ended; callback not sent")
	}
	for cc.low < cc.next {
		if _, waiting := cc.waiting[cc.low+1]; waiting {
			break
		}
		cc.low++
	}
	cc.next++
	cc.waiting[cc.next] = nil // numbered; kept by keep
	return cc.next, cc.low, nil
}

// keep records invocation inv, whose frame is built, as waiting — with a
// copy of its frame if resumable — and returns where its outcome will
// come; nil if the call ended meanwhile.
func (cc *callCallbacks) keep(inv uint64, frame []byte, resumable bool) chan cbDone {
	si := &serverInvocation{done: make(chan cbDone, 1)}
	if resumable {
		si.frame = bytes.Clone(frame)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.waiting[inv]; !ok {
		return nil
	}
	cc.waiting[inv] = si
	return si.done
}

// close takes invocation inv out of those waiting, reporting whether it
// was there (no reply came for it).
func (cc *callCallbacks) close(inv uint64) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.waiting[inv]; !ok {
		return false
	}
	delete(cc.waiting, inv)
	return true
}

// settle hands the reply to invocation inv, flags and body, to the
// invocation if it still waits, with a copy of body: the reader's buffer
// is not the invocation's. The copy is counted on sc's share of the
// memory budget, as a call's arguments are, until the invocation has
// decoded it: a client answering many invocations at once with large
// replies makes sc's reader wait for room (waitRoom) as a client sending
// many large calls does. It reports whether it handed the reply over.
func (cc *callCallbacks) settle(sc *serverConn, inv uint64, flags uint8, body []byte) bool {
	cc.mu.Lock()
	si := cc.waiting[inv]
	if si != nil {
		delete(cc.waiting, inv)
	}
	cc.mu.Unlock()
	if si != nil {
		d := cbDone{flags: flags, body: bytes.Clone(body)}
		if n := int64(cap(d.body)); n > 0 {
			// Held already: counted whether or not the budget has room.
			sc.rereserve(0, n)
			d.held = sc
		}
		si.done <- d
	}
	return si != nil
}

// fail ends every invocation still waiting, and every later one, with an
// error e makes.
func (cc *callCallbacks) fail(e func() *Error) {
	cc.mu.Lock()
	waiting := cc.waiting
	cc.waiting = nil
	cc.mu.Unlock()
	for _, si := range waiting {
		if si != nil {
			si.done <- cbDone{err: e()}
		}
	}
}

// frames returns copies of the frames of the invocations waiting, to
// send again.
func (cc *callCallbacks) frames() [][]byte {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var out [][]byte
	for _, si := range cc.waiting {
		if si != nil && si.frame != nil {
			out = append(out, si.frame)
		}
	}
	return out
}

// end records that the call returned: its callbacks expire.
func (cc *callCallbacks) end() {
	cc.mu.Lock()
	if cc.ended {
		cc.mu.Unlock()
		return
	}
	cc.ended = true
	close(cc.over)
	cc.mu.Unlock()
	t := cc.table
	if t == nil {
		return
	}
	cc.fail(func() *Error {
		return newError(CodeUnavailable, cc.method, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	})
	t.mu.Lock()
	if t.calls[cc.id] == cc {
		delete(t.calls, cc.id)
	}
	t.mu.Unlock()
}

// resendCallbacks sends again, on sc, the invocations in flight of call
// id, which the client sent again on the connection that resumed its
// session: those it has answered it answers again from memory, those it
// has not seen it runs, those it runs it goes on with (PROTOCOL.md §13).
func (sc *serverConn) resendCallbacks(id uint64) {
	if sc.sess == nil || !sc.callbacksOK {
		return
	}
	sc.sess.mu.Lock()
	t := sc.sess.cbs
	sc.sess.mu.Unlock()
	if t == nil {
		return
	}
	if cc := t.get(id); cc != nil {
		for _, f := range cc.frames() {
			_ = sc.w.Write(sc.ctx, f)
		}
	}
}

// callbackReply hands a callback reply frame to the invocation it
// answers. A reply for an invocation no longer waiting — the server gave
// up on it, or its call returned, or it came twice — is dropped.
func (sc *serverConn) callbackReply(h wire.Header, body []byte) error {
	if !sc.callbacksOK {
		return fmt.Errorf("%w: client sent a %s frame without asking for callbacks in its hello", errProtocol, h.Kind)
	}
	inv, rest, err := wire.ParseInvocation(body)
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	var t *callbackTable
	if sc.sess != nil {
		if sc.probation {
			return nil // not yet proven to be the session's client
		}
		sc.sess.mu.Lock()
		t = sc.sess.cbs
		sc.sess.mu.Unlock()
	} else {
		t = sc.cbs
	}
	if t == nil {
		return nil
	}
	if cc := t.get(h.ID); cc != nil && cc.settle(sc, inv, h.Flags, rest) &&
		len(t.slots) <= 1 && sc.fr.Buffered() == 0 && int(sc.srv.connCount.Load()) <= sc.srv.cores {
		// The one invocation in flight, and nothing more to read: let the
		// caller just woken run before this goroutine goes back to wait on
		// the socket, as a client's reader does for a reply
		// (yieldAfterReply) — rather than wake a thread for it while this
		// one goes to sleep. (Its slot is given back once it has run.)
		runtime.Gosched()
	}
	return nil
}

// closeCallbacks fails the invocations in flight on a connection that
// ended without a session: the client may or may not have run them. A
// session's wait for the connection that resumes it.
func (sc *serverConn) closeCallbacks() {
	t := sc.cbs
	if t == nil {
		return
	}
	t.mu.Lock()
	t.closed = true
	calls := t.calls
	t.calls = nil
	t.mu.Unlock()
	for _, cc := range calls {
		cc.fail(func() *Error {
			return errorf(CodeConnectionLost, cc.method, "connection lost while the callback was in flight (it may or may not have run)")
		})
	}
}

// callsBack reports whether t is a call that may invoke callbacks: one
// the connection's reader does not run itself, since it would wait for
// replies only that reader can read until the reading is taken over.
func (sc *serverConn) callsBack(t task) bool { return t.m.callbacks != nil && sc.callbacksOK }

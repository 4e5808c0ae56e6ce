package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
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
// Locks: a connCallbacks' mu, then a callCallbacks' mu; neither is held
// while writing or waiting.

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

// connCallbacks is what a connection has of callbacks in flight: the
// calls whose callbacks may run, by call id, and the room left for
// invocations. It lives from the first call with callbacks to the
// connection's end (close).
type connCallbacks struct {
	sc    *serverConn
	slots chan struct{} // one token per invocation in flight on the connection

	mu     sync.Mutex                // guards the fields below
	calls  map[uint64]*callCallbacks // the running calls with callbacks
	closed bool                      // the connection ended: no invocation can be sent
}

// callCallbacks is one running call's callbacks.
type callCallbacks struct {
	conn   *connCallbacks // nil when the client takes no callbacks
	id     uint64
	method string
	slots  chan struct{} // one token per invocation of this call in flight
	over   chan struct{} // closed when the call returned

	mu      sync.Mutex             // guards the fields below
	next    uint64                 // the last invocation number handed out
	waiting map[uint64]chan cbDone // invocations sent and not answered, by number
	ended   bool                   // over is closed
}

// cbDone is how an invocation ended: the client's reply (its flags and a
// copy of its body), or an error of the server's side.
type cbDone struct {
	flags uint8
	body  []byte
	err   *Error
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
	if sc.callbacksOK {
		if sc.cbs == nil {
			perConn := sc.srv.cfg.callbacksPerConn
			if perConn <= 0 {
				perConn = DefaultCallbacksPerConn
			}
			sc.cbs = &connCallbacks{sc: sc, slots: make(chan struct{}, perConn), calls: make(map[uint64]*callCallbacks)}
		}
		cc.conn = sc.cbs
		cc.waiting = make(map[uint64]chan cbDone)
		sc.cbs.mu.Lock()
		if sc.cbs.closed {
			cc.conn = nil // the connection is ending; nothing will be sent
		} else {
			sc.cbs.calls[id] = cc
		}
		sc.cbs.mu.Unlock()
	}
	return context.WithValue(ctx, callbacksKey{}, cc)
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
	for _, p := range m.callbacks {
		i := m.lead + p.index
		if !args[i].IsValid() && cc.conn != nil {
			args[i] = reflect.Zero(p.shape.typ) // the client passed a nil func
			continue
		}
		// Without callbacks on the connection, even a nil func gets a
		// proxy, which says why it cannot run.
		var slot uint64
		if args[i].IsValid() {
			slot = args[i].Uint()
		}
		shape := p.shape
		args[i] = reflect.MakeFunc(shape.typ, func(in []reflect.Value) []reflect.Value {
			return cc.call(ctx, slot, shape, in)
		})
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
	name := callbackName(cc.method, int(slot))
	out := make([]reflect.Value, len(shape.results), len(shape.results)+1)
	ptrs := make([]any, len(shape.results))
	for i, t := range shape.results {
		p := reflect.New(t)
		ptrs[i], out[i] = p.Interface(), p.Elem()
	}
	e := cc.invoke(ctx, name, slot, in, ptrs)
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
	} else if e != nil && cc.conn != nil {
		sc := cc.conn.sc
		sc.srv.logs.log(sc.logger(), slog.LevelWarn, "simplerpc: callback failed (it has no error result to report it)",
			slog.String("method", name), slog.Any("error", e))
	}
	return out
}

// invoke sends one invocation of the func in slot and waits for its
// results, decoded into ptrs.
func (cc *callCallbacks) invoke(ctx context.Context, name string, slot uint64, in []reflect.Value, ptrs []any) *Error {
	if cc.conn == nil {
		select {
		case <-cc.over:
			return newError(CodeUnavailable, name, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
		default:
		}
		return newError(CodePermissionDenied, name, ErrNoCallbacks)
	}
	select {
	case <-cc.over:
		return newError(CodeUnavailable, name, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	default:
	}
	// Room in the call, then in the connection.
	for _, slots := range []chan struct{}{cc.slots, cc.conn.slots} {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-cc.over:
			return newError(CodeUnavailable, name, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
		case <-ctx.Done():
			return contextError(name, ctx.Err())
		}
	}
	inv, done, e := cc.open(name)
	if e != nil {
		return e
	}
	sc := cc.conn.sc
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	buf.Write(wire.AppendCallbackPrefix(buf.AvailableBuffer(), slot, inv, timeoutOf(ctx)))
	if err := sc.codec.AppendValues(buf, in); err != nil {
		cc.close(inv)
		return errorf(CodeInvalidArgument, name, "cannot encode the callback's arguments: %v", err)
	}
	if size := buf.Len() - wire.HeaderSize; size > sc.srv.cfg.maxMessageSize {
		cc.close(inv)
		return errorf(CodeResourceExhausted, name, "callback of %d bytes exceeds the %d-byte message limit", size, sc.srv.cfg.maxMessageSize)
	}
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindCallback, 0, cc.id)
	if err := sc.w.Write(ctx, frame); err != nil {
		cc.close(inv)
		if ctx.Err() != nil {
			return contextError(name, ctx.Err())
		}
		return &Error{Code: CodeConnectionLost, Method: name, Message: "connection failed before the callback was sent: " + err.Error(), cause: err}
	}
	select {
	case d := <-done:
		switch {
		case d.err != nil:
			d.err.Method = name
			return d.err
		case d.flags&wire.FlagError != 0:
			return decodeErrorBody(sc.codec, d.body, name)
		}
		if err := decodeResults(sc.codec, d.body, name, ptrs); err != nil {
			if e, ok := err.(*Error); ok {
				return e
			}
			return newError(CodeInternal, name, err)
		}
		return nil
	case <-ctx.Done():
		if cc.close(inv) {
			cancel := wire.AppendHeader(make([]byte, 0, wire.HeaderSize+wire.MaxCallbackCancelBody),
				wire.Header{Kind: wire.KindCallbackCancel, ID: cc.id, Size: uint32(len(wire.AppendInvocation(nil, inv)))})
			_ = sc.w.WriteControl(wire.AppendInvocation(cancel, inv))
		}
		if sc.ctx.Err() != nil {
			// The call's context ended with its connection.
			return errorf(CodeConnectionLost, name, "connection lost while the callback was in flight (it may or may not have run)")
		}
		return contextError(name, ctx.Err())
	}
}

// open numbers a new invocation and records it as waiting, unless the
// call has returned or its connection ended.
func (cc *callCallbacks) open(name string) (uint64, chan cbDone, *Error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ended {
		return 0, nil, newError(CodeUnavailable, name, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	}
	if cc.waiting == nil {
		return 0, nil, errorf(CodeConnectionLost, name, "the connection of the call ended; callback not sent")
	}
	cc.next++
	done := make(chan cbDone, 1)
	cc.waiting[cc.next] = done
	return cc.next, done, nil
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

// settle hands d to invocation inv, if it still waits.
func (cc *callCallbacks) settle(inv uint64, d cbDone) {
	cc.mu.Lock()
	done := cc.waiting[inv]
	delete(cc.waiting, inv)
	cc.mu.Unlock()
	if done != nil {
		done <- d
	}
}

// fail ends every invocation still waiting, and every later one, with an
// error e makes.
func (cc *callCallbacks) fail(e func() *Error) {
	cc.mu.Lock()
	waiting := cc.waiting
	cc.waiting = nil
	cc.mu.Unlock()
	for _, done := range waiting {
		done <- cbDone{err: e()}
	}
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
	if cc.conn == nil {
		return
	}
	cc.fail(func() *Error {
		return newError(CodeUnavailable, cc.method, fmt.Errorf("%w (%s returned)", ErrCallbackExpired, cc.method))
	})
	cn := cc.conn
	cn.mu.Lock()
	if cn.calls[cc.id] == cc {
		delete(cn.calls, cc.id)
	}
	cn.mu.Unlock()
}

// callbackReply hands a callback reply frame to the invocation it
// answers. A reply for an invocation no longer waiting — the server gave
// up on it, or its call returned — is dropped.
func (sc *serverConn) callbackReply(h wire.Header, body []byte) error {
	if !sc.callbacksOK {
		return fmt.Errorf("%w: client sent a %s frame without asking for callbacks in its hello", errProtocol, h.Kind)
	}
	inv, rest, err := wire.ParseInvocation(body)
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	if sc.cbs == nil {
		return nil
	}
	sc.cbs.mu.Lock()
	cc := sc.cbs.calls[h.ID]
	sc.cbs.mu.Unlock()
	if cc != nil {
		cc.settle(inv, cbDone{flags: h.Flags, body: bytes.Clone(rest)})
	}
	return nil
}

// closeCallbacks fails the invocations in flight on a connection that
// ended: the client may or may not have run them.
func (sc *serverConn) closeCallbacks() {
	cn := sc.cbs
	if cn == nil {
		return
	}
	cn.mu.Lock()
	cn.closed = true
	calls := cn.calls
	cn.calls = nil
	cn.mu.Unlock()
	for _, cc := range calls {
		cc.fail(func() *Error {
			return errorf(CodeConnectionLost, cc.method, "connection lost while the callback was in flight (it may or may not have run)")
		})
	}
}

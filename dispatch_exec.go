package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"reflect"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// execute runs an admitted call from peer: the interceptors, then the
// method, whose results it appends to buf. It returns the error to send
// (with the registered error value to send with it), after logging a
// panic, or results that could not be encoded, each as what it is.
func (d *dispatcher) execute(ctx context.Context, m *method, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, peer string) (*Error, any) {
	start := buf.Len()
	var e *Error
	var detail any
	if len(d.cfg.interceptors) == 0 {
		e, detail = m.invoke(ctx, args, c, buf, d.cfg.stackTraces)
	} else {
		e, detail = d.intercept(ctx, m, args, c, buf, peer)
	}
	if e == nil && buf.Len()-start > d.cfg.maxReply {
		e = errorf(CodeResourceExhausted, m.name, "reply of %d bytes exceeds the %d-byte limit", buf.Len()-start, d.cfg.maxReply)
	}
	switch {
	case e == nil:
		return nil, nil
	case errors.Is(e, errResult):
		// The method ran and returned; what it returned has no encoding.
		d.cfg.logger.Error("simplerpc: method result could not be encoded", "method", m.name, "codec", c.Name(), "error", e.Message, "peer", peer)
	case errors.Is(e, errPanic):
		d.cfg.logger.Error("simplerpc: method panicked", "method", m.name, "panic", e.Message, "stack", e.Stack, "peer", peer)
	}
	if e.Code == CodeInternal && !d.cfg.stackTraces {
		e.Stack = ""
	}
	return e, detail
}

// serverCall is what the innermost Invoker of a server's interceptors
// needs of a call to run its method, and what it returns.
type serverCall struct {
	info   CallInfo
	m      *method
	args   []reflect.Value
	codec  codec.Codec
	buf    *bytes.Buffer
	stacks bool
	e      *Error // the method's error, as invoke returned it
	detail any
}

// intercept runs the method inside the interceptors. A call read from a
// connection brings its serverCall in its context (callCtx); another
// (JSON-RPC) gets one here — as does a call whose context is derived
// from that of a call already running (a JSON-RPC request made in
// process by a method, say), whose serverCall is that call's.
func (d *dispatcher) intercept(ctx context.Context, m *method, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, peer string) (*Error, any) {
	call, _ := ctx.Value(callKey{}).(*serverCall)
	if call == nil || call.m != nil {
		call = &serverCall{info: CallInfo{Metadata: IncomingMetadata(ctx)}}
	}
	call.info.Method, call.info.Peer, call.info.Stream, call.info.server = m.name, peer, m.stream != nil, call
	call.m, call.args, call.codec, call.buf, call.stacks = m, args, c, buf, d.cfg.stackTraces
	start := buf.Len()
	err := d.chained(ctx, &call.info)
	e, detail := call.e, call.detail
	if err != nil {
		var ie *Error
		if !errors.As(err, &ie) || ie != e {
			// The interceptor failed the call itself.
			buf.Truncate(start)
			e, detail = remoteError(m.name, err, d.cfg.stackTraces)
		}
	}
	// The call is done with what it was given: a context kept past it
	// holds no reference to them. (m stays: the serverCall is used.)
	call.args, call.buf, call.detail, call.e = nil, nil, nil, nil
	return e, detail
}

// invokeMethod is the innermost Invoker of a server's interceptors: it
// runs the method of the call info describes.
func invokeMethod(ctx context.Context, info *CallInfo) error {
	call := info.server
	if call == nil {
		return errorf(CodeInternal, info.Method, "an interceptor called the next Invoker with a CallInfo it made itself: pass the one it was given, or a copy of it")
	}
	start := call.buf.Len()
	call.e, call.detail = call.m.invoke(ctx, call.args, call.codec, call.buf, call.stacks)
	if call.e != nil {
		return call.e
	}
	// Set on the CallInfo the interceptors were given, and on the copy
	// one of them may have passed on.
	call.info.ResponseSize = call.buf.Len() - start
	info.ResponseSize = call.info.ResponseSize
	return nil
}

// intercepted reports whether calls pass through interceptors, which see
// the call's context: a call that does gets a context of its own.
func (d *dispatcher) intercepted() bool { return len(d.cfg.interceptors) > 0 }

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

// intercept runs the method inside the interceptors.
func (d *dispatcher) intercept(ctx context.Context, m *method, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, peer string) (e *Error, detail any) {
	start := buf.Len()
	final := func(ctx context.Context, _ *CallInfo) error {
		e, detail = m.invoke(ctx, args, c, buf, d.cfg.stackTraces)
		if e != nil {
			return e
		}
		return nil
	}
	info := &CallInfo{Method: m.name, Metadata: IncomingMetadata(ctx), Peer: peer, Stream: m.stream != nil}
	if err := chain(d.cfg.interceptors, final)(ctx, info); err != nil {
		var ie *Error
		if !errors.As(err, &ie) || ie != e {
			// The interceptor failed the call itself.
			buf.Truncate(start)
			e, detail = remoteError(m.name, err, d.cfg.stackTraces)
		}
	}
	return e, detail
}

// intercepted reports whether calls pass through interceptors, which see
// the call's context: a call that does gets a context of its own.
func (d *dispatcher) intercepted() bool { return len(d.cfg.interceptors) > 0 }

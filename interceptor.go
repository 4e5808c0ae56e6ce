package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"reflect"

	"github.com/simplerpc/simplerpc/internal/codec"
)

// CallInfo describes a call to an interceptor.
type CallInfo struct {
	// Method is "Service.Method" or a function's bare name.
	Method string
	// Metadata is, on a client, the metadata the call will carry (an
	// interceptor may add to it); on a server, the metadata the caller sent.
	Metadata Metadata
	// Peer is the other side's address: the server a client calls, or
	// the client a server serves.
	Peer string
	// Args are, on a client, the call's arguments. On a server they are
	// nil: they are decoded into the method's own parameter types.
	Args []any
}

// An Invoker makes a call: on a client it sends it and waits for the
// reply; on a server it runs the method.
type Invoker func(ctx context.Context, info *CallInfo) error

// An Interceptor wraps an Invoker, to run code around every call:
// authentication, logging, metrics. It may return an error instead of
// calling next; on a server an *Error keeps its Code (for example
// CodeUnauthenticated), any other error becomes CodeApplication.
type Interceptor func(next Invoker) Invoker

// intercept runs the method inside the server's interceptors.
func (s *Server) intercept(ctx context.Context, m *method, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, peer string) (e *Error, detail any) {
	start := buf.Len()
	final := func(ctx context.Context, _ *CallInfo) error {
		e, detail = m.invoke(ctx, args, c, buf, s.cfg.stackTraces)
		if e != nil {
			return e
		}
		return nil
	}
	info := &CallInfo{Method: m.name, Metadata: IncomingMetadata(ctx), Peer: peer}
	if err := chain(s.cfg.interceptors, final)(ctx, info); err != nil {
		var ie *Error
		if !errors.As(err, &ie) || ie != e {
			// The interceptor failed the call itself.
			buf.Truncate(start)
			e, detail = remoteError(m.name, err, s.cfg.stackTraces)
		}
	}
	return e, detail
}

// chain wraps final in interceptors, the first outermost.
func chain(interceptors []Interceptor, final Invoker) Invoker {
	for i := len(interceptors) - 1; i >= 0; i-- {
		final = interceptors[i](final)
	}
	return final
}

// execute runs an admitted call from peer: the interceptors, then the
// method, whose results it appends to buf. It returns the error to send
// (with the registered error value to send with it), after logging a
// panic, or results that could not be encoded, each as what it is.
func (s *Server) execute(ctx context.Context, m *method, args []reflect.Value, c codec.Codec, buf *bytes.Buffer, peer string) (*Error, any) {
	start := buf.Len()
	var e *Error
	var detail any
	if len(s.cfg.interceptors) == 0 {
		e, detail = m.invoke(ctx, args, c, buf, s.cfg.stackTraces)
	} else {
		e, detail = s.intercept(ctx, m, args, c, buf, peer)
	}
	if e == nil && buf.Len()-start > s.cfg.maxMessageSize {
		e = errorf(CodeResourceExhausted, m.name, "reply of %d bytes exceeds the %d-byte limit", buf.Len()-start, s.cfg.maxMessageSize)
	}
	switch {
	case e == nil:
		return nil, nil
	case errors.Is(e, errResult):
		// The method ran and returned; what it returned has no encoding.
		s.cfg.logger.Error("simplerpc: method result could not be encoded", "method", m.name, "codec", c.Name(), "error", e.Message, "peer", peer)
	case errors.Is(e, errPanic):
		s.cfg.logger.Error("simplerpc: method panicked", "method", m.name, "panic", e.Message, "stack", e.Stack, "peer", peer)
	}
	if e.Code == CodeInternal && !s.cfg.stackTraces {
		e.Stack = ""
	}
	return e, detail
}

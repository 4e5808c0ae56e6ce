package simplerpc

import (
	"context"
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
	// Stream is set for a call that opens a stream. On a server the
	// interceptors run around the whole stream, until the method and its
	// iterators are done; on a client, around its opening (OpenStream).
	Stream bool
}

// An Invoker makes a call: on a client it sends it and waits for the
// reply; on a server it runs the method.
type Invoker func(ctx context.Context, info *CallInfo) error

// An Interceptor wraps an Invoker, to run code around every call:
// authentication, logging, metrics. It may return an error instead of
// calling next; on a server an *Error keeps its Code (for example
// CodeUnauthenticated), any other error becomes CodeApplication.
type Interceptor func(next Invoker) Invoker

// chain wraps final in interceptors, the first outermost.
func chain(interceptors []Interceptor, final Invoker) Invoker {
	for i := len(interceptors) - 1; i >= 0; i-- {
		final = interceptors[i](final)
	}
	return final
}

package simplerpc

import (
	"context"
)

// CallInfo describes a call to an interceptor. It belongs to the call:
// an interceptor must not keep it, nor its Metadata map, once the call
// it describes has returned — copy what it needs. (The client reuses
// them for later calls.) An interceptor passes the next Invoker the
// CallInfo it was given, changed or not, or a copy of it: one it makes
// from nothing does not know its call, which then fails with
// CodeInternal.
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
	// RequestSize is the size in bytes of the call's encoded arguments:
	// on a server, as it arrived, from the start; on a client, once the
	// Invoker an interceptor calls has returned, as last sent (0 if it
	// never was). A JSON-RPC call's is 0: its arguments arrive inside
	// an HTTP body that is measured as a whole.
	RequestSize int
	// ResponseSize is the size in bytes of the encoded results of a
	// call that succeeded, once the Invoker an interceptor calls has
	// returned: on a server, as encoded for the reply; on a client, as
	// received. It is 0 for a call that failed, whose reply carries an
	// error instead, and for a stream's opening.
	ResponseSize int

	// server is the call on a server; client the call on a client.
	// An interceptor that passes its Invoker a copy of the CallInfo it
	// was given passes them along.
	server *serverCall
	client *clientCall
}

// An Invoker makes a call: on a client it sends it and waits for the
// reply; on a server it runs the method.
type Invoker func(ctx context.Context, info *CallInfo) error

// An Interceptor wraps an Invoker, to run code around every call:
// authentication, logging, metrics. It may return an error instead of
// calling next; on a server an *Error keeps its Code (for example
// CodeUnauthenticated), any other error becomes CodeApplication.
// The Invoker an Interceptor returns serves many calls, concurrently: a
// Client or Server applies its interceptors to its calls once, when it is
// made. It must return only once the next Invoker it called, if any, has
// returned.
type Interceptor func(next Invoker) Invoker

// chain wraps final in interceptors, the first outermost.
func chain(interceptors []Interceptor, final Invoker) Invoker {
	for i := len(interceptors) - 1; i >= 0; i-- {
		final = interceptors[i](final)
	}
	return final
}

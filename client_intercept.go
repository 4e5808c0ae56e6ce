package simplerpc

import (
	"context"
	"maps"
	"sync"
)

// clientCall is a call on its way through a client's interceptors: the
// CallInfo they see, and what the innermost Invoker needs of the call.
// Calls reuse them (clientCallPool), with their metadata map and the
// wire pairs made of it.
type clientCall struct {
	info    CallInfo
	results []any
	small   [4]any   // results, when they fit
	md      Metadata // info.Metadata as given, cleared between calls
	pairs   []string // the metadata in wire pairs
}

var clientCallPool = sync.Pool{New: func() any { return &clientCall{md: make(Metadata)} }}

// maxPooledMetadata is the most metadata entries a pooled call's map
// keeps room for; a call that had more leaves its map behind.
const maxPooledMetadata = 16

// intercepted makes a call through the client's interceptors, its
// CallInfo holding a copy of md.
func (c *Client) intercepted(ctx context.Context, method string, args, results []any, md Metadata) error {
	call := clientCallPool.Get().(*clientCall)
	maps.Copy(call.md, md)
	call.info = CallInfo{Method: method, Metadata: call.md, Peer: c.target, Args: args, client: call}
	if len(results) <= len(call.small) {
		call.results = append(call.small[:0], results...)
	} else {
		call.results = append([]any(nil), results...)
	}
	err := c.chained(ctx, &call.info)
	call.release()
	return err
}

// release returns a finished call to the pool.
func (call *clientCall) release() {
	call.info = CallInfo{}
	clear(call.small[:])
	call.results = nil
	if len(call.md) > maxPooledMetadata {
		call.md = make(Metadata)
	} else {
		clear(call.md)
	}
	clear(call.pairs)
	call.pairs = call.pairs[:0]
	clientCallPool.Put(call)
}

// sendIntercepted is the innermost Invoker of a client's interceptors: it
// sends the call info describes, with its metadata, and waits for the
// reply.
func (c *Client) sendIntercepted(ctx context.Context, info *CallInfo) error {
	call := info.client
	if call == nil {
		return errorf(CodeInternal, info.Method, "an interceptor called the next Invoker with a CallInfo it made itself: pass the one it was given, or a copy of it; call not sent")
	}
	call.pairs = info.Metadata.appendPairs(call.pairs[:0])
	err := c.call(ctx, info.Method, info.Args, call.results, call.pairs, info)
	if info != &call.info {
		// A copy was passed on: the interceptors above it read theirs.
		call.info.RequestSize, call.info.ResponseSize = info.RequestSize, info.ResponseSize
	}
	return err
}

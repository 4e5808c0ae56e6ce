package simplerpc

import (
	"context"
	"net/http"
	"sync"
)

// rpcContext is the context the calls of one HTTP request run with: the
// request's, carrying the client's address (peerOf) and the request's
// headers as the calls' incoming metadata (IncomingMetadata). The
// metadata is made from the headers on first use: most methods never
// look, and making it for each request cost more than the rest of the
// handler's work on a small call. A batch's calls may look at once.
type rpcContext struct {
	context.Context
	r *http.Request

	once sync.Once
	md   Metadata // the headers as metadata, set once by once
}

// newRPCContext returns the context of r's calls.
func newRPCContext(r *http.Request) *rpcContext {
	return &rpcContext{Context: r.Context(), r: r}
}

// Value answers the client's address and the incoming metadata; any
// other key, the request's context.
func (c *rpcContext) Value(key any) any {
	switch key.(type) {
	case peerKey:
		return c.r.RemoteAddr
	case incomingKey:
		c.once.Do(func() { c.md = headerMetadata(c.r.Header) })
		if len(c.md) == 0 {
			return nil // as withIncoming leaves it
		}
		return c.md
	}
	return c.Context.Value(key)
}

package jsonrpchttp

import (
	"context"
	"net/http"
	"sync"
)

// rpcContext is the context the calls of one HTTP request run with: the
// request's, carrying the client's address (peerOf) and the request's
// headers as the calls' incoming metadata (under Config.MetadataKey). The
// metadata is made from the headers on first use: most methods never
// look, and making it for each request cost more than the rest of the
// handler's work on a small call. A batch's calls may look at once.
//
// once guards md; the rest is set when the request begins.
type rpcContext struct {
	context.Context
	r *http.Request
	h *Handler // whose Config says the metadata's key and how to make it

	once sync.Once
	md   any // the headers as metadata, set once by once
}

// newRPCContext returns the context of r's calls.
func (h *Handler) newRPCContext(r *http.Request) *rpcContext {
	return &rpcContext{Context: r.Context(), r: r, h: h}
}

// Value answers the client's address and the incoming metadata; any
// other key, the request's context.
func (c *rpcContext) Value(key any) any {
	if _, ok := key.(peerKey); ok {
		return c.r.RemoteAddr
	}
	if key == c.h.cfg.MetadataKey && c.h.cfg.Metadata != nil {
		c.once.Do(func() { c.md = c.h.cfg.Metadata(c.r.Header) })
		return c.md // nil for no headers, as a context without metadata answers
	}
	return c.Context.Value(key)
}

package jsonrpchttp

import (
	"context"
	"net/http"
	"sync"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// rpcContext is the context the calls of one HTTP request run with: the
// request's, carrying the client's address (peerOf) and the request's
// headers as the calls' incoming metadata (under Config.MetadataKey). The
// metadata is made from the headers on first use: most methods never
// look, and making it for each request cost more than the rest of the
// handler's work on a small call. A batch's calls may look at once.
//
// It also holds, so that a small request makes one allocation of its own
// rather than one for each, the request's charge, its parsed request when
// it is not a batch, and room for a small body and a small response.
// Those belong to ServeHTTP's goroutine; the calls of a batch use none of
// them but the charge, which is safe for them to share.
//
// once guards md; the rest is set when the request begins.
type rpcContext struct {
	context.Context
	r *http.Request
	h *Handler // whose Config says the metadata's key and how to make it

	once sync.Once
	md   any // the headers as metadata, set once by once

	charge rpcCharge            // what the request holds of the budget
	one    [1]jsonrpc.Request   // the request of a body that is not a batch
	body   [inlineBody]byte     // a body of at most inlineBody bytes
	resp   [inlineResponse]byte // a lone call's response of at most inlineResponse bytes
}

// The bodies and responses an rpcContext holds in itself: a JSON-RPC
// call of a few small arguments, and its result.
const (
	inlineBody     = 256
	inlineResponse = 128
)

// newRPCContext returns the context of r's calls.
func (h *Handler) newRPCContext(r *http.Request) *rpcContext {
	c := &rpcContext{Context: r.Context(), r: r, h: h}
	c.charge.h = h
	return c
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

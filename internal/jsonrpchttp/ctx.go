package jsonrpchttp

import (
	"bytes"
	"context"
	"io"
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
	r *http.Request // the request, from ServeHTTP; nil from ServeDirect
	d Direct        // the request, from ServeDirect; nil from ServeHTTP
	h *Handler      // whose Config says the metadata's key and how to make it

	once sync.Once
	md   any // the headers as metadata, set once by once

	charge rpcCharge            // what the request holds of the budget
	direct bytes.Reader         // a direct request's body, as a reader
	one    [1]jsonrpc.Request   // the request of a body that is not a batch
	pre    *[1]jsonrpc.Request  // the body's request, parsed already (QuickDirect); nil if not
	body   [inlineBody]byte     // a body of at most inlineBody bytes
	resp   [inlineResponse]byte // a lone call's response of at most inlineResponse bytes
}

// The bodies and responses an rpcContext holds in itself: a JSON-RPC
// call of a few small arguments, and its result.
const (
	inlineBody     = 256
	inlineResponse = 128
)

// newRPCContext returns the context of the calls of r or of d, one of
// them nil, whose own context is parent.
func (h *Handler) newRPCContext(parent context.Context, r *http.Request, d Direct) *rpcContext {
	c := &rpcContext{Context: parent, r: r, d: d, h: h}
	c.charge.h = h
	if d != nil {
		c.direct.Reset(d.Body())
	}
	return c
}

// remoteAddr is the client's address.
func (c *rpcContext) remoteAddr() string {
	if c.r != nil {
		return c.r.RemoteAddr
	}
	return c.d.RemoteAddr()
}

// header is the request's header; a direct request's is made then.
func (c *rpcContext) header() http.Header {
	if c.r != nil {
		return c.r.Header
	}
	return c.d.Header()
}

// contentLength is the body's declared length, -1 if unknown.
func (c *rpcContext) contentLength() int64 {
	if c.r != nil {
		return c.r.ContentLength
	}
	return c.direct.Size()
}

// bodyReader reads the body.
func (c *rpcContext) bodyReader() io.Reader {
	if c.r != nil {
		return c.r.Body
	}
	return &c.direct
}

// coding is what jsonrpc.RequestCoding says of the request's
// Content-Encoding: a direct request has none.
func (c *rpcContext) coding() (gz bool, bad string) {
	if c.r != nil {
		return jsonrpc.RequestCoding(c.r.Header)
	}
	return false, ""
}

// acceptsGzip reports whether the client takes a gzip response.
func (c *rpcContext) acceptsGzip() bool {
	if c.r != nil {
		return jsonrpc.AcceptsGzip(c.r.Header)
	}
	vs := c.d.AcceptEncoding()
	if vs == nil {
		return jsonrpc.AcceptsGzip(nil)
	}
	return jsonrpc.AcceptsGzip(http.Header{"Accept-Encoding": vs})
}

// Value answers the client's address and the incoming metadata; any
// other key, the request's context.
func (c *rpcContext) Value(key any) any {
	if _, ok := key.(peerKey); ok {
		return c.remoteAddr()
	}
	if key == c.h.cfg.MetadataKey && c.h.cfg.Metadata != nil {
		c.once.Do(func() { c.md = c.h.cfg.Metadata(c.header()) })
		return c.md // nil for no headers, as a context without metadata answers
	}
	return c.Context.Value(key)
}

package jsonrpchttp

import (
	"bytes"
	"context"
	"net/http"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// Direct is a request that the server's own HTTP/1.1 front has read
// whole, served by ServeDirect without an http.Request: a POST whose
// head has no Content-Encoding field (its body is as sent) and no
// Expect field. What ServeDirect reads of it is what ServeHTTP reads of
// such a request, so that its answer is the same byte for byte.
type Direct interface {
	// Context is the request's context, canceled when the client goes.
	Context() context.Context
	// RemoteAddr is the client's address, as http.Request.RemoteAddr.
	RemoteAddr() string
	// Body is the whole body, Content-Length bytes.
	Body() []byte
	// AcceptEncoding is the values of the Accept-Encoding fields, as
	// http.Header.Values gives them; nil if there is none.
	AcceptEncoding() []string
	// Header is the request's header as net/http would give it, made on
	// first use (for the calls' metadata, or a refusal); safe to call
	// from several goroutines.
	Header() http.Header
}

// ServeDirect answers the JSON-RPC 2.0 request d as ServeHTTP answers
// the same request, writing the response to w. p, if not nil, is what
// QuickDirect made of d's body, which is then not parsed again; d's body
// must then not change until ServeDirect returns, since the parsed
// request holds slices of it.
func (h *Handler) ServeDirect(w http.ResponseWriter, d Direct, p *Parsed) {
	ctx := h.newRPCContext(d.Context(), nil, d)
	if p != nil && p.ok {
		ctx.pre = &p.one
	}
	h.serve(w, ctx)
}

// Parsed is the body of a Direct as QuickDirect parsed it, for
// ServeDirect to answer without parsing it again.
type Parsed struct {
	one [1]jsonrpc.Request
	ok  bool // one holds the body's request
}

// QuickDirect parses body, a direct request's, into p (unless it is a
// batch, or no request at all: those are parsed as ServeDirect parses
// them) and reports whether it is one call (not a batch) of a method
// known to be quick (Method.Quick): one that the server's front may run
// in the goroutine that reads the connection, as the native server runs
// such calls, rather than hand it to another. A body larger than
// ParseGated is not parsed here (it takes its turn at the gate) and is
// never quick.
func (h *Handler) QuickDirect(body []byte, p *Parsed) bool {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(body) > ParseGated || len(t) == 0 || t[0] != '{' {
		return false // a batch, or no request: parsed once, by serve
	}
	reqs, batch := jsonrpc.ParseBodyInto(body, &p.one)
	p.ok = !batch
	if batch {
		return false
	}
	r := &reqs[0]
	if r.Err != nil || r.Notification() {
		return false
	}
	// A method the server has never run (a stream or a callback's,
	// which JSON-RPC refuses) is not known to be quick.
	m := h.dispatch.Lookup(r.Method)
	return m != nil && m.Quick()
}

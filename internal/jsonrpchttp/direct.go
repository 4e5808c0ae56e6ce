package jsonrpchttp

import (
	"context"
	"net/http"
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
// the same request, writing the response to w.
func (h *Handler) ServeDirect(w http.ResponseWriter, d Direct) {
	h.serve(w, h.newRPCContext(d.Context(), nil, d))
}

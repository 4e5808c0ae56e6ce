package simplerpc

import (
	"compress/gzip"
	"context"
	"net/http"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// ServeHTTP answers JSON-RPC 2.0 calls sent by HTTP POST, so that any
// language, and curl, can call the server's methods: "Service.Method" for
// a registered object's method, the bare name for a function. Params come
// as an array (by position) or as an object (by name, for a method whose
// only parameter is a struct). Calls pass through the same method table,
// admission checks (WithMaxConcurrentCalls, Shutdown) and panic recovery
// as native calls, with the request's context as the call's context.
//
// Batches hold up to 1000 requests: calls of quick methods run one after
// another, others up to 8 at a time (docs/jsonrpc.md). The body may be
// at most the server's maximum message size (WithMaxMessageSize); a
// larger one gets status 413, after which the rest of the body is read
// and discarded (up to four times the limit, at least 4 MiB, for up to
// two seconds) so that the client can read the answer, and the
// connection is closed. A response, or all the responses of a batch
// together, may be at most that size too: past it, calls answer with a
// resource_exhausted error, and a batch starts no more calls. The body,
// every call while it runs (16 KiB, plus its params) and the responses
// until written are charged to the memory budget (WithMemoryBudget),
// which so bounds the calls running at once; a body it cannot hold gets
// status 503, a call it cannot hold an unavailable error: neither is run.
// A gzip body (Content-Encoding: gzip) is decompressed, the size limit
// and the budget applying to it decompressed; a response of 1 KiB or more
// is compressed for a client that accepts gzip; any other coding gets 415.
// Every JSON-RPC response has status 200; a lone notification, or a batch
// of notifications only, gets 204 and no body; a method other than POST
// gets 405. Errors carry the simplerpc code, the server-side error type
// and (WithStackTraces) the stack in their data member, as
// docs/jsonrpc.md describes.
//
// GET /healthz answers the server's Health (?service=NAME, a service's)
// as JSON, with status 200, 503 or 404 (SetServing); with WithCORS,
// browsers' preflight requests are answered and allowed origins get the
// CORS headers.
//
// Serve answers HTTP/1.1 on its own port too: a connection that does not
// open with the simplerpc handshake is served by ServeHTTP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveCORS(w, r) || s.serveHealth(w, r) {
		return
	}
	s.rpc.serveHTTP(w, r)
}

// serveHTTP is ServeHTTP.
func (h *rpcHandler) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "simplerpc: JSON-RPC 2.0 calls must be sent with POST", http.StatusMethodNotAllowed)
		return
	}
	// The I/O timeout of native connections bounds the body's arrival and
	// the response's departure (not the method's run): a client that
	// trickles its body or stops reading loses its connection.
	rc := http.NewResponseController(w)
	if t := h.writeTimeout; t > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(t))
	}
	// What the request holds of the memory budget, until its response is
	// written.
	ch := &rpcCharge{b: h.budget, evict: h.evict}
	defer ch.release()
	body, ok := h.readRPCBody(w, r, rc, ch)
	if !ok {
		return
	}
	// Parsing a large body only computes, and takes a while (a batch of
	// a thousand requests, milliseconds): such bodies take turns, so that
	// many at once do not hold up every other client's requests.
	gated := len(body) > rpcParseGated
	if gated && !h.parsing.enter(r.Context()) {
		return // the client has gone
	}
	reqs, batch := jsonrpc.ParseBody(body)
	if gated {
		h.parsing.leave()
	}
	ch.take(jsonrpc.ParsedSize(reqs))
	// Interceptors see the request's headers as the call's metadata.
	ctx := newRPCContext(r)
	var out []byte
	var parts [][]byte
	if batch {
		parts, out = h.answerBatch(ctx, reqs, ch)
	} else {
		out = h.answer(ctx, &reqs[0], ch, false, false)
		ch.take(int64(cap(out)))
	}
	if t := h.writeTimeout; t > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(t))
	}
	switch {
	case out != nil:
		parts = [][]byte{out}
	case parts == nil:
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// The response depends on what the client accepts.
	jsonrpc.VaryEncoding(w.Header())
	if zw := h.compressor(w, r, out == nil, parts, ch); zw != nil {
		jsonrpc.WriteParts(zw, out == nil, parts)
		_ = zw.Close()
		jsonrpc.PutGzipWriter(zw)
		return
	}
	jsonrpc.WriteArray(w, out == nil, parts)
}

// compressor returns a gzip writer for the response of the parts (an
// array of them if array), with its headers set, when the client
// accepts gzip, the response is at least jsonrpc.GzipMin bytes and the
// memory budget holds the writer; or nil to send it as is.
func (h *rpcHandler) compressor(w http.ResponseWriter, r *http.Request, array bool, parts [][]byte, ch *rpcCharge) *gzip.Writer {
	// The writer's charge is given back with everything the request
	// holds, once it is answered.
	if jsonrpc.PartsLen(array, parts) < jsonrpc.GzipMin || !jsonrpc.AcceptsGzip(r.Header) || !ch.tryTake(jsonrpc.GzipWriterCost, true) {
		return nil
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Encoding", "gzip")
	w.WriteHeader(http.StatusOK)
	return jsonrpc.GzipWriter(w)
}

// rpcParseGated is the body size above which bodies are parsed a few at
// a time (rpcHandler.parsing): about what a batch of 64 requests takes.
const rpcParseGated = 4 << 10

type peerKey struct{}

// peerOf returns the client address ServeHTTP stored in ctx.
func peerOf(ctx context.Context) string {
	if c, ok := ctx.(*rpcContext); ok {
		return c.r.RemoteAddr // without boxing it, as Value does
	}
	p, _ := ctx.Value(peerKey{}).(string)
	return p
}

// headerMetadata turns HTTP request headers into call metadata: lower-case
// names, first values.
func headerMetadata(h http.Header) Metadata {
	md := make(Metadata, len(h))
	for k, v := range h {
		if len(v) > 0 {
			md.Set(k, v[0])
		}
	}
	return md
}

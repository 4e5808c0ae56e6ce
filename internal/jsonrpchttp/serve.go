package jsonrpchttp

import (
	"compress/gzip"
	"context"
	"net/http"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// ServeHTTP answers the JSON-RPC 2.0 request r: the root package's
// Server.ServeHTTP, whose documentation says what it does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "simplerpc: JSON-RPC 2.0 calls must be sent with POST", http.StatusMethodNotAllowed)
		return
	}
	h.serve(w, h.newRPCContext(r.Context(), r, nil))
}

// serve answers the POST request ctx is the context of (ServeHTTP's or
// ServeDirect's).
func (h *Handler) serve(w http.ResponseWriter, ctx *rpcContext) {
	// The I/O timeout of native connections bounds the body's arrival and
	// the response's departure (not the method's run): a client that
	// trickles its body or stops reading loses its connection.
	rc := http.NewResponseController(w)
	if t := h.writeTimeout; t > 0 && ctx.d == nil {
		// A direct request's body is read already, within that bound.
		_ = rc.SetReadDeadline(time.Now().Add(t))
	}
	// The context of the request's calls holds what the request holds
	// of the memory budget until its response is written.
	ch := &ctx.charge
	defer ch.release()
	body, ok := h.readRPCBody(w, ctx, rc, ch, ctx.body[:])
	if !ok {
		return
	}
	// Parsing a large body only computes, and takes a while (a batch of
	// a thousand requests, milliseconds): such bodies take turns, so that
	// many at once do not hold up every other client's requests.
	gated := len(body) > ParseGated
	if gated && !h.cfg.Parsing.Enter(ctx.Context) {
		return // the client has gone
	}
	var reqs []jsonrpc.Request
	var batch bool
	if ctx.pre != nil {
		reqs = ctx.pre[:]
	} else {
		reqs, batch = jsonrpc.ParseBodyInto(body, &ctx.one)
	}
	if gated {
		h.cfg.Parsing.Leave()
	}
	ch.take(jsonrpc.ParsedSize(reqs))
	var out []byte
	var parts [][]byte
	if batch {
		parts, out = h.answerBatch(ctx, reqs, ch)
	} else {
		out = h.answer(ctx, &reqs[0], ch, false, false, ctx.resp[:0])
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
	if zw := h.compressor(w, ctx, out == nil, parts, ch); zw != nil {
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
func (h *Handler) compressor(w http.ResponseWriter, ctx *rpcContext, array bool, parts [][]byte, ch *rpcCharge) *gzip.Writer {
	// The writer's charge is given back with everything the request
	// holds, once it is answered.
	if jsonrpc.PartsLen(array, parts) < jsonrpc.GzipMin || !ctx.acceptsGzip() || !ch.tryTake(jsonrpc.GzipWriterCost, true) {
		return nil
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Encoding", "gzip")
	w.WriteHeader(http.StatusOK)
	return jsonrpc.GzipWriter(w)
}

// ParseGated is the body size above which bodies are parsed a few at
// a time (Config.Parsing): about what a batch of 64 requests takes.
const ParseGated = 4 << 10

type peerKey struct{}

// peerOf returns the client address ServeHTTP stored in ctx.
func peerOf(ctx context.Context) string {
	if c, ok := ctx.(*rpcContext); ok {
		return c.remoteAddr() // without boxing it, as Value does
	}
	p, _ := ctx.Value(peerKey{}).(string)
	return p
}

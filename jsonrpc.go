package simplerpc

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// ServeHTTP answers JSON-RPC 2.0 calls sent by HTTP POST, so that any
// language, and curl, can call the server's methods: "Service.Method" for
// a registered object's method, the bare name for a function. Params come
// as an array (by position) or as an object (by name, for a method whose
// only parameter is a struct). Calls pass through the same method table,
// admission checks (WithMaxConcurrentCalls, Shutdown) and panic recovery
// as native calls, with the request's context as the call's context.
//
// Batches of up to 1000 requests run up to 8 at a time. The body may be
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
// Every JSON-RPC response has status 200; a lone notification, or a batch
// of notifications only, gets 204 and no body; a method other than POST
// gets 405. Errors carry the simplerpc code, the server-side error type
// and (WithStackTraces) the stack in their data member, as
// docs/jsonrpc.md describes.
//
// Serve answers HTTP/1.1 on its own port too: a connection that does not
// open with the simplerpc handshake is served by ServeHTTP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "simplerpc: JSON-RPC 2.0 calls must be sent with POST", http.StatusMethodNotAllowed)
		return
	}
	// The I/O timeout of native connections bounds the body's arrival and
	// the response's departure (not the method's run): a client that
	// trickles its body or stops reading loses its connection.
	rc := http.NewResponseController(w)
	if t := s.cfg.writeTimeout; t > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(t))
	}
	// What the request holds of the memory budget, until its response is
	// written.
	ch := &rpcCharge{b: &s.budget, evict: s.evictOldest}
	defer ch.release()
	body, ok := s.readRPCBody(w, r, rc, ch)
	if !ok {
		return
	}
	// Parsing a large body only computes, and takes a while (a batch of
	// a thousand requests, milliseconds): such bodies take turns, so that
	// many at once do not hold up every other client's requests.
	gated := len(body) > rpcParseGated
	if gated && !s.parsing.enter(r.Context()) {
		return // the client has gone
	}
	reqs, batch := parseRPCBody(body)
	if gated {
		s.parsing.leave()
	}
	ch.take(parsedSize(reqs))
	log := s.cfg.logger.With(slog.String("remote", r.RemoteAddr))
	// Interceptors see the request's headers as the call's metadata.
	ctx := withIncoming(context.WithValue(r.Context(), peerKey{}, r.RemoteAddr), headerMetadata(r.Header))
	var out []byte
	var parts [][]byte
	if batch {
		parts, out = s.answerBatch(ctx, log, reqs, ch)
	} else {
		out = s.answer(ctx, log, &reqs[0], ch, false)
		ch.take(int64(cap(out)))
	}
	if t := s.cfg.writeTimeout; t > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(t))
	}
	switch {
	case out != nil:
		writeJSON(w, http.StatusOK, out)
	case parts != nil:
		writeJSONArray(w, parts)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// rpcParseGated is the body size above which bodies are parsed a few at
// a time (Server.parsing): about what a batch of 64 requests takes.
const rpcParseGated = 4 << 10

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSONArray writes the non-nil parts, JSON values, as one array with
// status 200, without joining them in memory first.
func writeJSONArray(w http.ResponseWriter, parts [][]byte) {
	n, sep := 1, "["
	for _, p := range parts {
		if p != nil {
			n += len(p) + 1
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	for _, p := range parts {
		if p == nil {
			continue
		}
		_, _ = io.WriteString(w, sep)
		if _, err := w.Write(p); err != nil {
			return
		}
		sep = ","
	}
	_, _ = io.WriteString(w, "]")
}

type peerKey struct{}

// peerOf returns the client address ServeHTTP stored in ctx.
func peerOf(ctx context.Context) string {
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

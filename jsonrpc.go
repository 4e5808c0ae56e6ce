package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// batchParallelism is how many requests of one batch run at once.
const batchParallelism = 8

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
// larger one gets status 413. A response, or all the responses of a
// batch together, may be at most that size too: past it, calls answer
// with a resource_exhausted error. Every JSON-RPC response has status 200;
// a lone notification, or a batch of notifications only, gets 204 and no
// body; a method other than POST gets 405. Errors carry the simplerpc
// code, the server-side error type and (WithStackTraces) the stack in
// their data member, as docs/jsonrpc.md describes.
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
	limit := s.cfg.maxMessageSize
	if r.ContentLength > int64(limit) {
		s.writeTooLarge(w, limit)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeTooLarge(w, limit)
			return
		}
		s.cfg.logger.Debug("simplerpc: reading a JSON-RPC request failed", slog.String("remote", r.RemoteAddr), slog.Any("error", err))
		// Say so, rather than let an empty 200 pass for an answer; the
		// connection is not reused.
		w.Header().Set("Connection", "close")
		status := http.StatusBadRequest
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			status = http.StatusRequestTimeout
		}
		http.Error(w, "simplerpc: reading the request body failed: "+err.Error(), status)
		return
	}
	reqs, batch := parseRPCBody(body)
	log := s.cfg.logger.With(slog.String("remote", r.RemoteAddr))
	// Interceptors see the request's headers as the call's metadata.
	ctx := withIncoming(context.WithValue(r.Context(), peerKey{}, r.RemoteAddr), headerMetadata(r.Header))
	var out []byte
	if batch {
		out = s.answerBatch(ctx, log, reqs)
	} else {
		out = s.answer(ctx, log, &reqs[0])
	}
	if t := s.cfg.writeTimeout; t > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(t))
	}
	if out == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// answerBatch runs the requests of a batch, batchParallelism at a time,
// and returns the array of their responses, or nil if there are none.
// The responses together may take at most the maximum message size;
// those past it are replaced by resource_exhausted errors. Once the
// client has gone, no more requests are started.
func (s *Server) answerBatch(ctx context.Context, log *slog.Logger, reqs []rpcRequest) []byte {
	limit := int64(s.cfg.maxMessageSize)
	var total atomic.Int64
	answers := make([][]byte, len(reqs))
	sem := make(chan struct{}, batchParallelism)
	var wg sync.WaitGroup
	for i := range reqs {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			req := &reqs[i]
			a := s.answer(ctx, log, req)
			if a != nil && total.Add(int64(len(a))) > limit {
				e := errorf(CodeResourceExhausted, req.method, "the responses of the batch exceed the %d-byte limit", limit)
				a = appendRPCError(nil, req.id, rpcErrorOf(e, nil))
			}
			answers[i] = a
		})
	}
	wg.Wait()
	var out []byte
	for _, a := range answers {
		if a == nil {
			continue
		}
		if out == nil {
			out = append(out, '[')
		} else {
			out = append(out, ',')
		}
		out = append(out, a...)
	}
	if out != nil {
		out = append(out, ']')
	}
	return out
}

// writeTooLarge answers a request whose body exceeds limit.
func (s *Server) writeTooLarge(w http.ResponseWriter, limit int) {
	msg := fmt.Sprintf("invalid request: the body exceeds the %d-byte limit", limit)
	writeJSON(w, http.StatusRequestEntityTooLarge, appendRPCError(nil, nil, protocolError(rpcInvalidRequest, msg)))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
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

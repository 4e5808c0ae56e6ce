package jsonrpchttp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// A body the server refuses (too large, or no room in the memory budget)
// is answered first, then read and discarded up to a bound, so that a
// client that sends its whole body before reading the answer (as most
// HTTP clients do) reads the answer rather than a connection reset. The
// connection is closed after it.
const (
	// rpcDrainFactor bounds the bytes discarded: this many times the
	// maximum message size, and at least rpcMinDrain.
	rpcDrainFactor = 4
	rpcMinDrain    = 4 << 20
	// rpcDrainTime bounds the time spent discarding.
	rpcDrainTime = 2 * time.Second
)

// rpcBodyStart is the first buffer of a body of unknown length.
const rpcBodyStart = 4 << 10

var (
	errBodyTooLarge = errors.New("simplerpc: request body exceeds the size limit")
	errBodyBudget   = errors.New("simplerpc: memory budget exhausted")
)

// readRPCBody reads the request's body, decompressed if it is gzip,
// charging ch for the memory it takes as it grows; into room, if it is
// known to fit. If it cannot, it answers the request itself (413, 415,
// 503, 400 or 408) and returns false.
func (h *Handler) readRPCBody(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, ch *rpcCharge, room []byte) ([]byte, bool) {
	limit := h.maxMessageSize
	gz, bad := r.coding()
	switch {
	case bad != "":
		h.refuseCoding(w, r, rc, bad)
		return nil, false
	case r.contentLength() > int64(limit):
		// Compressed, it decompresses larger still.
		h.refuseTooLarge(w, r, rc, r.contentLength(), gz, false)
		return nil, false
	}
	src := r.bodyReader()
	n := r.contentLength()
	if gz {
		if !ch.tryTake(jsonrpc.GzipReaderCost, false) {
			h.refuseBusy(w, r, rc, r.contentLength(), false)
			return nil, false
		}
		defer ch.give(jsonrpc.GzipReaderCost)
		zr, err := jsonrpc.OpenGzip(src)
		if err != nil {
			return nil, h.bodyFailed(w, r, rc, err)
		}
		defer zr.Close()
		src, n = zr, -1 // the decompressed size is known once read
	}
	if n > int64(len(room)) {
		room = nil
	}
	body, err := readCharged(src, n, limit, ch, room)
	switch {
	case err == nil:
		return body, true
	case errors.Is(err, errBodyTooLarge):
		h.refuseTooLarge(w, r, rc, int64(len(body)), gz, true)
		return nil, false
	case errors.Is(err, errBodyBudget):
		h.refuseBusy(w, r, rc, max(r.contentLength(), int64(len(body))), len(body) > 0 || gz)
		return nil, false
	}
	return nil, h.bodyFailed(w, r, rc, err)
}

// bodyFailed answers a request whose body could not be read because of
// err: a gzip body that does not decompress gets a parse error, a body the
// connection failed to bring a plain 400 or 408. It returns false.
func (h *Handler) bodyFailed(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, err error) bool {
	if ge, ok := errors.AsType[*jsonrpc.GzipError](err); ok {
		h.logger.Debug("simplerpc: a JSON-RPC request's gzip body does not decompress", slog.String("remote", r.remoteAddr()), slog.Any("error", ge.Unwrap()))
		h.refuse(w, r, rc, http.StatusBadRequest, jsonrpc.Invalid(jsonrpc.CodeParseError, "parse error: "+ge.Error()), true)
		return false
	}
	h.logger.Debug("simplerpc: reading a JSON-RPC request failed", slog.String("remote", r.remoteAddr()), slog.Any("error", err))
	// Say so, rather than let an empty 200 pass for an answer; the
	// connection is not reused.
	w.Header().Set("Connection", "close")
	status := http.StatusBadRequest
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		status = http.StatusRequestTimeout
	}
	http.Error(w, "simplerpc: reading the request body failed: "+err.Error(), status)
	return false
}

// readCharged reads a body of n bytes (-1: unknown) of at most limit,
// charging ch for the buffer before it is allocated; into room if n fits
// in it (room is charged as if allocated). It fails with
// errBodyTooLarge past limit and with errBodyBudget when the budget
// cannot hold the buffer; the body returned with those errors holds what
// was read, to be reported.
func readCharged(rd io.Reader, n int64, limit int, ch *rpcCharge, room []byte) ([]byte, error) {
	if n >= 0 {
		if !ch.tryTake(n, n > SmallBody) {
			return nil, errBodyBudget
		}
		var body []byte
		if n <= int64(len(room)) {
			body = room[:n]
		} else {
			body = make([]byte, n)
		}
		if _, err := io.ReadFull(rd, body); err != nil {
			return nil, fmt.Errorf("simplerpc: reading a body of %d bytes: %w", n, err)
		}
		return body, nil
	}
	size := int64(min(rpcBodyStart, limit+1))
	if !ch.tryTake(size, false) {
		return nil, errBodyBudget
	}
	body := make([]byte, 0, size)
	for {
		if len(body) == cap(body) {
			if len(body) > limit {
				return body, errBodyTooLarge
			}
			grown := int64(min(2*cap(body), limit+1))
			if !ch.tryTake(grown, grown > SmallBody) {
				return body, errBodyBudget
			}
			body = append(make([]byte, 0, grown), body...)
			ch.give(size)
			size = grown
		}
		m, err := rd.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		switch {
		case errors.Is(err, io.EOF):
			if len(body) > limit {
				return body, errBodyTooLarge
			}
			return body, nil
		case err != nil:
			return nil, fmt.Errorf("simplerpc: reading a body: %w", err)
		}
	}
}

// refuseTooLarge answers a request whose body exceeds the size limit:
// size bytes of it were declared or read (decompressed, for a gzip body,
// gz); read says whether any were.
func (h *Handler) refuseTooLarge(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, size int64, gz, read bool) {
	limit := h.maxMessageSize
	h.cfg.Log(slog.LevelWarn, "simplerpc: JSON-RPC request refused: body over the size limit",
		slog.String("remote", r.remoteAddr()), slog.Int64("bytes", size), slog.Int("limit", limit), slog.Bool("gzip", gz))
	msg := fmt.Sprintf("invalid request: the body exceeds the %d-byte limit", limit)
	if gz && read {
		msg = fmt.Sprintf("invalid request: the body decompresses past the %d-byte limit", limit)
	}
	h.refuse(w, r, rc, http.StatusRequestEntityTooLarge, jsonrpc.Invalid(jsonrpc.CodeInvalidRequest, msg), read)
}

// refuseCoding answers a request whose body has a Content-Encoding the
// server does not take, with 415 and the codings it takes.
func (h *Handler) refuseCoding(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, coding string) {
	w.Header().Set("Accept-Encoding", "gzip")
	msg := fmt.Sprintf("invalid request: Content-Encoding %q is not supported; send the body as is or gzip-compressed", coding)
	h.refuse(w, r, rc, http.StatusUnsupportedMediaType, jsonrpc.Invalid(jsonrpc.CodeInvalidRequest, msg), false)
}

// refuseBusy answers a request whose body of size bytes the memory
// budget cannot hold; read says whether any of it was read.
func (h *Handler) refuseBusy(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, size int64, read bool) {
	h.cfg.Refused.Add(1)
	h.cfg.Log(slog.LevelWarn, "simplerpc: JSON-RPC request refused: memory budget exhausted",
		slog.String("remote", r.remoteAddr()), slog.Int64("bytes", size),
		slog.Int64("in_use", h.budget.InUse()), slog.Int64("budget", h.budget.Limit()))
	w.Header().Set("Retry-After", "1")
	h.refuse(w, r, rc, http.StatusServiceUnavailable, jsonrpc.Invalid(jsonrpc.CodeUnavailable, "server busy: memory budget exhausted; call not run"), read)
}

// refuse answers a request whose body the server does not hold with
// status and the error re, then discards what remains of the body, up to
// rpcDrainFactor times the size limit and for up to rpcDrainTime, so that
// the client can read the answer; the connection is closed after it. A
// client that waits for "100 Continue" before sending its body has sent
// none unless some was read (read), so nothing is drained then.
func (h *Handler) refuse(w http.ResponseWriter, r *rpcContext, rc *http.ResponseController, status int, re *jsonrpc.Error, read bool) {
	w.Header().Set("Connection", "close")
	// Reading the body after the answer is written: without this the
	// HTTP/1 server would discard at most 256 KiB of it itself.
	_ = rc.EnableFullDuplex()
	jsonrpc.WriteJSON(w, status, jsonrpc.AppendError(nil, nil, re))
	_ = rc.Flush()
	if !read && r.header().Get("Expect") == "100-continue" {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(rpcDrainTime))
	_, _ = io.CopyN(io.Discard, r.bodyReader(), max(rpcDrainFactor*int64(h.maxMessageSize), rpcMinDrain))
}

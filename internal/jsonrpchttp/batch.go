package jsonrpchttp

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// BatchParallelism is how many requests of one batch run at once in
// goroutines of their own: those whose methods are not quick.
const BatchParallelism = 8

// batchYieldEvery is how many quick calls of a batch run between yields
// of the request's goroutine to the others waiting to run.
const batchYieldEvery = 16

// answerBatch runs the requests of a batch and returns their responses
// in order, nil for a request not answered, or parts nil if none is.
// Instead of parts it returns one response, whole, when the batch cannot
// be answered within the size limit at all.
//
// A batch is many calls from one client, and CPU is shared the way the
// runtime schedules goroutines: had the calls of a few hundred batches
// goroutines of their own, another client's call would wait behind all
// of them. So the calls of quick methods (Method.Quick), and requests
// answered without a call, run one after another in the request's own
// goroutine, which yields to the others every batchYieldEvery calls;
// hundreds of batches then take turns with every other client, as
// hundreds of sequential callers would. Calls of other methods — slow,
// or not yet timed — run in goroutines, BatchParallelism at a time, so
// that one that blocks holds up neither the batch nor the server.
//
// The responses together take at most the maximum message size. Room is
// kept from the start for an error response to every request answered,
// so whatever the calls return, every request gets a response within the
// limit: a response that does not fit is replaced by a resource_exhausted
// error, and from then on no call of the batch is started (its requests
// answer resource_exhausted without running; notifications still run).
// Once the client has gone, no more requests are started. Every call and
// every response is charged to ch.
func (h *Handler) answerBatch(ctx context.Context, reqs []jsonrpc.Request, ch *rpcCharge) (parts [][]byte, whole []byte) {
	limit := int64(h.maxMessageSize)
	b := &rpcBatch{limit: limit}
	// The refusal of a call not run is the longer: the reserve covers both.
	b.base = int64(len(b.refusal(&jsonrpc.Request{}, true))) - int64(len(jsonrpc.Null))
	for i := range reqs {
		b.total.Add(b.reserve(&reqs[i]))
	}
	if b.total.Load() > limit {
		msg := fmt.Sprintf("invalid request: the ids and method names of the batch leave no room for its responses within the %d-byte limit", limit)
		return nil, jsonrpc.AppendError(nil, nil, jsonrpc.Invalid(jsonrpc.CodeInvalidRequest, msg))
	}
	answers := make([][]byte, len(reqs))
	var notRun atomic.Int64
	sem := make(chan struct{}, BatchParallelism)
	var wg sync.WaitGroup
	inline := 0
	for i := range reqs {
		req := &reqs[i]
		timed := h.cfg.SampleBatches && uint32(i)%h.cfg.SampleEvery == 0
		if ctx.Err() != nil {
			break
		}
		if b.full.Load() && req.Err == nil && !req.Notification() {
			notRun.Add(1)
			answers[i] = b.fit(req, b.refusal(req, true), ch)
			continue
		}
		if h.runsInline(req) {
			answers[i] = b.fit(req, h.answer(ctx, req, ch, true, timed, nil), ch)
			if inline++; inline%batchYieldEvery == 0 {
				runtime.Gosched()
			}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			answers[i] = b.fit(req, h.answer(ctx, req, ch, true, timed, nil), ch)
		})
	}
	wg.Wait()
	if n := notRun.Load(); n > 0 {
		h.cfg.Log(slog.LevelWarn, "simplerpc: JSON-RPC batch cut short: its responses reached the size limit",
			slog.String("remote", peerOf(ctx)), slog.Int64("not_run", n), slog.Int64("limit", limit))
	}
	for _, a := range answers {
		if a != nil {
			return answers, nil
		}
	}
	return nil, nil
}

// runsInline reports whether a batch runs req in the request's own
// goroutine: a request answered without a call (malformed, or naming no
// method), or a call of a quick method.
func (h *Handler) runsInline(req *jsonrpc.Request) bool {
	if req.Err != nil {
		return true
	}
	m := h.dispatch.Lookup(req.Method)
	return m == nil || m.Quick()
}

// rpcBatch follows the size of a batch's responses.
//
// It has no lock: total and full are atomics, written by the batch's
// call goroutines; limit and base are set before any starts.
type rpcBatch struct {
	limit int64
	base  int64 // size of a refusal, less its method name and id
	// total is the bytes of the responses built, plus the reserve of
	// every request answered whose response is not built yet.
	total atomic.Int64
	full  atomic.Bool // set once a response did not fit: no more calls start
}

// reserve returns the room kept for the response to req: as much as a
// refusal of it takes, or 0 for a notification.
func (b *rpcBatch) reserve(req *jsonrpc.Request) int64 {
	if req.Notification() {
		return 0
	}
	id := len(req.ID)
	if req.ID == nil {
		id = len(jsonrpc.Null)
	}
	// A method name may grow sixfold when escaped (\u00XX).
	return b.base + int64(id) + 6*int64(len(req.Method))
}

// refusal returns the resource_exhausted response of req, a call run or
// not (notRun).
func (b *rpcBatch) refusal(req *jsonrpc.Request, notRun bool) []byte {
	msg := "the responses of the batch exceed the %d-byte limit"
	if notRun {
		msg += "; call not run"
	}
	return jsonrpc.AppendError(nil, req.ID, rpcerr.JSONRPCError(rpcerr.Errorf(rpcerr.CodeResourceExhausted, req.Method, msg, b.limit), nil))
}

// fit returns a, the response to req (nil for none), if it fits in the
// batch's room, or else its refusal, which always fits, and charges ch
// for the one it returns.
func (b *rpcBatch) fit(req *jsonrpc.Request, a []byte, ch *rpcCharge) []byte {
	if a == nil {
		return nil
	}
	d := int64(len(a)) - b.reserve(req)
	if b.total.Add(d) > b.limit {
		b.total.Add(-d)
		b.full.Store(true)
		a = b.refusal(req, false)
		b.total.Add(int64(len(a)) - b.reserve(req))
	}
	ch.take(int64(cap(a)))
	return a
}

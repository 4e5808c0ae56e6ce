package simplerpc

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/jsonrpc"
)

// answer runs one request and returns its response object, or nil for a
// notification. The call is charged to ch while it runs, as a bulk
// reservation for a call of a batch; its response is not.
func (h *rpcHandler) answer(ctx context.Context, req *jsonrpc.Request, ch *rpcCharge, bulk, timed bool) []byte {
	if req.Err != nil {
		return jsonrpc.AppendError(nil, req.ID, req.Err)
	}
	result, e, detail := h.callRPC(ctx, req, ch, bulk, timed)
	switch {
	case req.Notification():
		if e != nil {
			h.logger.Debug("simplerpc: notification failed", slog.String("remote", peerOf(ctx)), slog.String("method", req.Method), slog.Any("error", e))
		}
		return nil
	case e != nil:
		return jsonrpc.AppendError(nil, req.ID, rpcErrorOf(e, detail))
	}
	return result
}

// callRPC runs a valid request through the method table, the admission
// check and the method, as a native call runs. It returns the response
// object of a successful call, or the call's error and the registered
// error value to send with it. The call is charged to ch while it runs
// (rpcCallCost, its params and the decoders' estimate of what decoding
// them takes); a call the budget cannot
// take is refused with CodeUnavailable and not run.
func (h *rpcHandler) callRPC(ctx context.Context, req *jsonrpc.Request, ch *rpcCharge, bulk, timed bool) ([]byte, *Error, any) {
	m := h.dispatch.lookupName(req.Method)
	if m == nil {
		return nil, h.dispatch.notFound(req.Method), nil
	}
	if m.stream != nil {
		return nil, errorf(CodeInvalidArgument, m.name, "%s streams (a %s stream): call it over the native protocol; JSON-RPC over HTTP carries no streams", m.name, m.stream.kind()), nil
	}
	if m.callbacks != nil {
		return nil, errorf(CodeInvalidArgument, m.name, "%s takes a callback (parameter %d, %s): call it over the native protocol; JSON-RPC over HTTP carries no callbacks",
			m.name, m.callbacks[0].index+1, m.callbacks[0].typ()), nil
	}
	args := req.Params
	switch {
	case args == nil:
		args = json.RawMessage("[]")
	case args[0] == '{':
		if !m.structArg && !takesObject(m) {
			return nil, errorf(CodeInvalidArgument, m.name,
				`%s takes %s by position: pass "params" as an array. Named parameters (an object) need a method whose only parameter is a struct`,
				m.name, m.arity()), nil
		}
		// By name: the object is the one argument, as a native client
		// sends named arguments.
		args = append(append(append(make([]byte, 0, len(args)+2), '['), args...), ']')
	}
	// The decoders' limits are checked, and what decoding may take
	// estimated, before anything is decoded.
	arr, e := m.openArgs(codec.JSON, args)
	if e != nil {
		return nil, e, nil
	}
	if e := h.dispatch.admit(m, h.stopping); e != nil {
		return nil, e, nil
	}
	defer h.dispatch.release()
	cost := rpcCallCost + int64(len(args)) + arr.Cost()
	if most := h.budget.limit / 8 * rpcBulkShare; cost > most {
		// Never to fit: not worth a retry.
		return nil, errorf(CodeResourceExhausted, m.name, "decoding the arguments would take %d bytes, more than the %d the memory budget allows a call", cost, most), nil
	}
	if !ch.tryTake(cost, bulk || cost > rpcSmallBody) {
		h.dispatch.cfg.refused.memory.Add(1)
		h.logs.log(h.logger, slog.LevelWarn, "simplerpc: JSON-RPC call refused: memory budget exhausted",
			slog.String("remote", peerOf(ctx)), slog.String("method", m.name), slog.Int64("bytes", cost),
			slog.Int64("in_use", h.budget.inUse()), slog.Int64("budget", h.budget.limit))
		return nil, errorf(CodeUnavailable, m.name, "server busy: memory budget exhausted; call not run"), nil
	}
	defer ch.give(cost)
	vals, e := m.decodeArray(&arr)
	if e != nil {
		return nil, e, nil
	}
	buf := getBuffer()
	defer putBuffer(buf)
	// A sample of the calls is timed, as on native connections, so that
	// a batch knows which methods are quick (answerBatch): every
	// costSampleEvery-th call of a batch, and as many of other calls, at
	// random.
	timed = timed || !bulk && rand.Uint32()%costSampleEvery == 0
	var start time.Time
	if timed {
		start = time.Now()
	}
	e, detail := h.dispatch.execute(ctx, m, vals, codec.JSON, buf, peerOf(ctx))
	if timed {
		m.cost.observe(time.Since(start))
	}
	if e != nil {
		return nil, e, detail
	}
	result := jsonrpc.Result(len(m.results), buf.Bytes())
	size := jsonrpc.ResultSize(req.ID, result)
	if size > h.maxMessageSize {
		return nil, errorf(CodeResourceExhausted, m.name, "reply of %d bytes exceeds the %d-byte limit", size, h.maxMessageSize), nil
	}
	return jsonrpc.AppendResult(make([]byte, 0, size), req.ID, result), nil, nil
}

// takesObject reports whether the method's only parameter takes a JSON
// object as it is: a map or an empty interface.
func takesObject(m *method) bool {
	if len(m.params) != 1 || m.variadic {
		return false
	}
	k := m.params[0].Kind()
	return k == reflect.Map || k == reflect.Interface
}

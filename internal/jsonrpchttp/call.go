package jsonrpchttp

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/simplerpc/simplerpc/internal/jsonrpc"
	"github.com/simplerpc/simplerpc/internal/rpcerr"
)

// answer runs one request and returns its response object, or nil for a
// notification. The call is charged to ch while it runs, as a bulk
// reservation for a call of a batch; its response is not. A successful
// call's response is appended to dst if it fits in its capacity (nil:
// never).
func (h *Handler) answer(ctx context.Context, req *jsonrpc.Request, ch *rpcCharge, bulk, timed bool, dst []byte) []byte {
	if req.Err != nil {
		return jsonrpc.AppendError(nil, req.ID, req.Err)
	}
	result, e, detail := h.callRPC(ctx, req, ch, bulk, timed, dst)
	switch {
	case req.Notification():
		if e != nil {
			h.logger.Debug("simplerpc: notification failed", slog.String("remote", peerOf(ctx)), slog.String("method", req.Method), slog.Any("error", e))
		}
		return nil
	case e != nil:
		return jsonrpc.AppendError(nil, req.ID, rpcerr.JSONRPCError(e, detail))
	}
	return result
}

// callRPC runs a valid request through the method table, the admission
// check and the method, as a native call runs. It returns the response
// object of a successful call, or the call's error and the registered
// error value to send with it. The call is charged to ch while it runs
// (CallCost, its params and the decoders' estimate of what decoding
// them takes); a call the budget cannot
// take is refused with rpcerr.CodeUnavailable and not run. The response
// is appended to dst if it fits in its capacity.
func (h *Handler) callRPC(ctx context.Context, req *jsonrpc.Request, ch *rpcCharge, bulk, timed bool, dst []byte) ([]byte, *rpcerr.Error, any) {
	m := h.dispatch.Lookup(req.Method)
	if m == nil {
		return nil, h.dispatch.NotFound(req.Method), nil
	}
	name := m.Name()
	if kind := m.StreamKind(); kind != "" {
		return nil, rpcerr.Errorf(rpcerr.CodeInvalidArgument, name, "%s streams (a %s stream): call it over the native protocol; JSON-RPC over HTTP carries no streams", name, kind), nil
	}
	if param, typ := m.Callback(); param != 0 {
		return nil, rpcerr.Errorf(rpcerr.CodeInvalidArgument, name, "%s takes a callback (parameter %d, %s): call it over the native protocol; JSON-RPC over HTTP carries no callbacks",
			name, param, typ), nil
	}
	args := req.Params
	switch {
	case args == nil:
		args = json.RawMessage("[]")
	case args[0] == '{':
		if !m.StructArg() && !takesObject(m) {
			return nil, rpcerr.Errorf(rpcerr.CodeInvalidArgument, name,
				`%s takes %s by position: pass "params" as an array. Named parameters (an object) need a method whose only parameter is a struct`,
				name, m.Arity()), nil
		}
		// By name: the object is the one argument, as a native client
		// sends named arguments.
		args = append(append(append(make([]byte, 0, len(args)+2), '['), args...), ']')
	}
	// The decoders' limits are checked, and what decoding may take
	// estimated, before anything is decoded.
	arr, e := m.OpenArgs(args)
	if e != nil {
		return nil, e, nil
	}
	if e := h.dispatch.Admit(m, &ch.admitBy); e != nil {
		return nil, e, nil
	}
	defer h.dispatch.Release()
	cost := CallCost + int64(len(args)) + arr.Cost()
	if most := h.budget.Limit() / 8 * BulkShare; cost > most {
		// Never to fit: not worth a retry.
		return nil, rpcerr.Errorf(rpcerr.CodeResourceExhausted, name, "decoding the arguments would take %d bytes, more than the %d the memory budget allows a call", cost, most), nil
	}
	if !ch.tryTake(cost, bulk || cost > SmallBody) {
		h.cfg.Refused.Add(1)
		h.cfg.Log(slog.LevelWarn, "simplerpc: JSON-RPC call refused: memory budget exhausted",
			slog.String("remote", peerOf(ctx)), slog.String("method", name), slog.Int64("bytes", cost),
			slog.Int64("in_use", h.budget.InUse()), slog.Int64("budget", h.budget.Limit()))
		return nil, rpcerr.Errorf(rpcerr.CodeUnavailable, name, "server busy: memory budget exhausted; call not run"), nil
	}
	defer ch.give(cost)
	vals, e := m.DecodeArgs(arr)
	if e != nil {
		return nil, e, nil
	}
	buf := h.cfg.GetBuffer()
	defer h.cfg.PutBuffer(buf)
	// A sample of the calls is timed, as on native connections, so that
	// a batch knows which methods are quick (answerBatch): every
	// SampleEvery-th call of a batch, and as many of other calls, at
	// random.
	timed = timed || !bulk && rand.Uint32()%h.cfg.SampleEvery == 0
	var start time.Time
	if timed {
		start = time.Now()
	}
	e, detail := h.dispatch.Execute(ctx, m, vals, buf, peerOf(ctx))
	if timed {
		m.Observe(time.Since(start))
	}
	if e != nil {
		return nil, e, detail
	}
	result := jsonrpc.Result(m.Results(), buf.Bytes())
	size := jsonrpc.ResultSize(req.ID, result)
	if size > h.maxMessageSize {
		return nil, rpcerr.Errorf(rpcerr.CodeResourceExhausted, name, "reply of %d bytes exceeds the %d-byte limit", size, h.maxMessageSize), nil
	}
	if size > cap(dst) {
		dst = make([]byte, 0, size)
	}
	return jsonrpc.AppendResult(dst[:0], req.ID, result), nil, nil
}

// takesObject reports whether the method's only parameter takes a JSON
// object as it is: a map or an empty interface.
func takesObject(m Method) bool {
	params, variadic := m.Params()
	if len(params) != 1 || variadic {
		return false
	}
	k := params[0].Kind()
	return k == reflect.Map || k == reflect.Interface
}

package simplerpc

import (
	"context"

	"github.com/simplerpc/simplerpc/internal/wire"
)

// roundTrip sends one call on cc, a connection of ep, and waits for its
// reply: the call is encoded, registered in the call table (which numbers
// it), written, and waited for until cc's reader completes it or ctx ends.
// info, if not nil, is told the size of the arguments sent and of the
// results received. cb holds the funcs passed with the call, if any.
func (ep *endpoint) roundTrip(ctx context.Context, cc *clientConn, method string, args, results []any, md []string, info *CallInfo, cb *clientCallbacks) error {
	if len(md) > 2*wire.MaxMetadata {
		return errorf(CodeInvalidArgument, method, "%d metadata pairs; at most %d may travel with a call", len(md)/2, wire.MaxMetadata)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	frame, size, err := cc.appendCall(buf, method, timeoutOf(ctx), md, args)
	if err != nil {
		return err
	}
	if info != nil {
		info.RequestSize, info.ResponseSize = size, 0
	}

	pc := pendingPool.Get().(*pendingCall)
	pc.method, pc.frame, pc.err, pc.cb = method, buf, nil, cb
	// Copying the pointers, rather than keeping the caller's slice, lets
	// the variadic slice of Call stay on the caller's stack.
	if len(results) <= len(pc.small) {
		pc.results = append(pc.small[:0], results...)
	} else {
		pc.results = append([]any(nil), results...)
	}
	calls := ep.calls
	id, inflight, ok := calls.register(cc.lane, pc)
	if !ok {
		pc.release()
		return errorf(CodeUnavailable, method, "connection closing; call not sent")
	}
	if err := cc.send(ctx, frame, inflight <= 1); err != nil && calls.unsend(id, cc.lane) {
		// The frame was not queued, nor re-sent on another connection:
		// the server never sees the call.
		calls.leave()
		pc.release()
		if ctx.Err() != nil {
			return contextError(method, ctx.Err())
		}
		return withCause(&Error{Code: CodeUnavailable, Method: method, Message: "connection failed before the call was sent: " + err.Error()}, err)
	}
	// Sent, or, when cc broke meanwhile, re-sent with its id on the
	// connection that replaced it (callTable.adopt): either way in flight.
	if done := ctx.Done(); done == nil {
		<-pc.done // a context that never ends: a plain receive is cheaper than a select
	} else {
		select {
		case <-pc.done:
		case <-done:
			if sentOn, mine := calls.remove(id); mine {
				if sentOn != nil {
					sentOn.cancel(id)
				}
				// pc stays out of the pool: a late reply for its id is dropped.
				calls.leave()
				return contextError(method, ctx.Err())
			}
			<-pc.done // the reader owns it and is delivering the reply
		}
	}
	if w := pc.awaited; w != nil {
		w.Arrived()
	}
	err = pc.err
	if info != nil && err == nil {
		info.ResponseSize = pc.size
	}
	calls.leave()
	pc.release()
	return err
}

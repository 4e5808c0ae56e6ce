package simplerpc

import (
	"fmt"
	"sync"

	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// maxRefusalBacklog bounds the bytes of callback refusals a client
// connection holds unsent. A server has every invocation the client
// refuses in flight until it reads the refusal, so a server that reads
// keeps far fewer than this waiting — some 8,000 refusals, thirty times
// the invocations DefaultCallbacksPerConn lets a server have in flight.
// One that sends invocations past it without reading what the client
// sends is flooding the client, which ends the connection rather than
// let the refusals pile up.
const maxRefusalBacklog = 1 << 20

// cbRefusals holds the refusal frames of a client connection that its
// writer has yet to take: the reader adds them without waiting — it
// must read on — and the send loop takes them all at once on its next
// turn (a frameio.Source), so that what waits while the server does not
// read is counted here, against maxRefusalBacklog.
//
// Locks: mu is taken inside the writer's lock (TakeFrames runs under it)
// and is never held while calling the writer.
type cbRefusals struct {
	mu        sync.Mutex // guards the fields below
	buf       []byte     // the frames, one after another
	scheduled bool       // the writer will take buf
}

// add queues frame on w, or reports that the server lets too many
// refusals wait.
func (r *cbRefusals) add(w *frameio.Writer, frame []byte) error {
	r.mu.Lock()
	if n := len(r.buf); n > 0 && n+len(frame) > maxRefusalBacklog {
		r.mu.Unlock()
		return fmt.Errorf("%w: the server sent callbacks past what the client runs, and does not read the %d bytes of refusals waiting for it", errProtocol, n)
	}
	r.buf = append(r.buf, frame...)
	schedule := !r.scheduled
	r.scheduled = true
	r.mu.Unlock()
	if schedule {
		w.Schedule(r)
	}
	return nil
}

// TakeFrames hands the refusals waiting to the writer (frameio.Source).
func (r *cbRefusals) TakeFrames(_ *frameio.Writer, push func([]byte)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) > 0 {
		push(r.buf)
	}
	if cap(r.buf) > 64<<10 {
		r.buf = nil // what a flood grew goes with it
	} else {
		r.buf = r.buf[:0]
	}
	r.scheduled = false
}

// refuseCallback answers an invocation the client does not run. It
// returns an error, which ends the connection, when the server does not
// read the refusals (cbRefusals).
func (cc *clientConn) refuseCallback(id, inv uint64, e *Error) error {
	e.Name, _, _ = matchRegistered(e)
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	buf.Write(wire.AppendInvocation(buf.AvailableBuffer(), inv))
	if err := appendErrorBody(buf, cc.codec, e, nil); err != nil {
		return nil
	}
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindCallbackReply, wire.FlagError, id)
	return cc.cb.refused.add(cc.w, frame)
}

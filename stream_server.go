package simplerpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// A serverStream is the server's half of one stream: the items the
// client sent that the method has not consumed yet, and the credit the
// client's window frames give the items the method yields.
//
// The connection's reader feeds it (item, window); the stream's call
// goroutine drains it (next) and sends through it (send). The stream
// ends with its call: the connection forgets it (serverConn.endStream)
// and items still arriving for it are dropped.
type serverStream struct {
	sc    *serverConn
	id    uint64
	shape *streamShape

	got  chan struct{}           // signaled, without blocking, when an item, the end or a window arrives
	stop context.CancelCauseFunc // ends the stream's context, set before it runs

	mu       sync.Mutex // guards the fields below; a leaf
	queue    [][]byte   // item bodies received and not consumed, oldest first
	queued   int64      // bytes of them, reserved on the connection's budget
	ended    bool       // the client ended its half
	done     bool       // the method stopped consuming: items are dropped
	consumed wire.Window
	reported uint64      // consumed.Bytes in the last window frame sent
	sent     uint64      // bytes of item bodies sent
	peer     wire.Window // the client's last window frame
	failed   error       // an item that did not decode, for the reply
}

// streamKey carries a stream call's serverStream in its context, from
// the reader that opened it to invoke.
type streamKey struct{}

// streamsOf is a connection's running streams, by call id.
type streamsOf struct {
	mu sync.Mutex
	m  map[uint64]*serverStream
}

func (ss *streamsOf) add(st *serverStream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = make(map[uint64]*serverStream)
	}
	ss.m[st.id] = st
}

func (ss *streamsOf) get(id uint64) *serverStream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

func (ss *streamsOf) remove(id uint64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// stopAll ends the context of every running stream with cause, and
// returns how many there were.
func (ss *streamsOf) stopAll(cause error) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, st := range ss.m {
		if st.stop != nil {
			st.stop(cause)
			n++
		}
	}
	return n
}

// errShutdownStream is the cause of the end of a stream that Shutdown
// cut short; errConnEnded, of one whose connection ended.
var (
	errShutdownStream = errors.New("the server shut down before the stream finished")
	errConnEnded      = errors.New("the stream's connection ended")
)

// streamContextError is the error of a stream whose context ended: as a
// call's (canceled, deadline exceeded), but unavailable when Shutdown
// ended it.
func streamContextError(ctx context.Context, method string) *Error {
	if cause := context.Cause(ctx); errors.Is(cause, errShutdownStream) {
		return newError(CodeUnavailable, method, cause)
	}
	return contextError(method, ctx.Err())
}

// openStream starts the stream of the call id, before its call runs, so
// that items that follow the call frame find it.
func (sc *serverConn) openStream(id uint64, m *method) *serverStream {
	st := &serverStream{sc: sc, id: id, shape: m.stream, got: make(chan struct{}, 1)}
	sc.streams.add(st)
	return st
}

// streamItem takes in an item frame of the client's.
func (sc *serverConn) streamItem(h wire.Header, body []byte) error {
	st := sc.streams.get(h.ID)
	if st == nil {
		return nil // its stream ended: an item sent before the client knew
	}
	if st.shape.in == nil && h.Flags&wire.FlagEnd == 0 {
		return fmt.Errorf("%w: item frame for call %d, whose method takes no stream", errProtocol, h.ID)
	}
	st.mu.Lock()
	switch {
	case st.ended:
		st.mu.Unlock()
		return fmt.Errorf("%w: item frame for call %d after the client ended its stream", errProtocol, h.ID)
	case h.Flags&wire.FlagEnd != 0:
		st.ended = true
	case st.done:
		// Dropped unread, but consumed all the same, so that the client
		// is not left waiting for credit.
		st.consumed.Items++
		st.consumed.Bytes += wire.ItemCost(len(body))
	default:
		if st.queued >= wire.StreamWindow {
			st.mu.Unlock()
			return fmt.Errorf("%w: call %d's stream sent past its window of %d bytes", errProtocol, h.ID, wire.StreamWindow)
		}
		st.queue = append(st.queue, append([]byte(nil), body...))
		cost := int64(wire.ItemCost(len(body)))
		st.queued += cost
		sc.rereserve(0, cost)
	}
	st.mu.Unlock()
	st.signal()
	return nil
}

// streamWindow takes in a window frame of the client's.
func (sc *serverConn) streamWindow(h wire.Header, body []byte) error {
	st := sc.streams.get(h.ID)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	w, err := wire.ParseWindowBody(body, st.peer)
	st.peer = w
	st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: call %d: %w", errProtocol, h.ID, err)
	}
	st.signal()
	return nil
}

func (st *serverStream) signal() {
	select {
	case st.got <- struct{}{}:
	default:
	}
}

// next returns the next item body the client sent, waiting for one; ok
// is false at the end of the client's half, or when ctx ends (err).
func (st *serverStream) next(ctx context.Context) (body []byte, ok bool, err error) {
	for {
		st.mu.Lock()
		if len(st.queue) > 0 {
			body = st.queue[0]
			st.queue[0] = nil
			st.queue = st.queue[1:]
			cost := wire.ItemCost(len(body))
			st.queued -= int64(cost)
			st.consumed.Items++
			st.consumed.Bytes += cost
			w, report := st.consumed, st.consumed.Bytes-st.reported >= wire.StreamWindow/4
			if report {
				st.reported = w.Bytes
			}
			st.mu.Unlock()
			st.sc.unreserve(int64(cost))
			if report {
				st.sc.writeWindow(st.id, w)
			}
			return body, true, nil
		}
		ended := st.ended
		st.mu.Unlock()
		if ended {
			return nil, false, nil
		}
		select {
		case <-st.got:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// stopReading marks that the method consumes no more items: those held
// are given back and those still to come are dropped.
func (st *serverStream) stopReading() {
	st.mu.Lock()
	n := st.queued
	for _, b := range st.queue {
		st.consumed.Items++
		st.consumed.Bytes += wire.ItemCost(len(b))
	}
	st.queue, st.queued, st.done = nil, 0, true
	w := st.consumed
	st.mu.Unlock()
	st.sc.unreserve(n)
	if n > 0 {
		st.sc.writeWindow(st.id, w)
	}
}

// send sends one item, first waiting while the client's window is full.
func (st *serverStream) send(ctx context.Context, c codec.Codec, v reflect.Value) error {
	for {
		st.mu.Lock()
		room := st.sent-st.peer.Bytes < wire.StreamWindow
		st.mu.Unlock()
		if room {
			break
		}
		select {
		case <-st.got:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Write(make([]byte, wire.HeaderSize))
	if err := c.Append(buf, v.Interface()); err != nil {
		return fmt.Errorf("%w: %w", errResult, err)
	}
	if n := buf.Len() - wire.HeaderSize; n > st.sc.srv.cfg.maxMessageSize {
		return fmt.Errorf("%w: item of %d bytes exceeds the %d-byte limit", errResult, n, st.sc.srv.cfg.maxMessageSize)
	}
	frame := buf.Bytes()
	wire.PutHeader(frame, wire.KindItem, 0, st.id)
	st.mu.Lock()
	st.sent += wire.ItemCost(len(frame) - wire.HeaderSize)
	st.mu.Unlock()
	return st.sc.w.Write(ctx, frame)
}

// opened tells the client that the stream is open (wire/stream.go).
func (st *serverStream) opened() { st.sc.writeWindow(st.id, wire.Window{}) }

// writeWindow writes a window frame for the stream id.
func (sc *serverConn) writeWindow(id uint64, w wire.Window) {
	sc.writeFrame(wire.Header{Kind: wire.KindWindow, ID: id}, wire.AppendWindowBody(nil, w))
}

// input returns the iterator the method receives the client's items
// through, of the parameter's own type.
func (st *serverStream) input(ctx context.Context, c codec.Codec, method string) reflect.Value {
	sh := st.shape
	zero := reflect.Zero(sh.in)
	nilErr := reflect.Zero(errorType)
	return reflect.MakeFunc(sh.inSeq, func(a []reflect.Value) []reflect.Value {
		yield := a[0]
		defer st.stopReading()
		for {
			body, ok, err := st.next(ctx)
			if !ok {
				if err != nil && sh.inErr {
					yield.Call([]reflect.Value{zero, reflect.ValueOf(streamContextError(ctx, method))})
				}
				return nil
			}
			v := reflect.New(sh.in)
			if err := c.Unmarshal(body, v.Interface()); err != nil {
				e := errorf(CodeInvalidArgument, method, "stream item: %v", err)
				st.mu.Lock()
				st.failed = e
				st.mu.Unlock()
				if sh.inErr {
					yield.Call([]reflect.Value{zero, reflect.ValueOf(e)})
				}
				return nil
			}
			in := []reflect.Value{v.Elem()}
			if sh.inErr {
				in = append(in, nilErr)
			}
			if !yield.Call(in)[0].Bool() {
				return nil
			}
		}
	})
}

// output ranges over the iterator the method returned, sending each item;
// it returns the error that ends the stream early, if any.
func (st *serverStream) output(ctx context.Context, c codec.Codec, method string, seq reflect.Value, stacks bool) (*Error, any) {
	st.opened()
	if seq.IsNil() {
		return nil, nil
	}
	if !st.shape.outErr {
		for v := range seq.Seq() {
			if err := st.send(ctx, c, v); err != nil {
				return st.sendError(ctx, method, err), nil
			}
		}
	} else {
		for v, ev := range seq.Seq2() {
			if err, _ := ev.Interface().(error); err != nil {
				return remoteError(method, err, stacks)
			}
			if err := st.send(ctx, c, v); err != nil {
				return st.sendError(ctx, method, err), nil
			}
		}
	}
	// An iterator that stopped because the stream's context ended did
	// not finish its stream.
	if ctx.Err() != nil {
		return streamContextError(ctx, method), nil
	}
	return nil, nil
}

// sendError is the error of a stream whose item could not be sent.
func (st *serverStream) sendError(ctx context.Context, method string, err error) *Error {
	if ctx.Err() != nil {
		return streamContextError(ctx, method)
	}
	return resultError(method, err)
}

// decodeFailure returns the error of an item that did not decode, if one
// did not.
func (st *serverStream) decodeFailure() *Error {
	st.mu.Lock()
	defer st.mu.Unlock()
	e, _ := st.failed.(*Error)
	return e
}

// streamMismatch refuses a call that opens a stream to a method that
// does not stream, or the other way round.
func streamMismatch(m *method, stream bool) *Error {
	switch {
	case stream && m.stream == nil:
		return errorf(CodeInvalidArgument, m.name, "%s does not stream: call it as a call; call not run", m.name)
	case !stream && m.stream != nil:
		return errorf(CodeInvalidArgument, m.name, "%s streams (%s): it needs a client that opens streams; call not run", m.name, m.stream.kind())
	}
	return nil
}

// runStream runs a stream call in its own goroutine. The stream ends
// with the connection it runs on, whether or not the client keeps a
// session: its items are not kept to be sent again.
func (sc *serverConn) runStream(t task) {
	ctx, stop := context.WithCancelCause(t.ctx)
	sc.streams.mu.Lock()
	t.stream.stop = stop
	sc.streams.mu.Unlock()
	unhook := context.AfterFunc(sc.ctx, func() { stop(errConnEnded) })
	defer func() {
		unhook()
		stop(nil)
		t.stream.stopReading()
		sc.streams.remove(t.id)
	}()
	sc.run(t.id, t.m, ctx, t.cancel, t.args, t.reserve)
}

// streamGrace is how long Shutdown, its context ended, waits for the
// streams it cancels to send their replies.
const streamGrace = 100 * time.Millisecond

// stopStreams ends the streams running on conns, when Shutdown's context
// has ended: each ends with CodeUnavailable, whose reply Shutdown waits
// for a little (streamGrace) before it leaves the rest to Close.
func stopStreams(conns []*serverConn) {
	n := 0
	for _, sc := range conns {
		n += sc.streams.stopAll(errShutdownStream)
	}
	for deadline := time.Now().Add(streamGrace); n > 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n = 0
		for _, sc := range conns {
			n += sc.streams.count()
		}
	}
}

func (ss *streamsOf) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

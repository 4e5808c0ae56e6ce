package simplerpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/simplerpc/simplerpc/internal/codec"
	"github.com/simplerpc/simplerpc/internal/frameio"
	"github.com/simplerpc/simplerpc/internal/wire"
)

// clientConn is one connection of an endpoint. Its reader goroutine
// decodes replies straight into the callers' result pointers; its writer
// goroutine is the send loop; a timer watches it for silence.
type clientConn struct {
	ep      *endpoint
	nc      net.Conn
	codec   codec.Codec
	w       *frameio.Writer
	keep    *keepalive
	maxBody int           // the server's limit on a call frame's body
	done    chan struct{} // closed when both goroutines have returned
	frames  uint64        // frames read so far, for acks; the read loop's own

	mu       sync.Mutex
	err      error // why the connection ended; nil while it is open
	draining bool  // the server sent go-away: no new calls here
	final    bool  // the server promised every accepted call was answered
}

// pendingCall is a call waiting for its reply. The goroutine that removes
// it from the endpoint's pending map owns it and must signal done exactly
// once.
type pendingCall struct {
	method  string
	cc      *clientConn   // the connection it was sent on; nil while orphaned
	frame   *bytes.Buffer // the encoded call, kept to re-send it
	results []any         // the caller's result pointers, copied into small when they fit
	small   [4]any
	err     error
	done    chan struct{}
}

var pendingPool = sync.Pool{New: func() any { return &pendingCall{done: make(chan struct{}, 1)} }}

// newClientConn performs the handshake on nc and starts the connection.
// It reports whether the server resumed the session.
func newClientConn(ctx context.Context, ep *endpoint, nc net.Conn, hello wire.Hello) (*clientConn, bool, error) {
	cd := codec.ByName(hello.Codec)
	if cd == nil {
		nc.Close()
		return nil, false, fmt.Errorf("unknown codec %q (want cbor or json)", hello.Codec)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	act := newActivity(nc)
	welcome, err := handshake(nc, act, hello)
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	_ = nc.SetDeadline(time.Time{})
	cfg := ep.cfg
	cc := &clientConn{
		ep:      ep,
		nc:      nc,
		codec:   cd,
		maxBody: int(welcome.MaxBody),
		done:    make(chan struct{}),
	}
	cc.w = frameio.NewWriter(nc, cfg.writeTimeout, writeHighWater, func(error) { cc.writeFailed() })
	cc.keep = startKeepalive(cfg.keepInterval, cfg.keepTimeout, act,
		func() { cc.writeControl(wire.KindPing, 0) }, cc.close)
	fr := frameio.NewReader(act, nil, cfg.maxMessageSize)
	useRaw(fr, nc, act)
	go cc.readLoop(fr)
	return cc, welcome.Flags&wire.WelcomeResumed != 0, nil
}

// handshake sends the hello and reads the server's welcome, and not a
// byte more: what follows is the frame reader's.
func handshake(nc net.Conn, r io.Reader, hello wire.Hello) (wire.Welcome, error) {
	if _, err := nc.Write(wire.AppendHello(nil, hello)); err != nil {
		return wire.Welcome{}, fmt.Errorf("handshake: %w", err)
	}
	var b [wire.WelcomeSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return wire.Welcome{}, fmt.Errorf("handshake: no welcome from the server (is it a simplerpc server? is TLS expected?): %w", err)
	}
	w, err := wire.ParseWelcome(b[:])
	if err != nil {
		return w, fmt.Errorf("handshake: %w", err)
	}
	switch w.Status {
	case wire.StatusOK:
		return w, nil
	case wire.StatusBadVersion:
		return w, fmt.Errorf("handshake: server speaks protocol version %d, client %d", w.Version, wire.Version)
	case wire.StatusBadCodec:
		return w, fmt.Errorf("handshake: server does not support codec %q", hello.Codec)
	case wire.StatusSessionRefused:
		return w, fmt.Errorf("handshake: %w", errSessionRefused)
	case wire.StatusTLSRequired:
		return w, errors.New("handshake: the server requires TLS: dial with WithTLS")
	}
	return w, fmt.Errorf("handshake: server refused the connection (status %d)", w.Status)
}

// usable reports whether new calls may go to this connection.
func (cc *clientConn) usable() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err == nil && !cc.draining
}

// roundTrip sends one call on cc and waits for its reply.
func (cc *clientConn) roundTrip(ctx context.Context, method string, args, results []any, md []string) error {
	if len(md) > 2*wire.MaxMetadata {
		return errorf(CodeInvalidArgument, method, "%d metadata pairs; at most %d may travel with a call", len(md)/2, wire.MaxMetadata)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	var hdr [wire.HeaderSize]byte
	buf.Write(hdr[:])
	prefix, flags := wire.AppendCallPrefix(buf.AvailableBuffer(), method, timeoutOf(ctx), md)
	buf.Write(prefix)
	if err := cc.codec.AppendArray(buf, args); err != nil {
		return errorf(CodeInvalidArgument, method, "cannot encode the arguments: %v", err)
	}
	if size := buf.Len() - wire.HeaderSize; size > cc.maxBody {
		return errorf(CodeResourceExhausted, method, "call of %d bytes exceeds the server's %d-byte limit", size, cc.maxBody)
	}
	frame := buf.Bytes()
	wire.PutSize(frame, len(frame)-wire.HeaderSize)
	frame[4], frame[5] = byte(wire.KindCall), flags

	pc := pendingPool.Get().(*pendingCall)
	pc.method, pc.frame, pc.err = method, buf, nil
	// Copying the pointers, rather than keeping the caller's slice, lets
	// the variadic slice of Call stay on the caller's stack.
	if len(results) <= len(pc.small) {
		pc.results = append(pc.small[:0], results...)
	} else {
		pc.results = append([]any(nil), results...)
	}
	ep := cc.ep
	id, ok := ep.register(cc, pc)
	if !ok {
		pc.release()
		return errorf(CodeUnavailable, method, "connection closing; call not sent")
	}
	write := cc.w.Write
	if ep.inflight.Load() <= 1 {
		write = cc.w.WriteSolo // the only call in flight: no one to share a write with
	}
	if err := write(ctx, frame); err != nil && ep.unsend(id, cc) {
		// The frame was not queued, nor re-sent on another connection:
		// the server never sees the call.
		pc.release()
		if ctx.Err() != nil {
			return contextError(method, ctx.Err())
		}
		return &Error{Code: CodeUnavailable, Method: method, Message: "connection failed before the call was sent: " + err.Error(), cause: err}
	}
	// Sent, or, when cc broke meanwhile, re-sent with its id on the
	// connection that replaced it (adoptOrphans): either way in flight.
	if done := ctx.Done(); done == nil {
		<-pc.done // a context that never ends: a plain receive is cheaper than a select
	} else {
		select {
		case <-pc.done:
		case <-done:
			if sentOn, mine := ep.remove(id); mine {
				if sentOn != nil {
					sentOn.writeControl(wire.KindCancel, id)
				}
				// pc stays out of the pool: a late reply for its id is dropped.
				return contextError(method, ctx.Err())
			}
			<-pc.done // the reader owns it and is delivering the reply
		}
	}
	err := pc.err
	pc.release()
	return err
}

// release returns a settled call to the pool.
func (pc *pendingCall) release() {
	clear(pc.small[:])
	pc.results, pc.err, pc.cc, pc.frame = nil, nil, nil, nil
	pendingPool.Put(pc)
}

// writeControl queues a body-less control frame, ahead of any wait for
// queue space: a full queue of calls neither holds it back nor drops it.
func (cc *clientConn) writeControl(k wire.Kind, id uint64) {
	frame := wire.AppendHeader(make([]byte, 0, wire.HeaderSize), wire.Header{Kind: k, ID: id})
	_ = cc.w.WriteControl(frame)
}

// writeAck acknowledges every call up to id, and the frames read so far
// on this connection.
func (cc *clientConn) writeAck(id uint64) {
	frame := make([]byte, 0, wire.HeaderSize+wire.AckBodySize)
	frame = wire.AppendHeader(frame, wire.Header{Kind: wire.KindAck, ID: id, Size: wire.AckBodySize})
	_ = cc.w.WriteControl(wire.AppendAckBody(frame, cc.frames))
}

// readLoop reads and dispatches frames until the connection ends.
func (cc *clientConn) readLoop(fr *frameio.Reader) {
	defer close(cc.done)
	var err error
	for err == nil {
		var h wire.Header
		var body []byte
		if h, body, err = fr.Next(); err != nil {
			break
		}
		cc.frames++
		switch h.Kind {
		case wire.KindReply:
			cc.deliver(h, body)
			if fr.Buffered() == 0 {
				// Nothing more to deliver: let the caller just woken run
				// before this goroutine goes back to wait on the socket.
				runtime.Gosched()
			}
		case wire.KindGoAway:
			cc.goAway(h.Flags&wire.FlagFinal != 0)
		case wire.KindPing:
			cc.writeControl(wire.KindPong, h.ID)
		case wire.KindPong:
		default:
			err = fmt.Errorf("%w: server sent a %s frame", errProtocol, h.Kind)
		}
	}
	cc.close(err)
	<-cc.w.Done()
}

// deliver completes the pending call a reply answers.
func (cc *clientConn) deliver(h wire.Header, body []byte) {
	pc, ack, sendAck := cc.ep.take(h.ID, len(body))
	if sendAck {
		cc.writeAck(ack)
	}
	if pc != nil {
		if h.Flags&wire.FlagError != 0 {
			pc.err = decodeErrorBody(cc.codec, body, pc.method)
		} else {
			pc.err = decodeResults(cc.codec, body, pc.method, pc.results)
		}
		pc.done <- struct{}{}
	}
	if cc.isDraining() && cc.ep.idle(cc) {
		cc.close(errDrained)
	}
}

func (cc *clientConn) isDraining() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.draining
}

// errDrained ends a connection the server asked to leave, once its last
// call is answered.
var errDrained = errors.New("connection drained after go-away")

// decodeResults decodes a reply's result array into the caller's pointers.
func decodeResults(c codec.Codec, body []byte, method string, results []any) error {
	arr, err := c.OpenArray(body)
	if err != nil {
		return errorf(CodeInternal, method, "malformed reply: %v", err)
	}
	if len(results) > arr.Len() {
		return errorf(CodeInvalidArgument, method, "%s returns %d result(s), the call asked for %d", method, arr.Len(), len(results))
	}
	for i, r := range results {
		if err := arr.Next(r); err != nil {
			return errorf(CodeInvalidArgument, method, "result %d does not decode into %T: %v", i+1, r, err)
		}
	}
	return nil
}

// goAway handles the server's go-away.
func (cc *clientConn) goAway(final bool) {
	cc.mu.Lock()
	cc.draining = true
	cc.final = cc.final || final
	cc.mu.Unlock()
	cc.ep.goneAway(cc)
	if cc.ep.idle(cc) {
		cc.close(errDrained)
	}
}

// writeFailed handles a failed write: no new calls go here, and the reader
// gets a moment to read what the server sent before it went — a final
// go-away says which calls never ran — before the connection ends.
func (cc *clientConn) writeFailed() {
	cc.mu.Lock()
	cc.draining = true
	cc.mu.Unlock()
	cc.ep.goneAway(cc)
	_ = cc.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
}

// close ends the connection. Its pending calls fail — with
// CodeUnavailable when the server promised they were not run (final
// go-away) — or wait for the session to resume on a new connection.
func (cc *clientConn) close(reason error) {
	if reason == nil {
		reason = io.EOF
	}
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return
	}
	cc.err = reason
	final := cc.final
	cc.mu.Unlock()
	cc.keep.stop()
	cc.nc.Close()
	cc.w.Close()
	cc.ep.connLost(cc, reason, final)
}
